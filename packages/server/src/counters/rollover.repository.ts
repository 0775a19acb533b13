import { sql, type Expression, type ExpressionBuilder, type Kysely, type OnConflictBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { DatabaseKind } from '../db/database.js';
import type { Executor } from '../db/types.js';

/**
 * A pair of tables the rollover moves between: the daily rows (key columns, then `day`) and the
 * archived month rows (the same key columns, then `month`).
 */
interface Archive {
  daily: 'labelDailyCounters' | 'labelDailyTotals';
  monthly: 'labelMonthlyCounters' | 'labelMonthlyTotals';
  key: readonly string[];
}

/**
 * Per (organization, label, module, use case): the rows the reports split by module or use case
 * read. The organization the rows were counted for is part of the key, so a month is archived
 * to the organization its days were counted for.
 */
export const DETAIL: Archive = { daily: 'labelDailyCounters', monthly: 'labelMonthlyCounters', key: ['organizationId', 'label', 'module', 'useCase'] };
/** Per (organization, label): the rows every other report reads. */
export const TOTALS: Archive = { daily: 'labelDailyTotals', monthly: 'labelMonthlyTotals', key: ['organizationId', 'label'] };

/** A position in the primary-key order of a daily table: its key columns, then the day. */
export type DailyKey = string[];

/**
 * The daily rows of `month` with keys in (after, upTo]. The bounds are on the primary key alone,
 * so SQLite walks just that stretch of the (clustered) table; the month is a filter it cannot
 * take an index for (a bound on `day` would make it walk the month in day order instead, through
 * rows spread all over the table).
 */
function batchRange(archive: Archive, month: string, after: DailyKey | undefined, upTo: DailyKey | undefined) {
  return (eb: ExpressionBuilder<any, any>): Expression<SqlBool> => {
    const columns = [...archive.key, 'day'];
    const key = eb.refTuple(...(columns as [string, string]));
    const conditions = [eb(eb.fn<string>('substr', ['day', sql.lit(1), sql.lit(7)]), '=', month)];
    if (after) conditions.push(eb(key, '>', eb.tuple(...(after as [string, string]))));
    if (upTo) conditions.push(eb(key, '<=', eb.tuple(...(upTo as [string, string]))));
    return eb.and(conditions);
  };
}

/**
 * The key `size` daily rows after `after` in primary-key order (rows of any month): the end of
 * the next batch, or undefined when fewer are left (the last batch takes them all).
 */
export async function dailyBatchEnd(db: Executor, archive: Archive, after: DailyKey | undefined, size: number): Promise<DailyKey | undefined> {
  const columns = [...archive.key, 'day'];
  let q = (db as Kysely<any>).selectFrom(archive.daily).select(columns);
  if (after) q = q.where((eb) => eb(eb.refTuple(...(columns as [string, string])), '>', eb.tuple(...(after as [string, string]))));
  for (const c of columns) q = q.orderBy(c);
  const row = await q.limit(1).offset(size - 1).executeTakeFirst();
  return row ? columns.map((c) => row[c] as string) : undefined;
}

/**
 * Moves the daily rows of `month` with keys in (after, upTo] into its archived rows, adding to
 * what is there, and deletes them. Call inside a transaction; answers how many daily rows were
 * moved. On PostgreSQL the rows moved are exactly the rows deleted (one statement, DELETE ...
 * RETURNING feeding the INSERT), so a concurrent writer can never slip a row in between; SQLite
 * has one writer at a time, so the INSERT ... SELECT and the DELETE see the same rows.
 */
export async function moveDailyRows(trx: Executor, kind: DatabaseKind, archive: Archive, month: string, after: DailyKey | undefined, upTo: DailyKey | undefined): Promise<number> {
  const db = trx as Kysely<any>;
  const range = batchRange(archive, month, after, upTo);
  // The count is for the record only; the rows moved are decided by the statements below.
  const counted = await db.selectFrom(archive.daily).select((eb) => eb.fn.countAll<number>().as('n')).where(range).executeTakeFirstOrThrow();
  if (Number(counted.n) === 0) return 0;
  const columns = [...archive.key, 'month', 'counter'];
  const sums = (source: SelectQueryBuilder<any, any, any>) =>
    source.select((eb) => [...archive.key, eb.val(month).as('month'), eb.fn.sum('counter').as('counter')]).groupBy([...archive.key]);
  const addToArchive = (oc: OnConflictBuilder<any, any>) =>
    oc.columns([...archive.key, 'month']).doUpdateSet((eb) => ({
      counter: sql<number>`${eb.ref(`${archive.monthly}.counter`)} + ${eb.ref('excluded.counter')}`,
    }));
  if (kind === 'postgres') {
    // The archived rows are added in the order syncs add theirs (devices.service.ts: by label,
    // module and use case, as JavaScript compares them, which the "C" collation matches for these
    // names), so a sync counting a late transaction of this month and the rollover lock shared rows
    // in one order and cannot deadlock.
    const keyOrder = [...archive.key.filter((c) => c !== 'organizationId').map((c) => sql`${sql.ref(c)} collate "C"`), sql.ref('organizationId')];
    await db
      .with('moved', (d) => d.deleteFrom(archive.daily).where(range).returning([...archive.key, 'counter']))
      .insertInto(archive.monthly)
      .columns(columns)
      .expression((d) => keyOrder.reduce((q, c) => q.orderBy(c), sums(d.selectFrom('moved'))))
      .onConflict(addToArchive)
      .execute();
  } else {
    await db
      .insertInto(archive.monthly)
      .columns(columns)
      .expression((d) => sums(d.selectFrom(archive.daily).where(range)))
      .onConflict(addToArchive)
      .execute();
    await db.deleteFrom(archive.daily).where(range).execute();
  }
  return Number(counted.n);
}

/** The first day in [from, until) that has daily rows (detail or totals), if any. */
export async function firstDailyDayIn(db: Executor, from: string, until: string): Promise<string | undefined> {
  const days: string[] = [];
  for (const table of [DETAIL.daily, TOTALS.daily]) {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.min<string>('day').as('day'))
      .where('day', '>=', from)
      .where('day', '<', until)
      .executeTakeFirst();
    if (row?.day) days.push(row.day);
  }
  return days.sort()[0];
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
