import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { DatabaseKind } from '../db/database.js';
import type { Database, Executor } from '../db/types.js';

/** A position in the primary-key order of `label_daily_counters`: label, module, use case, day. */
export type DailyKey = [label: string, module: string, useCase: string, day: string];

const DAILY_KEY = ['label', 'module', 'useCase', 'day'] as const;

/**
 * The daily rows of `month` with keys in (after, upTo]. The bounds are on the primary key alone,
 * so SQLite walks just that stretch of the (clustered) table; the month is a filter it cannot
 * take an index for (a bound on `day` would make it walk the month in day order instead, through
 * rows spread all over the table).
 */
function batchRange(eb: ExpressionBuilder<Database, 'labelDailyCounters'>, month: string, after: DailyKey | undefined, upTo: DailyKey | undefined) {
  const key = eb.refTuple(...DAILY_KEY);
  const conditions = [eb(eb.fn<string>('substr', ['day', sql.lit(1), sql.lit(7)]), '=', month)];
  if (after) conditions.push(eb(key, '>', eb.tuple(...after)));
  if (upTo) conditions.push(eb(key, '<=', eb.tuple(...upTo)));
  return eb.and(conditions);
}

/**
 * The key `size` daily rows after `after` in primary-key order (rows of any month): the end of
 * the next batch, or undefined when fewer are left (the last batch takes them all).
 */
export async function dailyBatchEnd(db: Executor, after: DailyKey | undefined, size: number): Promise<DailyKey | undefined> {
  const row = await db
    .selectFrom('labelDailyCounters')
    .select([...DAILY_KEY])
    .$if(after !== undefined, (q) => q.where((eb) => eb(eb.refTuple(...DAILY_KEY), '>', eb.tuple(...after!))))
    .orderBy('label')
    .orderBy('module')
    .orderBy('useCase')
    .orderBy('day')
    .limit(1)
    .offset(size - 1)
    .executeTakeFirst();
  return row ? [row.label, row.module, row.useCase, row.day] : undefined;
}

/**
 * Moves the daily rows of `month` with keys in (after, upTo] into its archived rows, adding to what is there, and deletes them. Call inside a transaction; answers
 * how many daily rows were moved. On PostgreSQL the rows moved are exactly the rows deleted (one
 * statement, DELETE ... RETURNING feeding the INSERT), so a concurrent writer can never slip a row
 * in between; SQLite has one writer at a time, so the INSERT ... SELECT and the DELETE see the same rows.
 */
export async function moveDailyRows(trx: Executor, kind: DatabaseKind, month: string, after: DailyKey | undefined, upTo: DailyKey | undefined): Promise<number> {
  const range = (eb: any): Expression<SqlBool> => batchRange(eb, month, after, upTo);
  const addToArchive = (oc: any) =>
    oc.columns(['label', 'module', 'useCase', 'month']).doUpdateSet((eb: any) => ({
      counter: sql<number>`${eb.ref('labelMonthlyCounters.counter')} + ${eb.ref('excluded.counter')}`,
    }));
  // The count is for the record only; the rows moved are decided by the statements below.
  const counted = await trx.selectFrom('labelDailyCounters').select((eb) => eb.fn.countAll<number>().as('n')).where(range).executeTakeFirstOrThrow();
  if (Number(counted.n) === 0) return 0;
  const sumByKey = (from: 'moved' | 'labelDailyCounters') => (db: any) =>
    db
      .selectFrom(from)
      .select((eb: any) => ['label', 'module', 'useCase', eb.val(month).as('month'), eb.fn.sum('counter').as('counter')])
      .$if(from === 'labelDailyCounters', (q: any) => q.where(range))
      .groupBy(['label', 'module', 'useCase']);
  if (kind === 'postgres') {
    await trx
      .with('moved', (db) => db.deleteFrom('labelDailyCounters').where(range).returning(['label', 'module', 'useCase', 'counter']))
      .insertInto('labelMonthlyCounters')
      .columns(['label', 'module', 'useCase', 'month', 'counter'])
      .expression(sumByKey('moved'))
      .onConflict(addToArchive)
      .execute();
  } else {
    await trx
      .insertInto('labelMonthlyCounters')
      .columns(['label', 'module', 'useCase', 'month', 'counter'])
      .expression(sumByKey('labelDailyCounters'))
      .onConflict(addToArchive)
      .execute();
    await trx.deleteFrom('labelDailyCounters').where(range).execute();
  }
  return Number(counted.n);
}

/** The first day in [from, until) that has daily rows, if any. */
export async function firstDailyDayIn(db: Executor, from: string, until: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('labelDailyCounters')
    .select((eb) => eb.fn.min<string>('day').as('day'))
    .where('day', '>=', from)
    .where('day', '<', until)
    .executeTakeFirst();
  return row?.day ?? undefined;
}

/** The device id `size` rows after `after` in key order: the end of the next batch. */
export async function deviceBatchEnd(db: Executor, after: string | undefined, size: number): Promise<string | undefined> {
  const row = await db
    .selectFrom('deviceCounters')
    .select('deviceId')
    .$if(after !== undefined, (q) => q.where('deviceId', '>', after!))
    .orderBy('deviceId')
    .limit(1)
    .offset(size - 1)
    .executeTakeFirst();
  return row?.deviceId;
}

/**
 * For the devices in (after, upTo]: deletes the rows not updated during `month` (their month is
 * older) and sets the rows of `month` to zero for the month after it.
 */
export async function resetDeviceRows(trx: Executor, month: string, after: string | undefined, upTo: string | undefined): Promise<{ reset: number; deleted: number }> {
  const inRange = <Q extends { where: (...args: any[]) => Q }>(q: Q): Q => {
    let out = q;
    if (after !== undefined) out = out.where('deviceId', '>', after);
    if (upTo !== undefined) out = out.where('deviceId', '<=', upTo);
    return out;
  };
  const deleted = await inRange(trx.deleteFrom('deviceCounters').where('month', '<', month)).executeTakeFirst();
  const reset = await inRange(trx.updateTable('deviceCounters').set({ counter: 0 }).where('month', '=', month).where('counter', '<>', 0)).executeTakeFirst();
  return { reset: Number(reset.numUpdatedRows), deleted: Number(deleted.numDeletedRows) };
}
