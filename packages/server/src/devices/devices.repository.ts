import type { Insertable } from 'kysely';
import type { DeviceTable, Executor } from '../db/types.js';

export async function findDeviceByFingerprint(db: Executor, fingerprint: string) {
  return db.selectFrom('devices').selectAll().where('certFingerprint', '=', fingerprint).executeTakeFirst();
}

export async function insertDevice(db: Executor, row: Insertable<DeviceTable>) {
  await db.insertInto('devices').values(row).execute();
}

export async function pruneMessages(db: Executor, before: string) {
  const result = await db.deleteFrom('deviceMessages').where('receivedAt', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function deleteDevice(db: Executor, id: string) {
  await db.deleteFrom('deviceCounters').where('deviceId', '=', id).execute();
  await db.deleteFrom('deviceDailyTotals').where('deviceId', '=', id).execute();
  const result = await db.deleteFrom('devices').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * The organization a device serves when its labels all belong to one (its audit entries and an
 * organization's webhooks go to it); null when it serves none or several.
 */
export async function soleOrganizationOf(db: Executor, deviceId: string): Promise<{ id: string; name: string } | null> {
  const orgs = await db
    .selectFrom('deviceLabels')
    .innerJoin('labels', 'labels.name', 'deviceLabels.label')
    .innerJoin('organizations', 'organizations.id', 'labels.organizationId')
    .select(['organizations.id', 'organizations.name'])
    .distinct()
    .where('deviceLabels.deviceId', '=', deviceId)
    .execute();
  return orgs.length === 1 ? orgs[0]! : null;
}
