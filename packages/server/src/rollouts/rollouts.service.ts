import {
  DEFAULT_ROLLOUT_WAVES,
  ROLLOUT_DEFAULTS,
  type PageQuery,
  type Rollout,
  type RolloutActorKind,
  type RolloutEvent,
  type RolloutEventKind,
  type RolloutGateNumbers,
  type RolloutPut,
  type RolloutWave,
} from '@ds/shared';
import type { Services } from '../context.js';
import type { Executor, RolloutEventTable } from '../db/types.js';
import { iso } from '../lib/clock.js';
import { AppError, conflict, invalid, notFound } from '../lib/errors.js';
import { decodeCursor, pageOf } from '../lib/pagination.js';
import type { Principal } from '../users/principal.js';
import { checkPreconditions, type Preconditions } from '../versions/etag.js';
import { findVersion, lockVersion, updateVersion } from '../versions/versions.repository.js';
import * as repo from './rollouts.repository.js';
import { actorOf as auditActorOf, HEALTH_GATE_ACTOR, recordEvent, SYSTEM_ACTOR } from '../audit/audit.service.js';

type RolloutRow = repo.RolloutRow;

/** Who or what changed a rollout. */
export interface RolloutActor {
  kind: RolloutActorKind;
  /** The username, `token <name> of <user>`, "health gate" or "schedule". */
  name: string;
  /** The admin who made the change (absent for the health gate and the schedule). */
  principal?: Principal;
}

export const HEALTH_GATE: RolloutActor = { kind: 'health-gate', name: 'health gate' };
export const SCHEDULE: RolloutActor = { kind: 'schedule', name: 'schedule' };

export function actorOf(principal: Principal): RolloutActor {
  if (principal.credential === 'api-token') {
    return { kind: 'token', name: `token ${principal.tokenName ?? principal.tokenId} of ${principal.username}`, principal };
  }
  return { kind: 'user', name: principal.username, principal };
}

/** One change of a rollout, as {@link recordRolloutEvent} records it. */
export interface RolloutChange {
  versionId: string;
  kind: RolloutEventKind;
  actor: RolloutActor;
  at: string;
  fromPercent: number | null;
  toPercent: number | null;
  numbers: RolloutGateNumbers | null;
  detail: string | null;
}

/**
 * Records a change of a rollout in its history, in the transaction that makes the change. Every
 * state change of a rollout goes through here (starts, changes, waves advanced by the schedule,
 * pauses by the health gate, operators' actions), so a hook added here (an audit entry, a webhook
 * event in the outbox) sees every one, inside the same transaction.
 */
export async function recordRolloutEvent(services: Services, trx: Executor, change: RolloutChange): Promise<RolloutEvent> {
  const row: RolloutEventTable = {
    id: crypto.randomUUID(),
    versionId: change.versionId,
    seq: await repo.nextEventSeq(trx, change.versionId),
    at: change.at,
    kind: change.kind,
    actor: change.actor.name,
    actorKind: change.actor.kind,
    fromPercent: change.fromPercent,
    toPercent: change.toPercent,
    numbers: change.numbers ? JSON.stringify(change.numbers) : null,
    detail: change.detail,
  };
  await repo.insertEvent(trx, row);
  const event = toEvent(row);
  // The audit log and the webhook outbox (`rollout.paused`...), in the same transaction.
  await recordEvent(services, trx, {
    action: `rollout.${change.kind}`,
    resourceType: 'rollout',
    resourceId: change.versionId,
    actor: change.actor.principal ? auditActorOf(change.actor.principal) : change.actor.kind === 'health-gate' ? HEALTH_GATE_ACTOR : { ...SYSTEM_ACTOR, name: change.actor.name },
    after: event,
    always: true,
  });
  return event;
}

function toEvent(row: RolloutEventTable): RolloutEvent {
  return {
    id: row.id,
    version: row.versionId,
    at: row.at,
    kind: row.kind as RolloutEventKind,
    actor: row.actor,
    actorKind: row.actorKind as RolloutActorKind,
    fromPercent: row.fromPercent === null ? null : Number(row.fromPercent),
    toPercent: row.toPercent === null ? null : Number(row.toPercent),
    numbers: row.numbers ? (JSON.parse(row.numbers) as RolloutGateNumbers) : null,
    detail: row.detail,
  };
}

// ---------------------------------------------------------------- state helpers

const wavesOf = (row: RolloutRow) => JSON.parse(row.waves) as number[];
const waveStartedOf = (row: RolloutRow) => JSON.parse(row.waveStarted) as (string | null)[];
const wavePercent = (row: RolloutRow) => wavesOf(row)[row.waveIndex] ?? 0;

/** The share offered now: the current wave's while active, none while paused or aborted, all once completed. */
function offeredPercent(row: RolloutRow): number {
  if (row.state === 'completed') return 100;
  if (row.state === 'active') return wavePercent(row);
  return 0;
}

/** When the current wave's hold ends: counted from the wave's start, or from the last resume when later. */
function holdEndsAt(row: RolloutRow): Date {
  const started = waveStartedOf(row)[row.waveIndex] ?? row.startedAt;
  const from = started > row.gateSince ? started : row.gateSince;
  return new Date(new Date(from).getTime() + Number(row.waveHoldSeconds) * 1000);
}

/** The quoted ETag of a rollout: its version and revision. */
export function rolloutEtag(row: Pick<RolloutRow, 'versionId' | 'revision'>): string {
  return `"${encodeURIComponent(row.versionId)}.r${Number(row.revision)}"`;
}

const pct = (rate: number) => `${Math.round(rate * 10000) / 100} %`;

// ---------------------------------------------------------------- the health gate

interface Health {
  /** Every wave's numbers, all offers. */
  waves: repo.WaveCounts[];
  /** The gate's numbers: offers since the start or the last resume. */
  gate: RolloutGateNumbers;
  tripped: boolean;
}

const sumCounts = (rows: repo.WaveCounts[]): RolloutGateNumbers => {
  const n = rows.reduce((a, r) => ({ offered: a.offered + r.offered, updated: a.updated + r.updated, failed: a.failed + r.failed, stuck: a.stuck + r.stuck }), {
    offered: 0,
    updated: 0,
    failed: 0,
    stuck: 0,
  });
  return { ...n, failureRate: n.updated > 0 ? n.failed / n.updated : null };
};

/**
 * The health of a rollout at `now`. "Stopped syncing" and "stuck" are measured in sync intervals
 * of the version being rolled out (its effective context config): `stuckAfter` intervals without
 * a sync after updating is a failure, `stuckAfter` intervals after the offer still on the old
 * version is stuck.
 */
async function health(services: Services, db: Executor, row: RolloutRow, now: Date, organizationId?: string): Promise<Health> {
  const interval = (await services.configCache.get(db, row.versionId)).contextConfig.syncIntervalSeconds;
  const before = iso(new Date(now.getTime() - Number(row.stuckAfter) * interval * 1000));
  const limits = { silentBefore: before, stuckBefore: before, organizationId };
  const [waves, since] = await Promise.all([repo.countOffers(db, row.versionId, limits), repo.countOffers(db, row.versionId, { ...limits, since: row.gateSince })]);
  const gate = sumCounts(since);
  const tripped = gate.updated >= Number(row.minSample) && gate.failed * 10_000 > Number(row.maxFailureBp) * gate.updated;
  return { waves, gate, tripped };
}

function toRollout(row: RolloutRow, h: Health): Rollout {
  const waves = wavesOf(row);
  const started = waveStartedOf(row);
  const active = row.state === 'active' && row.waveIndex < waves.length - 1;
  const waveStats: RolloutWave[] = waves.map((percent, index) => {
    const counts = sumCounts(h.waves.filter((w) => w.waveIndex === index));
    const status = row.state === 'completed' || index < row.waveIndex ? 'done' : index === row.waveIndex ? 'current' : 'pending';
    return { index, percent, status, startedAt: started[index] ?? null, ...counts };
  });
  return {
    version: row.versionId,
    state: row.state,
    waves,
    waveIndex: Number(row.waveIndex),
    percent: offeredPercent(row),
    waveStartedAt: started[row.waveIndex] ?? row.startedAt,
    nextWaveAt: active ? iso(holdEndsAt(row)) : null,
    waveHoldSeconds: Number(row.waveHoldSeconds),
    maxFailureRate: Number(row.maxFailureBp) / 10_000,
    minSample: Number(row.minSample),
    stuckAfter: Number(row.stuckAfter),
    pausedReason: row.state === 'paused' ? row.pausedReason : null,
    gate: { ...h.gate, since: row.gateSince, tripped: h.tripped },
    waveStats,
    startedAt: row.startedAt,
    updatedAt: row.updatedAt,
    completedAt: row.completedAt,
    revision: Number(row.revision),
  };
}

// ---------------------------------------------------------------- transitions

/** A change decided from a rollout's state: its new columns and the history entries it makes. */
interface Transition {
  patch: Partial<RolloutRow>;
  events: Omit<RolloutChange, 'versionId' | 'actor' | 'at'>[];
  /** The rollout completed: the version becomes recommended in the same transaction. */
  completes?: boolean;
}

/**
 * Moves the rollout to wave `index` at `now`; reaching 100 % completes it. `kind` is how the move
 * is recorded (advanced by the schedule, promoted by an operator).
 */
function moveTo(row: RolloutRow, index: number, now: string, kind: RolloutEventKind, numbers: RolloutGateNumbers | null, detail: string | null): Transition {
  const waves = wavesOf(row);
  const started = waveStartedOf(row);
  started[index] = now;
  const from = wavePercent(row);
  const to = waves[index] ?? 100;
  const events: Transition['events'] = [{ kind, fromPercent: from, toPercent: to, numbers, detail }];
  if (to < 100) return { patch: { waveIndex: index, waveStarted: JSON.stringify(started), state: 'active', pausedReason: null }, events };
  events.push({ kind: 'completed', fromPercent: from, toPercent: 100, numbers, detail: `${row.versionId} is now the recommended version` });
  return {
    patch: { waveIndex: index, waveStarted: JSON.stringify(started), state: 'completed', pausedReason: null, completedAt: now },
    events,
    completes: true,
  };
}

/**
 * Applies a transition decided from the rollout as read in the transaction: written only if the
 * rollout is still at the revision read (else CONFLICT, nothing changed), with its history
 * entries and, on completion, the version made recommended, all in one transaction.
 */
async function transition(
  services: Services,
  versionId: string,
  actor: RolloutActor,
  preconditions: Preconditions,
  decide: (row: RolloutRow, health: Health, now: string) => Transition,
): Promise<RolloutRow> {
  const at = services.clock.now();
  const now = iso(at);
  const row = await services.db.transaction().execute(async (trx) => {
    // The version's row first (a completing wave writes it, and a version change takes it before
    // the audit chain): every transaction that takes both takes them in the same order.
    await lockVersion(trx, versionId);
    const current = await repo.findRollout(trx, versionId);
    checkPreconditions(`the rollout of ${versionId}`, current ? rolloutEtag(current) : null, preconditions);
    if (!current) throw notFound(`a rollout of ${versionId}`);
    const h = await health(services, trx, current, at);
    const t = decide(current, h, now);
    if (!(await repo.updateRolloutIf(trx, versionId, Number(current.revision), { ...t.patch, updatedAt: now }))) {
      // A concurrent change committed between the read and this write (PostgreSQL): with If-Match
      // that is the precondition failing, as if it had come a moment later.
      if (preconditions.ifMatch !== undefined) {
        throw new AppError('PRECONDITION_FAILED', `the rollout of ${versionId} changed since it was read (If-Match ${preconditions.ifMatch}); read it again`);
      }
      throw conflict(`the rollout of ${versionId} changed while this request was made; read it again (ds rollout status ${versionId})`);
    }
    if (t.completes) await updateVersion(trx, versionId, { recommended: 1, updatedAt: now });
    for (const e of t.events) await recordRolloutEvent(services, trx, { ...e, versionId, actor, at: now });
    return (await repo.findRollout(trx, versionId))!;
  });
  services.offerCache.clear();
  return row;
}

async function view(services: Services, row: RolloutRow, viewer?: RolloutViewer): Promise<{ rollout: Rollout; etag: string }> {
  const now = services.clock.now();
  const h = await health(services, services.db, row, now);
  const organizationId = viewer?.organizationId ?? null;
  if (organizationId === null) return { rollout: toRollout(row, h), etag: rolloutEtag(row) };
  // A user limited to an organization: the numbers of its organization's devices, the gate's
  // verdict (which decides for every device), and no operator's name or note.
  const own = await health(services, services.db, row, now, organizationId);
  const rollout = toRollout(row, { ...own, tripped: h.tripped });
  return { rollout: { ...rollout, pausedReason: limitedReason(rollout.pausedReason) }, etag: rolloutEtag(row) };
}

/**
 * Who reads a rollout. The rollout itself belongs to all of DS (like its version), but its numbers
 * count devices of every organization and its history names operators: a user limited to an
 * organization sees the numbers of the devices that serve it, and neither the operators' names
 * and notes nor the fleet's numbers in reasons and history.
 */
export type RolloutViewer = Pick<Principal, 'organizationId'>;

function limitedReason(reason: string | null): string | null {
  if (reason === null) return null;
  return reason.startsWith('the health gate') ? 'the health gate (its numbers count the devices of every organization)' : 'paused by an operator';
}

function limitedEvent(e: RolloutEvent): RolloutEvent {
  const operator = e.actorKind === 'user' || e.actorKind === 'token';
  return {
    ...e,
    actor: operator ? 'an operator' : e.actor,
    numbers: null,
    // Settings and the schedule's reasons stay; operators' notes and the gate's fleet numbers go.
    detail: e.kind === 'started' || e.kind === 'changed' || (e.kind === 'advanced' && e.actorKind === 'schedule') ? e.detail : null,
  };
}

// ---------------------------------------------------------------- evaluation (schedule and reads)

/**
 * What the rollout does by itself at `now`: pause when its health gate trips (recorded with the
 * numbers), else advance one wave when the current wave's hold has ended. Both are conditional
 * on the revision read, so of several DS processes (or a concurrent operator) one change wins and
 * the others change nothing. Answers the rollout as it is afterwards.
 */
export async function evaluateRollout(services: Services, versionId: string): Promise<RolloutRow | undefined> {
  const row = await repo.findRollout(services.db, versionId);
  if (!row || row.state !== 'active') return row;
  const at = services.clock.now();
  const h = await health(services, services.db, row, at);
  const waves = wavesOf(row);
  const due = h.tripped || (at >= holdEndsAt(row) && row.waveIndex < waves.length - 1);
  if (!due) return row;
  try {
    return await transition(services, versionId, h.tripped ? HEALTH_GATE : SCHEDULE, {}, (current, health, now) => {
      if (current.revision !== row.revision) throw new Stale();
      if (health.tripped) {
        const g = health.gate;
        const reason = `the health gate: ${g.failed} of ${g.updated} updated devices failed (${pct(g.failureRate ?? 0)} > ${pct(Number(current.maxFailureBp) / 10_000)})`;
        return {
          patch: { state: 'paused', pausedReason: reason },
          events: [{ kind: 'paused', fromPercent: wavePercent(current), toPercent: wavePercent(current), numbers: g, detail: reason }],
        };
      }
      return moveTo(current, current.waveIndex + 1, now, 'advanced', health.gate, `the ${Math.round(Number(current.waveHoldSeconds) / 3600)} h hold of the ${wavePercent(current)} % wave ended and its health gate passed`);
    });
  } catch (error) {
    // Changed meanwhile (another process, an operator): theirs stands; the next evaluation looks again.
    if (error instanceof Stale || (error instanceof AppError && error.code === 'CONFLICT')) return repo.findRollout(services.db, versionId);
    throw error;
  }
}

class Stale extends Error {}

/** Evaluates every active rollout (the scheduler's job); answers how many changed. */
export async function evaluateRollouts(services: Services): Promise<number> {
  let changed = 0;
  for (const row of await repo.listActiveRollouts(services.db)) {
    const after = await evaluateRollout(services, row.versionId);
    if (after && after.revision !== row.revision) changed++;
  }
  return changed;
}

// ---------------------------------------------------------------- admin operations

/** `GET .../rollout`: the rollout, evaluated now (so a wave whose hold ended has advanced). */
export async function getRollout(services: Services, versionId: string, viewer?: RolloutViewer): Promise<{ rollout: Rollout; etag: string }> {
  const row = await evaluateRollout(services, versionId);
  if (!row) {
    if (!(await findVersion(services.db, versionId))) throw notFound(`version ${versionId}`);
    throw notFound(`a rollout of ${versionId} (start one with ds rollout start ${versionId})`);
  }
  return view(services, row, viewer);
}

function settings(body: RolloutPut, row?: RolloutRow) {
  return {
    waves: body.waves ?? (row ? wavesOf(row) : [...DEFAULT_ROLLOUT_WAVES]),
    waveHoldSeconds: body.waveHoldSeconds ?? (row ? Number(row.waveHoldSeconds) : ROLLOUT_DEFAULTS.waveHoldSeconds),
    maxFailureBp: body.maxFailureRate !== undefined ? Math.round(body.maxFailureRate * 10_000) : row ? Number(row.maxFailureBp) : ROLLOUT_DEFAULTS.maxFailureRate * 10_000,
    minSample: body.minSample ?? (row ? Number(row.minSample) : ROLLOUT_DEFAULTS.minSample),
    stuckAfter: body.stuckAfter ?? (row ? Number(row.stuckAfter) : ROLLOUT_DEFAULTS.stuckAfter),
  };
}

/**
 * `PUT .../rollout`: starts a rollout of a version (201), restarts an aborted one, or changes the
 * waves and gate of one in progress (200). A version already recommended is offered to everyone:
 * there is nothing to roll out. Changing the waves keeps the share offered from growing: the
 * rollout continues at the highest new wave not above the current one.
 */
export async function putRollout(
  services: Services,
  principal: Principal,
  versionId: string,
  body: RolloutPut,
  preconditions: Preconditions,
): Promise<{ created: boolean; rollout: Rollout; etag: string }> {
  const actor = actorOf(principal);
  const existing = await repo.findRollout(services.db, versionId);
  if (existing && existing.state !== 'aborted') {
    const row = await transition(services, versionId, actor, preconditions, (row) => {
      if (row.state === 'completed') throw conflict(`the rollout of ${versionId} is completed: it is the recommended version`);
      if (row.state === 'aborted') throw conflict(`the rollout of ${versionId} was aborted meanwhile; start it again`);
      const s = settings(body, row);
      const oldWaves = wavesOf(row);
      const share = wavePercent(row);
      let index = -1;
      s.waves.forEach((p, i) => {
        if (p <= share) index = i;
      });
      if (index < 0) {
        throw invalid('waves', `the first wave (${s.waves[0]} %) is above the share offered now (${share} %): a change never widens a rollout; begin the waves at ${share} % or below, or promote it`);
      }
      const oldStarted = waveStartedOf(row);
      const started = s.waves.map((p) => {
        const i = oldWaves.indexOf(p);
        return i >= 0 ? (oldStarted[i] ?? null) : null;
      });
      started[index] ??= oldStarted[row.waveIndex] ?? iso(services.clock.now());
      const changes = describeChanges(row, s);
      return {
        patch: {
          waves: JSON.stringify(s.waves),
          waveStarted: JSON.stringify(started),
          waveIndex: index,
          waveHoldSeconds: s.waveHoldSeconds,
          maxFailureBp: s.maxFailureBp,
          minSample: s.minSample,
          stuckAfter: s.stuckAfter,
        },
        events: [{ kind: 'changed', fromPercent: share, toPercent: s.waves[index] ?? share, numbers: null, detail: changes || 'no change' }],
      };
    });
    return { created: false, ...(await view(services, row)) };
  }

  const now = iso(services.clock.now());
  // A restart keeps the aborted rollout's waves and gate unless the request changes them.
  const s = settings(body, existing);
  const row = await services.db.transaction().execute(async (trx) => {
    // Locked while the rollout starts: a concurrent change cannot make it recommended or withdraw
    // it between this check and the rollout's insert, and a rollout of one wave of 100 % writes
    // it before the audit chain, in the order a version change takes them.
    if (!(await lockVersion(trx, versionId))) throw notFound(`version ${versionId}`);
    const version = await findVersion(trx, versionId);
    if (!version) throw notFound(`version ${versionId}`);
    if (version.allowed !== 1) throw conflict(`version ${versionId} is not allowed; allow it before rolling it out`);
    if (version.recommended === 1) {
      throw conflict(`version ${versionId} is already recommended, so every device is offered it; a rollout starts from a version that is not (ds version update ${versionId} --no-recommended)`);
    }
    const current = await repo.findRollout(trx, versionId);
    checkPreconditions(`the rollout of ${versionId}`, current ? rolloutEtag(current) : null, preconditions);
    const started = s.waves.map((_, i) => (i === 0 ? now : null));
    const fields = {
      state: 'active' as const,
      waves: JSON.stringify(s.waves),
      waveStarted: JSON.stringify(started),
      waveIndex: 0,
      waveHoldSeconds: s.waveHoldSeconds,
      maxFailureBp: s.maxFailureBp,
      minSample: s.minSample,
      stuckAfter: s.stuckAfter,
      gateSince: now,
      pausedReason: null,
      startedAt: now,
      updatedAt: now,
      completedAt: null,
    };
    if (current) {
      // Restarting an aborted rollout.
      if (current.state !== 'aborted' || !(await repo.updateRolloutIf(trx, versionId, Number(current.revision), fields))) {
        throw conflict(`the rollout of ${versionId} changed while this request was made; read it again`);
      }
    } else {
      try {
        await repo.insertRollout(trx, { versionId, ...fields, revision: 1 });
      } catch {
        throw conflict(`a rollout of ${versionId} was started while this request was made; read it (ds rollout status ${versionId})`);
      }
    }
    const first = s.waves[0]!;
    await recordRolloutEvent(services, trx, {
      versionId,
      kind: 'started',
      actor,
      at: now,
      fromPercent: 0,
      toPercent: first,
      numbers: null,
      detail: `${current ? 'restarted' : 'started'}: waves ${s.waves.join(', ')} %, hold ${s.waveHoldSeconds} s, max failure rate ${pct(s.maxFailureBp / 10_000)}, min sample ${s.minSample}, stuck after ${s.stuckAfter} syncs`,
    });
    if (first === 100) {
      // One wave of everyone: completed at once.
      const r = (await repo.findRollout(trx, versionId))!;
      const t = moveTo(r, 0, now, 'advanced', null, null);
      await repo.updateRolloutIf(trx, versionId, Number(r.revision), { ...t.patch, updatedAt: now });
      await updateVersion(trx, versionId, { recommended: 1, updatedAt: now });
      for (const e of t.events.slice(1)) await recordRolloutEvent(services, trx, { ...e, versionId, actor, at: now });
    }
    return (await repo.findRollout(trx, versionId))!;
  });
  services.offerCache.clear();
  return { created: !existing, ...(await view(services, row)) };
}

function describeChanges(row: RolloutRow, s: ReturnType<typeof settings>): string {
  const out: string[] = [];
  if (JSON.stringify(wavesOf(row)) !== JSON.stringify(s.waves)) out.push(`waves ${wavesOf(row).join(',')} -> ${s.waves.join(',')}`);
  if (Number(row.waveHoldSeconds) !== s.waveHoldSeconds) out.push(`hold ${row.waveHoldSeconds} s -> ${s.waveHoldSeconds} s`);
  if (Number(row.maxFailureBp) !== s.maxFailureBp) out.push(`max failure rate ${pct(Number(row.maxFailureBp) / 10_000)} -> ${pct(s.maxFailureBp / 10_000)}`);
  if (Number(row.minSample) !== s.minSample) out.push(`min sample ${row.minSample} -> ${s.minSample}`);
  if (Number(row.stuckAfter) !== s.stuckAfter) out.push(`stuck after ${row.stuckAfter} -> ${s.stuckAfter}`);
  return out.join('; ');
}

export type RolloutAction = 'pause' | 'resume' | 'promote' | 'abort';

/** `POST .../rollout/{pause,resume,promote,abort}` by an operator. */
export async function rolloutAction(
  services: Services,
  principal: Principal,
  versionId: string,
  action: RolloutAction,
  note: string | undefined,
  preconditions: Preconditions,
): Promise<{ rollout: Rollout; etag: string }> {
  const actor = actorOf(principal);
  const detail = note ?? null;
  const row = await transition(services, versionId, actor, preconditions, (row, h, now): Transition => {
    const share = wavePercent(row);
    const ended = row.state === 'completed' ? 'is completed' : row.state === 'aborted' ? 'was aborted' : null;
    switch (action) {
      case 'pause':
        if (row.state !== 'active') throw conflict(`the rollout of ${versionId} ${ended ?? 'is paused already'}`);
        return {
          patch: { state: 'paused', pausedReason: `paused by ${actor.name}${note ? `: ${note}` : ''}` },
          events: [{ kind: 'paused', fromPercent: share, toPercent: share, numbers: h.gate, detail }],
        };
      case 'resume':
        if (row.state !== 'paused') throw conflict(`the rollout of ${versionId} ${ended ?? 'is not paused'}`);
        // The gate judges the devices offered from now on, and the wave is held again from now.
        return {
          patch: { state: 'active', pausedReason: null, gateSince: now },
          events: [{ kind: 'resumed', fromPercent: share, toPercent: share, numbers: h.gate, detail }],
        };
      case 'promote': {
        if (row.state === 'paused') throw conflict(`the rollout of ${versionId} is paused; resume it first (ds rollout resume ${versionId})`);
        if (row.state !== 'active') throw conflict(`the rollout of ${versionId} ${ended}`);
        return moveTo(row, row.waveIndex + 1, now, 'promoted', h.gate, detail);
      }
      case 'abort':
        if (row.state !== 'active' && row.state !== 'paused') throw conflict(`the rollout of ${versionId} ${ended}`);
        return {
          patch: { state: 'aborted', pausedReason: null },
          events: [{ kind: 'aborted', fromPercent: row.state === 'active' ? share : 0, toPercent: 0, numbers: h.gate, detail }],
        };
    }
  });
  return view(services, row);
}

/** `GET .../rollout/history`: oldest first, a page at a time. */
export async function rolloutHistory(services: Services, versionId: string, page: PageQuery, viewer?: RolloutViewer): Promise<{ items: RolloutEvent[]; next: string | null }> {
  const cursor = decodeCursor(page.cursor);
  const afterSeq = cursor === undefined ? 0 : Number(cursor);
  if (!Number.isSafeInteger(afterSeq)) throw new AppError('VALIDATION_ERROR', 'cursor: is not a cursor this server issued');
  const rows = await repo.listEvents(services.db, versionId, { afterSeq, limit: page.limit + 1 });
  if (rows.length === 0 && afterSeq === 0 && !(await repo.findRollout(services.db, versionId))) {
    if (!(await findVersion(services.db, versionId))) throw notFound(`version ${versionId}`);
    throw notFound(`a rollout of ${versionId}`);
  }
  const { items, next } = pageOf(rows, page.limit, (r) => String(r.seq));
  const limited = (viewer?.organizationId ?? null) !== null;
  return { items: items.map(toEvent).map((e) => (limited ? limitedEvent(e) : e)), next };
}
