import { Webhook as StandardWebhook } from 'standardwebhooks';
import type { Services } from '../context.js';
import { recordEvent } from '../audit/audit.service.js';
import { PeriodicJob } from '../lib/background.js';
import { iso } from '../lib/clock.js';
import { outboundFetch, outboundPolicy } from '../lib/outbound.js';
import { secretName } from './webhooks.service.js';

// Sends the outbox. Every DS process runs a worker; a delivery is claimed with a lease (one
// conditional UPDATE: only rows whose lease ran out), so exactly one process sends it at a time,
// and one that dies mid-delivery leaves it to another when the lease ends. At-least-once: a
// receiver may get an event twice (a lost answer, an expired lease), always under the same
// `webhook-id`.

/** How long a claim lasts: twice what an attempt may take (its timeout), so only a dead holder loses one. */
export const LEASE_MS = 30_000;
/** One attempt's time limit: connect, send and the answer's status line. */
export const ATTEMPT_TIMEOUT_MS = 15_000;
/** The first retry waits this long; each next one twice as long, up to {@link MAX_BACKOFF_MS}, with ±20 % jitter. */
export const FIRST_BACKOFF_MS = 30_000;
export const MAX_BACKOFF_MS = 6 * 3600_000;
/** Attempts before a delivery is given up: 30 s doubling to 6 h is about three days of retries. */
export const MAX_ATTEMPTS = 20;
/** An endpoint whose every attempt failed for this long is disabled (and says so). */
export const DISABLE_AFTER_MS = 3 * 86400_000;
/** Deliveries claimed at once by one process. */
const BATCH = 10;

/** The wait before attempt `attempts + 1`, after `attempts` failures, with jitter from `random` (0..1). */
export function backoffMs(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** The `webhook-signature` header value for a message, as the Standard Webhooks specification signs it. */
export function signWebhook(secret: Uint8Array, id: string, timestamp: Date, body: string): string {
  return new StandardWebhook(Buffer.from(secret).toString('base64')).sign(id, timestamp, body);
}

export class WebhookWorker extends PeriodicJob<number> {
  protected readonly idle = 0;

  constructor(
    private readonly services: Services,
    private readonly random: () => number = Math.random,
  ) {
    super();
  }

  /**
   * Looks for due deliveries every `intervalMs` (one indexed query when there are none). On stop,
   * attempts in flight finish (their lease would hand them to another process anyway); a tick
   * answers how many attempts it made.
   */
  override start(intervalMs = 2000): void {
    super.start(intervalMs);
  }

  /** Sends what is due, until nothing is. */
  protected async run(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const claimed = await this.claim();
        if (claimed.length === 0) return total;
        await Promise.all(claimed.map((id) => this.attempt(id)));
        total += claimed.length;
        if (this.stopping) return total;
      }
    } catch (error) {
      this.services.logger.error('webhook deliveries failed', { error: (error as Error).message });
      return total;
    }
  }

  /** Claims up to BATCH due deliveries of enabled webhooks: one UPDATE, conditional on the lease being free. */
  private async claim(): Promise<string[]> {
    const { db, clock, instanceId } = this.services;
    const now = iso(clock.now());
    const leaseUntil = iso(new Date(clock.now().getTime() + LEASE_MS));
    const free = (eb: any) => eb.or([eb('leaseUntil', 'is', null), eb('leaseUntil', '<=', now)]);
    const rows = await db
      .updateTable('webhookDeliveries')
      .set({ leaseHolder: instanceId, leaseUntil })
      .where('id', 'in', (qb) =>
        qb
          .selectFrom('webhookDeliveries')
          .innerJoin('webhooks', 'webhooks.id', 'webhookDeliveries.webhookId')
          .select('webhookDeliveries.id')
          .where('webhookDeliveries.status', '=', 'pending')
          .where('webhookDeliveries.nextAttemptAt', '<=', now)
          .where('webhooks.disabledAt', 'is', null)
          .where((eb) => eb.or([eb('webhookDeliveries.leaseUntil', 'is', null), eb('webhookDeliveries.leaseUntil', '<=', now)]))
          .orderBy('webhookDeliveries.nextAttemptAt')
          .limit(BATCH),
      )
      // Checked again on the row itself: of two processes that picked the same row, the second
      // (PostgreSQL: after waiting for the first's row lock) finds the lease taken and skips it.
      .where('status', '=', 'pending')
      .where(free)
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  private async attempt(id: string): Promise<void> {
    const { db, clock, instanceId, metrics, logger } = this.services;
    const delivery = await db.selectFrom('webhookDeliveries').selectAll().where('id', '=', id).executeTakeFirst();
    if (!delivery || delivery.leaseHolder !== instanceId) return;
    const hook = await db.selectFrom('webhooks').selectAll().where('id', '=', delivery.webhookId).executeTakeFirst();
    if (!hook) return;
    const number = Number(delivery.attempts) + 1;
    const startedAt = clock.now();
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const { current, previous } = this.services.keys.openSecrets(secretName(hook.id), hook.secretEncrypted);
      // The timestamp is the moment of this attempt (receivers reject old ones); the id never changes.
      // During a rotation's grace period a second signature, by the old secret, follows the first.
      let signature = signWebhook(current, delivery.id, startedAt, delivery.payload);
      if (previous && previous.until > iso(startedAt)) signature += ` ${signWebhook(previous.secret, delivery.id, startedAt, delivery.payload)}`;
      current.fill(0);
      previous?.secret.fill(0);
      const response = await outboundFetch(hook.url, outboundPolicy({ allowPrivate: this.services.config.allowPrivateOrigins && hook.allowPrivate === 1 }), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': `DS-Webhooks/${this.services.version}`,
          'webhook-id': delivery.id,
          'webhook-timestamp': String(Math.floor(startedAt.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body: delivery.payload,
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        // A redirect is an answer, not a delivery: following it would send the signed body elsewhere.
        maxRedirects: 0,
      });
      statusCode = response.status;
      await response.body?.cancel().catch(() => {});
      if (statusCode < 200 || statusCode > 299) error = `the endpoint answered ${statusCode}`;
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      error = (e as Error).name === 'TimeoutError' ? `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s` : `${(e as Error).message}${cause?.code ? ` (${cause.code})` : ''}`;
    }
    const ok = error === null;
    const durationMs = Math.round(performance.now() - started);
    const now = clock.now();
    const giveUp = !ok && number >= MAX_ATTEMPTS;
    const outcome = ok ? 'delivered' : giveUp ? 'abandoned' : 'failed';
    const failingSince = hook.failingSince ?? iso(startedAt);
    const disable = !ok && hook.disabledAt === null && now.getTime() - Date.parse(failingSince) >= DISABLE_AFTER_MS;
    await db.transaction().execute(async (trx) => {
      if (disable) {
        // The audit entry first: the chain's lock before the webhook's row, in every transaction
        // that takes both (deleteWebhook, enableWebhook), so two of them never wait on each other.
        logger.warn('webhook disabled', { webhook: hook.id, url: hook.url, failingSince, error });
        const org = hook.organizationId ? await trx.selectFrom('organizations').select(['id', 'name']).where('id', '=', hook.organizationId).executeTakeFirst() : undefined;
        await recordEvent(this.services, trx, {
          action: 'webhook.disabled',
          resourceType: 'webhook',
          resourceId: hook.id,
          organization: org ?? null,
          after: { url: hook.url, failingSince, lastError: error },
          always: true,
        });
      }
      await trx
        .insertInto('webhookAttempts')
        .values({ id: crypto.randomUUID(), deliveryId: id, attempt: number, at: iso(startedAt), statusCode, error, durationMs, ok: ok ? 1 : 0, holder: instanceId })
        .execute();
      await trx
        .updateTable('webhookDeliveries')
        .set({
          attempts: number,
          status: ok ? 'delivered' : giveUp ? 'failed' : 'pending',
          nextAttemptAt: ok || giveUp ? null : iso(new Date(now.getTime() + backoffMs(number, this.random))),
          deliveredAt: ok ? iso(now) : null,
          lastStatusCode: statusCode,
          lastError: error,
          leaseHolder: null,
          leaseUntil: null,
        })
        .where('id', '=', id)
        .where('leaseHolder', '=', instanceId)
        .execute();
      if (ok) {
        await trx.updateTable('webhooks').set({ lastSuccessAt: iso(now), failingSince: null }).where('id', '=', hook.id).execute();
        return;
      }
      await trx
        .updateTable('webhooks')
        .set({
          lastFailureAt: iso(now),
          failingSince,
          ...(disable ? { disabledAt: iso(now), disabledReason: `every attempt failed since ${failingSince}; the last: ${error}` } : {}),
        })
        .where('id', '=', hook.id)
        .execute();
    });
    metrics.webhookDelivery(outcome);
  }
}

/** Finished deliveries (delivered or given up) are kept this long, then removed with their attempts. */
export const DELIVERY_RETENTION_MS = 30 * 86400_000;

/** Removes finished deliveries older than {@link DELIVERY_RETENTION_MS}; pending ones stay whatever their age. */
export async function pruneWebhookDeliveries(services: Pick<Services, 'db' | 'clock'>): Promise<number> {
  const cutoff = iso(new Date(services.clock.now().getTime() - DELIVERY_RETENTION_MS));
  const result = await services.db.deleteFrom('webhookDeliveries').where('status', '<>', 'pending').where('createdAt', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
