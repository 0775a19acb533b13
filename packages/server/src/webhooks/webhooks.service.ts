import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { PageQuery, Webhook, WebhookCreateSchema, WebhookDelivery } from '@ds/shared';
import type { Services } from '../context.js';
import type { Selectable } from 'kysely';
import type { Executor, WebhookDeliveryTable as DeliveryTable, WebhookTable } from '../db/types.js';

type WebhookDeliveryTable = Selectable<DeliveryTable>;
import { recordEvent } from '../audit/audit.service.js';
import { iso } from '../lib/clock.js';
import { AppError, invalid, notFound } from '../lib/errors.js';
import { ALLOW_HINT, checkOutboundUrl, outboundPolicy, OutboundRefusedError } from '../lib/outbound.js';
import { decodeCursor, pageOf } from '../lib/pagination.js';
import { findOrganizationByName } from '../organizations/organizations.repository.js';
import { outsideOrganization, type Principal } from '../users/principal.js';

type WebhookRow = WebhookTable & { organizationName: string | null };

/** The sealed secret's name: binds it to its webhook's row. */
export const secretName = (id: string) => `webhook:${id}`;

function toWebhook(row: WebhookRow, secret?: string): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    organization: row.organizationName,
    description: row.description,
    status: row.disabledAt === null ? 'active' : 'disabled',
    disabledAt: row.disabledAt,
    disabledReason: row.disabledReason,
    failingSince: row.failingSince,
    lastSuccessAt: row.lastSuccessAt,
    lastFailureAt: row.lastFailureAt,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    ...(secret ? { secret } : {}),
  };
}

function webhooks(db: Executor) {
  return db.selectFrom('webhooks').leftJoin('organizations', 'organizations.id', 'webhooks.organizationId').selectAll('webhooks').select('organizations.name as organizationName');
}

/** The webhook if the principal may act on it; a limited principal gets 403 for another's or a missing one (nothing leaks). */
async function visibleWebhook(db: Executor, principal: Principal, id: string): Promise<WebhookRow> {
  const row = await webhooks(db).where('webhooks.id', '=', id).executeTakeFirst();
  if (principal.organizationId !== null && (!row || row.organizationId !== principal.organizationId)) throw outsideOrganization();
  if (!row) throw notFound(`webhook ${id}`);
  return row;
}

async function audit(services: Services, trx: Executor, action: string, row: WebhookRow, before: Webhook | null, after: Webhook | null) {
  await recordEvent(services, trx, {
    action,
    resourceType: 'webhook',
    resourceId: row.id,
    organization: row.organizationId !== null ? { id: row.organizationId, name: row.organizationName ?? '' } : null,
    before,
    after,
    always: true,
  });
}

export async function listWebhooks(services: Services, principal: Principal, query: PageQuery & { organization?: string | undefined }) {
  let q = webhooks(services.db).orderBy('webhooks.id').limit(query.limit + 1);
  if (principal.organizationId !== null) {
    if (query.organization !== undefined && query.organization !== principal.organizationName) throw outsideOrganization();
    q = q.where('webhooks.organizationId', '=', principal.organizationId);
  } else if (query.organization !== undefined) {
    q = q.where('organizations.name', '=', query.organization);
  }
  const after = decodeCursor(query.cursor);
  if (after !== undefined) q = q.where('webhooks.id', '>', after);
  const { items, next } = pageOf(await q.execute(), query.limit, (r) => r.id);
  return { items: items.map((r) => toWebhook(r)), next };
}

export async function getWebhook(services: Services, principal: Principal, id: string): Promise<Webhook> {
  return toWebhook(await visibleWebhook(services.db, principal, id));
}

/**
 * Creates a webhook. Its URL is checked like an installer origin's (no loopback, private or
 * link-local address unless DS_ALLOW_PRIVATE_ORIGINS; every connection is checked again). A user
 * limited to an organization creates webhooks of that organization only. The signing secret is
 * answered once and stored sealed under the master key.
 */
export async function createWebhook(services: Services, principal: Principal, body: z.output<typeof WebhookCreateSchema>): Promise<Webhook> {
  const organization = body.organization ?? null;
  if (principal.organizationId !== null && organization !== principal.organizationName) {
    if (organization === null) throw new AppError('FORBIDDEN', `a webhook of every event is for users who see all of DS; this credential is limited to the organization ${principal.organizationName} (add --org ${principal.organizationName})`);
    throw outsideOrganization();
  }
  const url = new URL(body.url);
  if (url.username || url.password) throw invalid('url', 'must not carry a user name or password (the payload is signed instead)');
  // DS_ALLOW_PRIVATE_ORIGINS is the operator's: it lets users who see all of DS point webhooks at
  // internal addresses, never a credential limited to an organization (DS would call, and report
  // back on, whatever internal address that organization names).
  const allowPrivate = services.config.allowPrivateOrigins && principal.organizationId === null;
  const policy = outboundPolicy({ allowPrivate });
  if (url.protocol === 'http:' && !allowPrivate) {
    throw invalid('url', services.config.allowPrivateOrigins ? 'must be https: plain http and private addresses are for users who see all of DS' : `must be https (http only with ${ALLOW_HINT})`);
  }
  try {
    await checkOutboundUrl(url, policy, { timeoutMs: 3000 });
  } catch (error) {
    if (error instanceof OutboundRefusedError && services.config.allowPrivateOrigins) throw invalid('url', `${error.message}: private addresses are for users who see all of DS`);
    if (error instanceof OutboundRefusedError) throw invalid('url', error.message);
    throw error;
  }
  const id = crypto.randomUUID();
  const key = randomBytes(32);
  const secret = `whsec_${key.toString('base64')}`;
  const { sealed, masterKeyId } = services.keys.sealSecret(secretName(id), key);
  key.fill(0);
  return services.db.transaction().execute(async (trx) => {
    let organizationId: string | null = null;
    if (organization !== null) {
      const org = await findOrganizationByName(trx, organization);
      if (!org) throw invalid('organization', `${organization} does not exist`);
      organizationId = org.id;
    }
    await trx
      .insertInto('webhooks')
      .values({
        id,
        url: url.toString(),
        events: JSON.stringify([...new Set(body.events)]),
        organizationId,
        description: body.description ?? null,
        secretEncrypted: sealed,
        masterKeyId,
        createdAt: iso(services.clock.now()),
        createdBy: principal.username,
        disabledAt: null,
        disabledReason: null,
        failingSince: null,
        lastSuccessAt: null,
        lastFailureAt: null,
        allowPrivate: allowPrivate ? 1 : 0,
      })
      .execute();
    const row = (await webhooks(trx).where('webhooks.id', '=', id).executeTakeFirst())!;
    await audit(services, trx, 'webhook.created', row, null, toWebhook(row));
    return toWebhook(row, secret);
  });
}

export async function deleteWebhook(services: Services, principal: Principal, id: string): Promise<Webhook> {
  return services.db.transaction().execute(async (trx) => {
    const row = await visibleWebhook(trx, principal, id);
    // The entry before the delete: a transaction appending to the audit chain may be putting an
    // event in this webhook's outbox (its insert waits on this row), so this one must not hold the
    // row while it waits for the chain (PostgreSQL would call it a deadlock).
    await audit(services, trx, 'webhook.deleted', row, toWebhook(row), null);
    await trx.deleteFrom('webhooks').where('id', '=', id).execute();
    return toWebhook(row);
  });
}

export async function enableWebhook(services: Services, principal: Principal, id: string): Promise<Webhook> {
  return services.db.transaction().execute(async (trx) => {
    const row = await visibleWebhook(trx, principal, id);
    const after: WebhookRow = { ...row, disabledAt: null, disabledReason: null, failingSince: null };
    // The audit chain first, then the webhook's row, as deleteWebhook and the worker take them.
    await audit(services, trx, 'webhook.enabled', row, toWebhook(row), toWebhook(after));
    await trx.updateTable('webhooks').set({ disabledAt: null, disabledReason: null, failingSince: null }).where('id', '=', id).execute();
    return toWebhook(after);
  });
}

/**
 * Replaces a webhook's signing secret; the new one is answered once. For `graceSeconds` (default a
 * day) deliveries are signed with the old secret as well, a second signature in the same header
 * (as the Standard Webhooks specification allows), so receivers switch without missing one.
 */
export async function rotateSecret(services: Services, principal: Principal, id: string, graceSeconds = 86400): Promise<Webhook> {
  const key = randomBytes(32);
  const secret = `whsec_${key.toString('base64')}`;
  try {
    return await services.db.transaction().execute(async (trx) => {
      const row = await visibleWebhook(trx, principal, id);
      const old = services.keys.openSecrets(secretName(id), row.secretEncrypted).current;
      const until = iso(new Date(services.clock.now().getTime() + graceSeconds * 1000));
      const { sealed, masterKeyId } = services.keys.sealSecret(secretName(id), key, graceSeconds > 0 ? { secret: old, until } : undefined);
      old.fill(0);
      // The audit chain before the webhook's row (see deleteWebhook).
      await recordEvent(services, trx, {
        action: 'webhook.secret_rotated',
        resourceType: 'webhook',
        resourceId: id,
        organization: row.organizationId !== null ? { id: row.organizationId, name: row.organizationName ?? '' } : null,
        after: { previousSecretValidUntil: graceSeconds > 0 ? until : null },
        always: true,
      });
      await trx.updateTable('webhooks').set({ secretEncrypted: sealed, masterKeyId }).where('id', '=', id).execute();
      return toWebhook(row, secret);
    });
  } finally {
    key.fill(0);
  }
}

async function toDeliveries(db: Executor, rows: WebhookDeliveryTable[]): Promise<WebhookDelivery[]> {
  const attempts = rows.length
    ? await db.selectFrom('webhookAttempts').selectAll().where('deliveryId', 'in', rows.map((r) => r.id)).orderBy('deliveryId').orderBy('attempt').execute()
    : [];
  return rows.map((r) => ({
    id: r.id,
    webhookId: r.webhookId,
    eventType: r.eventType,
    eventId: r.eventId,
    status: r.status,
    attempts: Number(r.attempts),
    nextAttemptAt: r.status === 'pending' ? r.nextAttemptAt : null,
    createdAt: r.createdAt,
    deliveredAt: r.deliveredAt,
    lastStatusCode: r.lastStatusCode === null ? null : Number(r.lastStatusCode),
    lastError: r.lastError,
    attemptLog: attempts
      .filter((a) => a.deliveryId === r.id)
      .map((a) => ({ attempt: Number(a.attempt), at: a.at, statusCode: a.statusCode === null ? null : Number(a.statusCode), error: a.error, durationMs: Number(a.durationMs), ok: a.ok === 1 })),
    payload: JSON.parse(r.payload) as unknown,
  }));
}

export async function listDeliveries(services: Services, principal: Principal, id: string, query: PageQuery & { status?: WebhookDeliveryTable['status'] | undefined }) {
  await visibleWebhook(services.db, principal, id);
  let q = services.db.selectFrom('webhookDeliveries').selectAll().where('webhookId', '=', id).orderBy('createdAt', 'desc').orderBy('id', 'desc').limit(query.limit + 1);
  if (query.status) q = q.where('status', '=', query.status);
  const after = decodeCursor(query.cursor);
  if (after !== undefined) {
    const [createdAt, deliveryId] = after.split('|');
    q = q.where((eb) => eb.or([eb('createdAt', '<', createdAt!), eb.and([eb('createdAt', '=', createdAt!), eb('id', '<', deliveryId ?? '')])]));
  }
  const { items, next } = pageOf(await q.execute(), query.limit, (r) => `${r.createdAt}|${r.id}`);
  return { items: await toDeliveries(services.db, items), next };
}

/** Sends a delivery again now, under the same id; a delivered or failed one becomes pending again. */
export async function redeliver(services: Services, principal: Principal, id: string, deliveryId: string): Promise<WebhookDelivery> {
  return services.db.transaction().execute(async (trx) => {
    const hook = await visibleWebhook(trx, principal, id);
    const row = await trx.selectFrom('webhookDeliveries').selectAll().where('id', '=', deliveryId).where('webhookId', '=', id).executeTakeFirst();
    if (!row) throw notFound(`delivery ${deliveryId} of webhook ${id}`);
    const before = (await toDeliveries(trx, [row]))[0]!;
    await trx
      .updateTable('webhookDeliveries')
      .set({ status: 'pending', nextAttemptAt: iso(services.clock.now()), deliveredAt: null, leaseUntil: null, leaseHolder: null })
      .where('id', '=', deliveryId)
      .execute();
    const after = (await toDeliveries(trx, [(await trx.selectFrom('webhookDeliveries').selectAll().where('id', '=', deliveryId).executeTakeFirst())!]))[0]!;
    await recordEvent(services, trx, {
      action: 'webhook.redelivered',
      resourceType: 'webhook',
      resourceId: id,
      organization: hook.organizationId !== null ? { id: hook.organizationId, name: hook.organizationName ?? '' } : null,
      before: { delivery: deliveryId, status: before.status },
      after: { delivery: deliveryId, status: after.status },
      always: true,
    });
    return after;
  });
}
