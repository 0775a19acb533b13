import type { Services } from '../context.js';
import { acquireLease, releaseLease } from '../counters/job-lock.js';
import type { Executor } from '../db/types.js';
import { iso } from '../lib/clock.js';
import { addDays, dayOf, firstDay, lastDay, monthOf } from '../lib/months.js';

// Adoption analytics (issue 13): how many devices run each version, per organization, label and
// OS, day by day. A snapshot of a day is what DS knew at the end of it: every device registered
// by then and seen (synced or registered) in the 30 days before, on the version and with the
// status it last reported. The scheduler takes yesterday's snapshot once (a lease, and the
// snapshot's marker row, make one DS process do it); today's is computed when asked for. Like the
// counters, a closed month keeps one row per key: its last snapshot (devices at the end of it).

export const ADOPTION_JOB = 'adoption.snapshot';
/** A device silent for longer than this is no longer counted as running its version. */
export const ADOPTION_ACTIVE_MS = 30 * 86_400_000;
const LEASE_MS = 5 * 60_000;
/** Rows per insert statement: 7 parameters each, well under SQLite's and PostgreSQL's limits. */
const INSERT_CHUNK = 500;

/** One row of a snapshot; see AdoptionDailyTable for the three levels. */
export interface AdoptionRow {
  organizationId: string;
  label: string;
  os: string;
  version: string;
  devices: number;
  errors: number;
}

/**
 * The adoption of `day` as DS knows it at `now` (the end of the day, or now for today): all three
 * levels. Reads devices, their labels and the labels' organizations; writes nothing.
 */
export async function computeAdoption(db: Executor, day: string, now: Date): Promise<AdoptionRow[]> {
  const endOfDay = `${addDays(day, 1)}T00:00:00.000Z`;
  // Up to now (included) for today; up to the end of the day (excluded) for a day that has ended.
  const [before, cut] = iso(now) < endOfDay ? (['<=', iso(now)] as const) : (['<', endOfDay] as const);
  const seenSince = iso(new Date(Date.parse(cut) - ADOPTION_ACTIVE_MS));
  const devices = () =>
    db
      .selectFrom('devices as d')
      .where('d.registeredAt', before, cut)
      .where((eb) => eb(eb.fn.coalesce('d.lastSyncAt', 'd.registeredAt'), '>=', seenSince));
  const counts = (eb: any) => [
    eb.fn.count('d.id').as('devices'),
    eb.fn.count(eb.case().when('d.status', '=', 'ERROR').then(eb.ref('d.id')).end()).as('errors'),
  ];
  const [all, organizations, labels] = await Promise.all([
    devices()
      .select((eb) => [eb.fn.coalesce('d.osName', eb.val('')).as('os'), 'd.version as version', ...counts(eb)])
      .groupBy(['d.osName', 'd.version'])
      .execute(),
    devices()
      .innerJoin(
        (eb) =>
          eb
            .selectFrom('deviceLabels as dl')
            .innerJoin('labels as l', 'l.name', 'dl.label')
            .where('dl.firstSeenAt', before, cut)
            .select(['dl.deviceId as deviceId', 'l.organizationId as organizationId'])
            .distinct()
            .as('k'),
        (join) => join.onRef('k.deviceId', '=', 'd.id'),
      )
      .select((eb) => ['k.organizationId as organizationId', eb.fn.coalesce('d.osName', eb.val('')).as('os'), 'd.version as version', ...counts(eb)])
      .groupBy(['k.organizationId', 'd.osName', 'd.version'])
      .execute(),
    devices()
      .innerJoin('deviceLabels as dl', 'dl.deviceId', 'd.id')
      .leftJoin('labels as l', 'l.name', 'dl.label')
      .where('dl.firstSeenAt', before, cut)
      .select((eb) => ['dl.label as label', 'l.organizationId as organizationId', eb.fn.coalesce('d.osName', eb.val('')).as('os'), 'd.version as version', ...counts(eb)])
      .groupBy(['dl.label', 'l.organizationId', 'd.osName', 'd.version'])
      .execute(),
  ]);
  const row = (r: any, organizationId: string | null, label: string): AdoptionRow => ({
    organizationId: organizationId ?? '',
    label,
    os: String(r.os ?? ''),
    version: String(r.version),
    devices: Number(r.devices),
    errors: Number(r.errors),
  });
  // A NULL OS and an empty one are the same key ('' is "unknown"): merge them.
  const merged = new Map<string, AdoptionRow>();
  for (const r of [...all.map((r) => row(r, '', '')), ...organizations.map((r) => row(r, r.organizationId as string, '')), ...labels.map((r) => row(r, (r.organizationId as string | null) ?? '', String(r.label)))]) {
    const key = JSON.stringify([r.organizationId, r.label, r.os, r.version]);
    const existing = merged.get(key);
    if (existing) {
      existing.devices += r.devices;
      existing.errors += r.errors;
    } else merged.set(key, r);
  }
  return [...merged.values()];
}

/**
 * Takes the snapshot of `day` (a day that has ended) unless one exists: its rows and its marker in
 * one transaction. Answers false when it existed (taken before, or by another DS process now).
 */
export async function takeSnapshot(services: Services, day: string): Promise<boolean> {
  const now = services.clock.now();
  return services.db.transaction().execute(async (trx) => {
    // A day of a month already flattened was taken: its marker went with the month's daily rows,
    // and taking it again would overwrite the month with a later count (each DS node's first check
    // on the 1st did, as e2e/multi-node.test.ts showed).
    const flattened = await trx.selectFrom('adoptionSnapshots').select('period').where('period', '=', day.slice(0, 7)).executeTakeFirst();
    if (flattened) return false;
    const rows = await computeAdoption(trx, day, now);
    const total = rows.filter((r) => r.organizationId === '' && r.label === '').reduce((sum, r) => sum + r.devices, 0);
    const marked = await trx
      .insertInto('adoptionSnapshots')
      .values({ period: day, takenAt: iso(now), devices: total })
      .onConflict((oc) => oc.column('period').doNothing())
      .executeTakeFirst();
    if (Number(marked.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await trx
        .insertInto('adoptionDaily')
        .values(rows.slice(i, i + INSERT_CHUNK).map((r) => ({ day, ...r })))
        .execute();
    }
    return true;
  });
}

/**
 * Flattens every closed month that still has daily rows into one row per key: the month's last
 * snapshot. Each month is one transaction (monthly rows and marker in, daily rows and markers out),
 * so a stop halfway leaves either the days or the month. Answers the months flattened.
 */
export async function flattenClosedMonths(services: Services): Promise<string[]> {
  const { db } = services;
  const current = monthOf(services.clock.now());
  const done: string[] = [];
  for (;;) {
    const first = await db.selectFrom('adoptionSnapshots').select('period').where('period', '<', firstDay(current)).where('period', 'like', '____-__-__').orderBy('period').limit(1).executeTakeFirst();
    if (!first) return done;
    const month = first.period.slice(0, 7);
    const range = [firstDay(month), lastDay(month)] as const;
    await db.transaction().execute(async (trx) => {
      const last = await trx
        .selectFrom('adoptionSnapshots')
        .select(['period', 'devices'])
        .where('period', '>=', range[0])
        .where('period', '<=', range[1])
        .orderBy('period', 'desc')
        .limit(1)
        .executeTakeFirstOrThrow();
      const rows = await trx.selectFrom('adoptionDaily').select(['organizationId', 'label', 'os', 'version', 'devices', 'errors']).where('day', '=', last.period).execute();
      await trx.deleteFrom('adoptionMonthly').where('month', '=', month).execute();
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await trx
          .insertInto('adoptionMonthly')
          .values(rows.slice(i, i + INSERT_CHUNK).map((r) => ({ month, ...r, devices: Number(r.devices), errors: Number(r.errors) })))
          .execute();
      }
      await trx
        .insertInto('adoptionSnapshots')
        .values({ period: month, takenAt: iso(services.clock.now()), devices: Number(last.devices) })
        .onConflict((oc) => oc.column('period').doUpdateSet({ takenAt: iso(services.clock.now()), devices: Number(last.devices) }))
        .execute();
      await trx.deleteFrom('adoptionDaily').where('day', '>=', range[0]).where('day', '<=', range[1]).execute();
      await trx.deleteFrom('adoptionSnapshots').where('period', '>=', range[0]).where('period', '<=', range[1]).execute();
    });
    done.push(month);
  }
}

/** The last day each Services' scheduler knows to be done: no query a minute once it is. */
const doneThrough = new WeakMap<Services, string>();

/**
 * The scheduler's adoption job: yesterday's snapshot when it has not been taken, then the
 * flattening of closed months. One DS process at a time (a lease); never throws (logged, and
 * tried again at the next tick).
 */
export async function runAdoptionJob(services: Services): Promise<void> {
  const yesterday = addDays(dayOf(services.clock.now()), -1);
  if (doneThrough.get(services) === yesterday) return;
  try {
    if (!(await acquireLease(services.db, ADOPTION_JOB, services.instanceId, services.clock.now(), LEASE_MS))) return;
    try {
      const taken = await takeSnapshot(services, yesterday);
      const flattened = await flattenClosedMonths(services);
      if (taken || flattened.length > 0) services.logger.info('adoption snapshot', { day: yesterday, taken, flattened });
      doneThrough.set(services, yesterday);
    } finally {
      await releaseLease(services.db, ADOPTION_JOB, services.instanceId);
    }
  } catch (error) {
    services.logger.error('adoption snapshot failed', { error: (error as Error).message });
  }
}
