import { WEBHOOK_EVENT_TYPES, webhookEventMatches, type AuditEntry } from '@ds/shared';
import type { Executor } from '../db/types.js';
import type { Clock } from '../lib/clock.js';

// The outbox: an event webhooks carry becomes one delivery row per matching subscription, written
// in the transaction of the change (recordEvent calls this), so a crash between the change and
// the delivery loses nothing; the worker sends them from there.

const CARRIED = new Set<string>(WEBHOOK_EVENT_TYPES);

/** A delivery's id, sent as `webhook-id`: stable across attempts, unique per event and endpoint. */
export const newDeliveryId = () => `msg_${crypto.randomUUID().replace(/-/g, '')}`;

/**
 * The body DS POSTs, as the Standard Webhooks specification lays it out: `type`, `timestamp` and
 * `data` (here the audit entry's resource, organization, actor and before/after).
 */
export function webhookPayload(entry: AuditEntry): string {
  return JSON.stringify({
    type: entry.action,
    timestamp: entry.at,
    data: {
      eventId: entry.id,
      resource: entry.resource,
      organization: entry.organization,
      actor: { type: entry.actor.type, name: entry.actor.name },
      before: entry.before,
      after: entry.after,
    },
  });
}

/**
 * Puts `entry` in the outbox of every active subscription that wants it: DS-wide subscriptions get
 * every event they name, an organization's only events of that organization.
 */
export async function enqueueWebhookEvent(trx: Executor, clock: Clock, entry: AuditEntry, organizationId: string | null): Promise<number> {
  if (!CARRIED.has(entry.action)) return 0;
  let q = trx.selectFrom('webhooks').select(['id', 'events']).where('disabledAt', 'is', null);
  q = organizationId === null ? q.where('organizationId', 'is', null) : q.where((eb) => eb.or([eb('organizationId', 'is', null), eb('organizationId', '=', organizationId)]));
  const hooks = (await q.execute()).filter((h) => (JSON.parse(h.events) as string[]).some((p) => webhookEventMatches(p, entry.action)));
  if (hooks.length === 0) return 0;
  const now = clock.now().toISOString();
  const payload = webhookPayload(entry);
  await trx
    .insertInto('webhookDeliveries')
    .values(
      hooks.map((h) => ({
        id: newDeliveryId(),
        webhookId: h.id,
        eventId: entry.id,
        eventType: entry.action,
        payload,
        createdAt: now,
        status: 'pending' as const,
        attempts: 0,
        nextAttemptAt: now,
        leaseUntil: null,
        leaseHolder: null,
        deliveredAt: null,
        lastStatusCode: null,
        lastError: null,
      })),
    )
    .execute();
  return hooks.length;
}
