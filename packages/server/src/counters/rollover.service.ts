import type { RolloverResult } from '@ds/shared';
import { recordEvent } from '../audit/audit.service.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Transaction } from 'kysely';
import type { Services } from '../context.js';
import type { Database } from '../db/types.js';
import { AppError } from '../lib/errors.js';
import { iso } from '../lib/clock.js';
import { addMonths, firstDay, monthOf } from '../lib/months.js';
import { acquireLease, releaseLease, renewLease } from './job-lock.js';
import * as repo from './rollover.repository.js';

export const ROLLOVER_JOB = 'counters.rollover';
/** A holder that stops renewing (killed, hung) loses the job after this long. */
const LEASE_MS = 60_000;

export interface RolloverOptions {
  /** Rows per database transaction (default 50,000, about 0.2 s on SQLite): each batch holds the write lock only briefly. */
  batchSize?: number;
  /** Milliseconds between batches; default a third of the batch's time, from 20 to 100. */
  pauseMs?: number;
  /** Called after each batch (benchmarks measure progress; tests stop a rollover midway). */
  onBatch?: (progress: { month: string; phase: 'labels' | 'devices'; rows: number }) => void | Promise<void>;
}

/**
 * The months a rollover without `--month` works on: every closed month that still has daily label
 * rows, and the month that just ended until its rollover has completed once. Every DS process asks
 * each minute; once the last month is done and no rollover is unfinished, that is one small query.
 */
export async function pendingMonths(services: Services): Promise<string[]> {
  const current = monthOf(services.clock.now());
  const previous = addMonths(current, -1);
  const months = new Set<string>();
  const unfinished = await services.db
    .selectFrom('counterRollovers')
    .select(['month', 'completedAt'])
    .where((eb) => eb.or([eb('month', '=', previous), eb('completedAt', 'is', null)]))
    .execute();
  const previousDone = unfinished.some((r) => r.month === previous && r.completedAt !== null);
  // No transaction of a closed month is written to daily rows, so with the last month rolled over
  // and no rollover stopped midway there is nothing left to find.
  if (previousDone && unfinished.every((r) => r.completedAt !== null)) return [];
  if (!previousDone) months.add(previous);
  // Closed months that still have daily rows (a rollover never run, or stopped midway).
  for (let from = ''; ; ) {
    const day = await repo.firstDailyDayIn(services.db, from, firstDay(current));
    if (!day) break;
    months.add(day.slice(0, 7));
    from = firstDay(addMonths(day.slice(0, 7), 1));
  }
  return [...months].sort();
}

/**
 * Rolls over the given closed month, or every pending one: daily label rows become archived month
 * rows, per-device rows of the month are reset and older ones deleted. Takes the rollover lease
 * first: when another DS process holds it, throws CONFLICT (the scheduler just tries later).
 * Every batch is one transaction that moves rows (adds to the archive and deletes the daily rows
 * it added), so a run stopped anywhere leaves every transaction counted once, and the next run
 * finishes the month.
 */
export async function rollover(services: Services, month: string | undefined, options: RolloverOptions = {}): Promise<RolloverResult[]> {
  const current = monthOf(services.clock.now());
  if (month !== undefined && month >= current) {
    throw new AppError('VALIDATION_ERROR', `month: ${month} has not ended yet (the current month is ${current}); only closed months can be rolled over`);
  }
  const holder = services.instanceId;
  if (!(await acquireLease(services.db, ROLLOVER_JOB, holder, services.clock.now(), LEASE_MS))) {
    const lock = await services.db.selectFrom('jobLocks').selectAll().where('name', '=', ROLLOVER_JOB).executeTakeFirst();
    throw new AppError('CONFLICT', `another DS process (${lock?.holder ?? 'unknown'}) is rolling over the counters until ${lock?.expiresAt ?? 'soon'}; try again later`);
  }
  try {
    const months = month !== undefined ? [month] : await pendingMonths(services);
    const results: RolloverResult[] = [];
    for (const m of months) {
      try {
        results.push(await rolloverMonth(services, m, holder, options));
      } catch (error) {
        services.metrics.rollovers.inc({ result: 'failed' });
        throw error;
      }
      services.metrics.rollovers.inc({ result: 'completed' });
    }
    return results;
  } finally {
    await releaseLease(services.db, ROLLOVER_JOB, holder);
  }
}

async function rolloverMonth(services: Services, month: string, holder: string, options: RolloverOptions): Promise<RolloverResult> {
  const { db, clock } = services;
  const batchSize = options.batchSize ?? 50_000;
  await db
    .insertInto('counterRollovers')
    .values({ month, startedAt: iso(clock.now()) })
    .onConflict((oc) => oc.column('month').doNothing())
    .execute();
  const keepLease = async () => {
    if (!(await renewLease(db, ROLLOVER_JOB, holder, clock.now(), LEASE_MS))) {
      throw new AppError('CONFLICT', 'the rollover lease was lost to another DS process; it will finish the month');
    }
  };

  /**
   * Runs `apply` on consecutive key ranges of about `batchSize` rows, each in its own transaction,
   * then pauses: a writer of another DS process waiting on SQLite's lock polls with a backoff of up
   * to 100 ms and would keep missing a lock released only between two statements.
   */
  const inBatches = async <K>(phase: 'labels' | 'devices', nextEnd: (after: K | undefined) => Promise<K | undefined>, apply: (trx: Transaction<Database>, after: K | undefined, upTo: K | undefined) => Promise<number>) => {
    let total = 0;
    let after: K | undefined;
    for (;;) {
      const started = performance.now();
      const upTo = await nextEnd(after);
      const rows = await db.transaction().execute((trx) => apply(trx, after, upTo));
      total += rows;
      if (rows > 0) services.metrics.rolloverRows.inc({ phase }, rows);
      await options.onBatch?.({ month, phase, rows });
      if (upTo === undefined) return total;
      after = upTo;
      await keepLease();
      const pause = options.pauseMs ?? Math.min(100, Math.max(20, (performance.now() - started) / 3));
      if (pause > 0) await sleep(pause);
    }
  };

  // The per-label totals move like the detail rows; each move keeps its own sums whole, so a
  // report reads the same from either at any moment.
  const archive = (table: typeof repo.DETAIL, record: boolean) =>
    inBatches<repo.DailyKey>(
      'labels',
      (after) => repo.dailyBatchEnd(db, table, after, batchSize),
      async (trx, after, upTo) => {
        const n = await repo.moveDailyRows(trx, services.database.kind, table, month, after, upTo);
        if (n > 0 && record) {
          await trx
            .updateTable('counterRollovers')
            .set((eb) => ({ dailyRowsArchived: eb('dailyRowsArchived', '+', n) }))
            .where('month', '=', month)
            .execute();
        }
        return n;
      },
    );
  const archived = await archive(repo.DETAIL, true);
  await archive(repo.TOTALS, false);

  // Per device: rows last updated before this month go, rows of this month start again from zero.
  // Rows a sync already moved to a later month are not touched.
  let reset = 0;
  let deleted = 0;
  await inBatches<string>(
    'devices',
    (after) => repo.deviceBatchEnd(db, after, batchSize),
    async (trx, after, upTo) => {
      const r = await repo.resetDeviceRows(trx, month, after, upTo);
      if (r.reset + r.deleted > 0) {
        await trx
          .updateTable('counterRollovers')
          .set((eb) => ({ deviceRowsReset: eb('deviceRowsReset', '+', r.reset), deviceRowsDeleted: eb('deviceRowsDeleted', '+', r.deleted) }))
          .where('month', '=', month)
          .execute();
      }
      reset += r.reset;
      deleted += r.deleted;
      return r.reset + r.deleted;
    },
  );

  const completedAt = iso(clock.now());
  const record = await db.transaction().execute(async (trx) => {
    const done = await trx.updateTable('counterRollovers').set({ completedAt }).where('month', '=', month).where('completedAt', 'is', null).executeTakeFirst();
    const row = await trx.selectFrom('counterRollovers').selectAll().where('month', '=', month).executeTakeFirstOrThrow();
    // `rollover.done` once per month: only the run that completes it records it (and tells webhooks).
    if (Number(done.numUpdatedRows) > 0) {
      await recordEvent(services, trx, {
        action: 'rollover.done',
        resourceType: 'rollover',
        resourceId: month,
        after: {
          month,
          startedAt: row.startedAt,
          completedAt: row.completedAt,
          dailyRowsArchived: Number(row.dailyRowsArchived),
          deviceRowsReset: Number(row.deviceRowsReset),
          deviceRowsDeleted: Number(row.deviceRowsDeleted),
        },
        always: true,
      });
    }
    return row;
  });
  if (archived + reset + deleted > 0) services.logger.info('counters rolled over', { month, dailyRowsArchived: archived, deviceRowsReset: reset, deviceRowsDeleted: deleted });
  return { month, dailyRowsArchived: archived, deviceRowsReset: reset, deviceRowsDeleted: deleted, completedAt: record.completedAt ?? completedAt };
}
