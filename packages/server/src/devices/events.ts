import { recordEvent } from '../audit/audit.service.js';
import type { Services } from '../context.js';
import { soleOrganizationOf } from './devices.repository.js';

/** How many pending events one drain records at most (the scheduler comes back for the rest). */
const BATCH = 500;

/**
 * Moves events device messages left in `pending_device_events` into the audit log (and so to the
 * webhooks that subscribe): each in a transaction that deletes its pending row and records the
 * event, so it is recorded once however many processes drain at the same time, and none is lost
 * when DS stops between a sync's commit and the recording. Answers how many this call recorded.
 */
export async function recordPendingDeviceEvents(services: Pick<Services, 'db' | 'clock'>, deviceId?: string): Promise<number> {
  let query = services.db.selectFrom('pendingDeviceEvents').select(['deviceId', 'action', 'day']).orderBy('createdAt').orderBy('deviceId').limit(BATCH);
  if (deviceId !== undefined) query = query.where('deviceId', '=', deviceId);
  let recorded = 0;
  for (const pending of await query.execute()) {
    const done = await services.db.transaction().execute(async (trx) => {
      const row = await trx
        .deleteFrom('pendingDeviceEvents')
        .where('deviceId', '=', pending.deviceId)
        .where('action', '=', pending.action)
        .where('day', '=', pending.day)
        .returning(['payload'])
        .executeTakeFirst();
      // Another process recorded it meanwhile.
      if (!row) return false;
      await recordEvent(services, trx, {
        action: pending.action,
        resourceType: 'device',
        resourceId: pending.deviceId,
        organization: await soleOrganizationOf(trx, pending.deviceId),
        after: JSON.parse(row.payload) as unknown,
        always: true,
      });
      return true;
    });
    if (done) recorded++;
  }
  return recorded;
}
