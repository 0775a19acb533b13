import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { AuditEntry, AuditListQuery, AuditVerify } from '@ds/shared';
import type { Services } from '../context.js';
import type { Executor } from '../db/types.js';
import type { AuditLogTable } from '../db/types.js';
import { iso, type Clock } from '../lib/clock.js';
import { AppError, notFound } from '../lib/errors.js';
import { decodeCursor, pageOf } from '../lib/pagination.js';
import { outsideOrganization, type Principal } from '../users/principal.js';
import { enqueueWebhookEvent } from '../webhooks/outbox.js';

// The audit log. Every change is recorded by `recordEvent` inside the transaction that makes it
// (so an entry exists exactly when the change does), and the same call puts the event in the
// webhook outbox. Entries form a hash chain: hash = SHA-256(previous hash + canonical entry).

export const GENESIS_HASH = '0'.repeat(64);
const CHAIN = 'audit';

/** Who acts, as the audit log records it. */
export interface AuditActorInfo {
  type: 'user' | 'system' | 'anonymous';
  name: string;
  userId: string | null;
  credential: 'session' | 'api-token' | null;
  tokenId: string | null;
}

export const SYSTEM_ACTOR: AuditActorInfo = { type: 'system', name: 'system', userId: null, credential: null, tokenId: null };
/** The rollout health gate, when it pauses a rollout by itself. */
export const HEALTH_GATE_ACTOR: AuditActorInfo = { type: 'system', name: 'health gate', userId: null, credential: null, tokenId: null };

/** Someone not (yet) authenticated, by the username they gave. */
export const anonymousActor = (name: string): AuditActorInfo => ({ type: 'anonymous', name, userId: null, credential: null, tokenId: null });

export function actorOf(principal: Principal): AuditActorInfo {
  return { type: 'user', name: principal.username, userId: principal.userId, credential: principal.credential, tokenId: principal.tokenId };
}

/** What the request being handled says about who and where (set by mountRoutes around each handler). */
export interface RequestAuditScope {
  principal: Principal | undefined;
  address: string | null;
  requestId: string | null;
  /** How many events the handler recorded (or decided were no change): an admin write with none is a bug. */
  recorded: number;
}

const requestScope = new AsyncLocalStorage<RequestAuditScope>();

/** Runs `fn` with the audit scope of a request; events it records name that request's caller, address and id. */
export function withRequestScope<T>(scope: RequestAuditScope, fn: () => T): T {
  return requestScope.run(scope, fn);
}

export function currentRequestScope(): RequestAuditScope | undefined {
  return requestScope.getStore();
}

/** An event to record: what happened to which resource, and (by default from the request) who did it. */
export interface AuditEvent {
  /** `<resource>.<verb>`: `version.created`, `rollout.paused`, `auth.login_failed`... */
  action: string;
  resourceType: string;
  resourceId: string | null;
  /** The organization the resource belongs to; null or omitted for DS-wide ones. */
  organization?: { id: string; name: string } | null;
  /** The resource before and after, as API objects (secret fields are removed here anyway). */
  before?: unknown;
  after?: unknown;
  /** Overrides the request's caller (or `system` outside a request). */
  actor?: AuditActorInfo;
  /** Overrides the request's client address. */
  address?: string | null;
  /**
   * A change whose before and after are equal is not recorded (an idempotent `apply` that found
   * nothing to do); events without before/after (a failed login) always are.
   */
  always?: boolean;
}

const SECRET_FIELDS = /^(\w*apikey|token|secret|password|currentpassword|\w*hash|privatekey|privatejwk|\w*encrypted\w*)$/i;

/** A JSON value with object keys sorted and secret fields left out, so the same object always gives the same text. */
function canonicalValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(canonicalValue);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    if (SECRET_FIELDS.test(key)) continue;
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    out[key] = canonicalValue(v);
  }
  return out;
}

export function canonicalJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return JSON.stringify(canonicalValue(value));
}

/** True when before and after differ in nothing but a top-level `updatedAt` (which every PUT moves). */
function sameButUpdatedAt(before: unknown, after: unknown): boolean {
  const strip = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...(v as object), updatedAt: undefined } : v);
  return canonicalJson(strip(before)) === canonicalJson(strip(after));
}

type EntryFields = Omit<AuditLogTable, 'hash'>;

/** The text an entry's hash covers: every column but the hash, in a fixed order, after the previous hash. */
export function entryHash(e: EntryFields): string {
  const canonical = JSON.stringify([
    e.seq,
    e.id,
    e.at,
    e.actorType,
    e.actorName,
    e.actorUserId,
    e.credential,
    e.tokenId,
    e.clientAddress,
    e.requestId,
    e.organizationId,
    e.organizationName,
    e.action,
    e.resourceType,
    e.resourceId,
    e.before,
    e.after,
  ]);
  return createHash('sha256').update(e.prevHash).update('\n').update(canonical).digest('hex');
}

/**
 * Appends an entry to the audit log inside `trx`, the transaction of the change it describes,
 * and puts the event in the webhook outbox when webhooks carry it. Call it last in the
 * transaction: the append takes the chain head's row lock (PostgreSQL), held until commit, so
 * concurrent appends from every node form one line, and taking it last keeps lock order simple.
 */
export async function recordEvent(services: { clock: Clock }, trx: Executor, event: AuditEvent): Promise<AuditEntry | null> {
  const scope = requestScope.getStore();
  if (scope) scope.recorded++;
  const before = canonicalJson(event.before);
  const after = canonicalJson(event.after);
  if (!event.always && (before !== null || after !== null) && sameButUpdatedAt(event.before, event.after)) return null;
  const actor = event.actor ?? (scope?.principal ? actorOf(scope.principal) : SYSTEM_ACTOR);
  const now = iso(services.clock.now());
  // The UPDATE takes the head's row lock (PostgreSQL) and answers the next number and the hash to follow.
  const head = await trx
    .updateTable('auditChain')
    .set((eb) => ({ lastSeq: eb('lastSeq', '+', 1) }))
    .where('name', '=', CHAIN)
    .returning(['lastSeq', 'lastHash'])
    .executeTakeFirstOrThrow();
  const fields: EntryFields = {
    seq: Number(head.lastSeq),
    id: crypto.randomUUID(),
    at: now,
    actorType: actor.type,
    actorName: actor.name,
    actorUserId: actor.userId,
    credential: actor.credential,
    tokenId: actor.tokenId,
    clientAddress: event.address !== undefined ? event.address : (scope?.address ?? null),
    requestId: scope?.requestId ?? null,
    organizationId: event.organization?.id ?? null,
    organizationName: event.organization?.name ?? null,
    action: event.action,
    resourceType: event.resourceType,
    resourceId: event.resourceId,
    before,
    after,
    prevHash: head.lastHash,
  };
  const row = { ...fields, hash: entryHash(fields) };
  await trx.insertInto('auditLog').values(row).execute();
  await trx.updateTable('auditChain').set({ lastHash: row.hash }).where('name', '=', CHAIN).execute();
  const entry = toEntry(row);
  await enqueueWebhookEvent(trx, services.clock, entry, row.organizationId);
  return entry;
}

/** Records an event in a transaction of its own (an event that changes nothing else: a failed login). */
export async function recordStandaloneEvent(services: Pick<Services, 'clock' | 'db'>, event: AuditEvent): Promise<void> {
  await services.db.transaction().execute((trx) => recordEvent(services, trx, event));
}

function parse(text: string | null): unknown {
  return text === null ? null : (JSON.parse(text) as unknown);
}

export function toEntry(row: AuditLogTable): AuditEntry {
  return {
    seq: Number(row.seq),
    id: row.id,
    at: row.at,
    actor: { type: row.actorType, name: row.actorName, userId: row.actorUserId, credential: row.credential, tokenId: row.tokenId },
    address: row.clientAddress,
    requestId: row.requestId,
    organization: row.organizationName,
    action: row.action,
    resource: { type: row.resourceType, id: row.resourceId },
    before: parse(row.before),
    after: parse(row.after),
    prevHash: row.prevHash,
    hash: row.hash,
  };
}

/** Entries the principal may see, filtered; a user limited to an organization sees only its entries. */
export async function listAudit(services: Services, principal: Principal, query: AuditListQuery & { limit: number; order: 'asc' | 'desc' }) {
  let q = services.db.selectFrom('auditLog').selectAll();
  if (principal.organizationId !== null) {
    if (query.organization !== undefined && query.organization !== principal.organizationName) throw outsideOrganization();
    q = q.where('organizationId', '=', principal.organizationId);
  } else if (query.organization !== undefined) {
    q = q.where('organizationName', '=', query.organization);
  }
  if (query.since) q = q.where('at', '>=', query.since);
  if (query.until) q = q.where('at', '<', query.until);
  if (query.actor) q = q.where('actorName', '=', query.actor);
  if (query.resource) {
    const colon = query.resource.indexOf(':');
    if (colon < 0) q = q.where('resourceType', '=', query.resource);
    else q = q.where('resourceType', '=', query.resource.slice(0, colon)).where('resourceId', '=', query.resource.slice(colon + 1));
  }
  if (query.action) {
    if (query.action.endsWith('.*')) {
      // A prefix compared as text (LIKE would treat the _ of auth.login_failed as a wildcard).
      const prefix = query.action.slice(0, -1);
      q = q.where((eb) => eb(eb.fn<string>('substr', ['action', sql.lit(1), sql.lit(prefix.length)]), '=', prefix));
    }
    else q = q.where('action', '=', query.action);
  }
  const after = decodeCursor(query.cursor);
  if (after !== undefined) {
    const seq = Number(after);
    if (!Number.isSafeInteger(seq)) throw new AppError('VALIDATION_ERROR', 'cursor: is not a cursor this server issued');
    q = q.where('seq', query.order === 'asc' ? '>' : '<', seq);
  }
  const rows = await q
    .orderBy('seq', query.order)
    .limit(query.limit + 1)
    .execute();
  const { items, next } = pageOf(rows, query.limit, (r) => String(r.seq));
  return { items: items.map(toEntry), next };
}

/**
 * Checks the chain: the oldest retained entry follows the anchor, every entry's hash is what its
 * content and the previous hash give, numbers have no gap, and the newest entry is the head. The
 * first broken link is named. Reads a page at a time; entries appended meanwhile are left for the
 * next check.
 */
export async function verifyAudit(services: Pick<Services, 'db'>, pageSize = 1000): Promise<AuditVerify> {
  for (let attempt = 0; ; attempt++) {
    const head = await services.db.selectFrom('auditChain').selectAll().where('name', '=', CHAIN).executeTakeFirst();
    if (!head) throw notFound('the audit chain head');
    const lastSeq = Number(head.lastSeq);
    const anchorSeq = Number(head.anchorSeq);
    const result: AuditVerify = { ok: true, checked: 0, firstSeq: null, lastSeq: null, anchorHash: head.anchorHash, headHash: head.lastHash, broken: null };
    const fail = (seq: number | null, id: string | null, reason: string): AuditVerify => ({ ...result, ok: false, broken: { seq, id, reason } });
    let expectedSeq = anchorSeq;
    let prevHash = head.anchorHash;
    let lastHash = head.anchorHash;
    let moved = false;
    while (expectedSeq <= lastSeq) {
      const rows = await services.db
        .selectFrom('auditLog')
        .selectAll()
        .where('seq', '>=', expectedSeq)
        .where('seq', '<=', lastSeq)
        .orderBy('seq', 'asc')
        .limit(pageSize)
        .execute();
      if (rows.length === 0) {
        // Retention may have removed it meanwhile (the anchor moved past it): start again from the
        // new anchor before calling it a break.
        if (attempt < 2 && (await removedByRetention(services, expectedSeq))) {
          moved = true;
          break;
        }
        return fail(expectedSeq, null, `entry ${expectedSeq} is missing (the chain head says the newest is ${lastSeq})`);
      }
      for (const row of rows) {
        const seq = Number(row.seq);
        if (seq !== expectedSeq) {
          if (attempt < 2 && (await removedByRetention(services, expectedSeq))) {
            moved = true;
            break;
          }
          return fail(expectedSeq, null, `entry ${expectedSeq} is missing (the next one is ${seq})`);
        }
        if (row.prevHash !== prevHash) {
          return fail(seq, row.id, seq === anchorSeq ? `entry ${seq} does not follow the anchor retention left` : `entry ${seq} does not follow entry ${seq - 1}: its previous hash differs`);
        }
        const { hash, ...fields } = row;
        if (entryHash({ ...fields, seq }) !== hash) return fail(seq, row.id, `entry ${seq} was changed: its content does not give its hash`);
        result.firstSeq ??= seq;
        result.lastSeq = seq;
        result.checked++;
        prevHash = hash;
        lastHash = hash;
        expectedSeq++;
      }
      if (moved) break;
    }
    if (moved) continue;
    if (lastHash !== head.lastHash) return fail(lastSeq, null, `the chain head's hash is not that of entry ${lastSeq}`);
    return result;
  }
}

/** Whether retention has removed entry `seq` since the check began: the anchor is past it now. */
async function removedByRetention(services: Pick<Services, 'db'>, seq: number): Promise<boolean> {
  const head = await services.db.selectFrom('auditChain').select('anchorSeq').where('name', '=', CHAIN).executeTakeFirst();
  return head !== undefined && Number(head.anchorSeq) > seq;
}

/**
 * Removes entries older than the retention, oldest first, a batch per transaction, and records
 * the hash of the last one removed as the anchor, so the chain stays verifiable from the oldest
 * entry kept. Answers how many were removed. `days` 0 keeps everything.
 */
export async function applyAuditRetention(services: Pick<Services, 'db' | 'clock'>, days: number, batch = 1000): Promise<number> {
  if (days <= 0) return 0;
  const cutoff = iso(new Date(services.clock.now().getTime() - days * 86400_000));
  let removed = 0;
  for (;;) {
    const count = await services.db.transaction().execute(async (trx) => {
      // Lock the head first (as appends do), then read the anchor under the lock.
      const head = await trx
        .updateTable('auditChain')
        .set((eb) => ({ anchorSeq: eb.ref('anchorSeq') }))
        .where('name', '=', CHAIN)
        .returning(['anchorSeq', 'lastSeq'])
        .executeTakeFirstOrThrow();
      const old = await trx
        .selectFrom('auditLog')
        .select(['seq', 'hash'])
        .where('seq', '>=', Number(head.anchorSeq))
        .where('seq', '<', Number(head.anchorSeq) + batch)
        .where('at', '<', cutoff)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!old) return 0;
      // Entries are removed in number order only: the anchor is always the hash of the entry just before the oldest kept.
      const upTo = Number(old.seq);
      const result = await trx.deleteFrom('auditLog').where('seq', '<=', upTo).executeTakeFirst();
      await trx.updateTable('auditChain').set({ anchorSeq: upTo + 1, anchorHash: old.hash }).where('name', '=', CHAIN).execute();
      return Number(result.numDeletedRows);
    });
    removed += count;
    if (count === 0) return removed;
  }
}
