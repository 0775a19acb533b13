import type { TransactionReportQuery, TransactionReportRow } from '@ds/shared';
import { sql, type ExpressionBuilder, type SelectQueryBuilder } from 'kysely';
import type { Services } from '../context.js';
import type { Executor } from '../db/types.js';
import { addMonths, firstDay, isRealDay, isRealMonth, lastDay, monthOf } from '../lib/months.js';
import type { Principal } from '../users/principal.js';
import { byFields, invalidBound, isDay, reportOrganization } from './scope.js';

// The transactions report (the billing export): the current month from the daily label rows,
// earlier months from the archived month rows, per device for the current month only. Each query
// groups in SQL by exactly the dimensions asked for, so a report reads indexes and returns few rows.

/** The period of a transactions report, split into closed months and days of the current month. */
export interface TransactionPeriod {
  current: string;
  /** Closed months [from, to], or null when the period has none. */
  closed: { from: string; to: string } | null;
  /** Days of the current month [from, to], or null. */
  days: { from: string; to: string } | null;
}

export function transactionPeriod(query: Pick<TransactionReportQuery, 'from' | 'to'>, now: Date): TransactionPeriod {
  const current = monthOf(now);
  const check = (field: 'from' | 'to', bound: string | undefined) => {
    if (bound === undefined) return;
    if (isDay(bound)) {
      if (!isRealDay(bound)) throw invalidBound(field, `${bound} is not a day`);
      if (bound.slice(0, 7) > current) throw invalidBound(field, `${bound} is after the current month (${current}); nothing is counted there yet`);
      if (bound.slice(0, 7) < current) {
        throw invalidBound(field, `${bound} is not in the current month (${current}); earlier months are kept per month: use ${bound.slice(0, 7)}`);
      }
    } else if (!isRealMonth(bound)) throw invalidBound(field, `${bound} is not a month`);
  };
  check('from', query.from);
  check('to', query.to);
  const from = query.from ?? current;
  const to = query.to ?? current;
  const fromMonth = from.slice(0, 7);
  const toMonth = to.slice(0, 7);
  if ((isDay(from) ? from : firstDay(fromMonth)) > (isDay(to) ? to : lastDay(toMonth))) throw invalidBound('from', `${from} is after to (${to})`);
  const previous = addMonths(current, -1);
  const closed = fromMonth <= previous ? { from: fromMonth, to: toMonth < previous ? toMonth : previous } : null;
  const days = fromMonth <= current && toMonth >= current ? { from: isDay(from) ? from : firstDay(current), to: isDay(to) ? to : lastDay(current) } : null;
  return { current, closed, days };
}

const DIMENSION_ORDER = ['month', 'day', 'organization', 'label', 'module', 'useCase', 'device'] as const;

/**
 * Transactions summed by the dimensions asked for. The current month comes from the daily label
 * rows, earlier months from the archived month rows plus any daily rows a rollover has not moved
 * yet; per device, the current month only.
 */
export async function transactionsReport(services: Services, principal: Principal, query: TransactionReportQuery): Promise<TransactionReportRow[]> {
  const period = transactionPeriod(query, services.clock.now());
  const by = new Set(query.by);
  if (by.has('device')) {
    if (period.closed) throw invalidBound('by', `device: per-device counters are kept for the current month only (${period.current}); set from to ${period.current}`);
    if (by.has('day') || (query.from !== undefined && isDay(query.from)) || (query.to !== undefined && isDay(query.to))) {
      throw invalidBound('by', 'device: per-device counters are kept per month, not per day; report by month or drop the days from from/to');
    }
  }
  const organizationId = await reportOrganization(services, principal, query.organization);
  const filters: CounterFilters = { organizationId, label: query.label, module: query.module, useCase: query.useCase };
  const timed = by.has('day') || by.has('month');
  const group: CounterGrouping = {
    time: timed,
    organization: by.has('organization'),
    label: by.has('label'),
    module: by.has('module'),
    useCase: by.has('useCase'),
    device: by.has('device'),
  };

  const rows = new Map<string, TransactionReportRow>();
  const add = (sum: CounterSum, month: string | undefined, day: string | null | undefined) => {
    // The dimensions first, in report order, then the sum (JSON readers see the same order as CSV).
    const row = {} as TransactionReportRow;
    if (timed) row.month = month!;
    if (by.has('day')) row.day = day ?? null;
    if (group.organization) row.organization = sum.organization ?? null;
    if (group.label) row.label = sum.label!;
    if (group.module) row.module = sum.module!;
    if (group.useCase) row.useCase = sum.useCase!;
    if (group.device) row.device = sum.device!;
    const key = JSON.stringify(DIMENSION_ORDER.map((d) => row[d]));
    const existing = rows.get(key);
    if (existing) existing.transactions += sum.transactions;
    else rows.set(key, Object.assign(row, { transactions: sum.transactions }));
  };

  const db = services.db;
  // Reports that neither split nor filter by module or use case read the per-label totals: a few
  // rows per label and day instead of one per module and use case.
  const detail = group.module || group.useCase || query.module !== undefined || query.useCase !== undefined;
  const daily = detail ? 'labelDailyCounters' : 'labelDailyTotals';
  const monthly = detail ? 'labelMonthlyCounters' : 'labelMonthlyTotals';
  if (group.device) {
    for (const s of await sumCounters(db, 'deviceCounters', { column: 'month', from: period.current, to: period.current }, filters, group)) add(s, period.current, undefined);
  } else {
    if (period.closed) {
      const { from, to } = period.closed;
      for (const s of await sumCounters(db, monthly, { column: 'month', from, to }, filters, group)) add(s, s.time, null);
      // Daily rows of a closed month whose rollover has not run (or not finished) yet.
      for (const s of await sumCounters(db, daily, { column: 'day', from: firstDay(from), to: lastDay(to) }, filters, group)) {
        add(s, s.time?.slice(0, 7), null);
      }
    }
    if (period.days) {
      for (const s of await sumCounters(db, daily, { column: 'day', ...period.days }, filters, group)) add(s, s.time?.slice(0, 7) ?? period.current, s.time);
    }
  }
  return [...rows.values()].filter((r) => r.transactions !== 0).sort(byFields<TransactionReportRow>(DIMENSION_ORDER));
}

export interface CounterFilters {
  organizationId?: string | undefined;
  label?: string | undefined;
  module?: string | undefined;
  useCase?: string | undefined;
}

/** Which columns a counter query groups by. */
export interface CounterGrouping {
  time: boolean;
  organization: boolean;
  label: boolean;
  module: boolean;
  useCase: boolean;
  device: boolean;
}

export interface CounterSum {
  time?: string;
  organization?: string | null;
  label?: string;
  module?: string;
  useCase?: string;
  device?: string;
  transactions: number;
}

/** Per-label totals have no module or use case: only for reports that neither split nor filter by them. */
type CounterTable = 'labelDailyCounters' | 'labelMonthlyCounters' | 'labelDailyTotals' | 'labelMonthlyTotals' | 'deviceCounters';

/**
 * Sums one counter table. `time` is the table's day or month column, restricted to [from, to];
 * organization is the one the transactions were counted for (bound in the row when they were
 * counted, never looked up by label name now); null for unattributed rows and for an organization
 * deleted since. A filter by organization never includes unattributed rows.
 */
export async function sumCounters(
  db: Executor,
  table: CounterTable,
  range: { column: 'day' | 'month'; from: string; to: string },
  filters: CounterFilters,
  group: CounterGrouping,
): Promise<CounterSum[]> {
  const t = 'c';
  let q = (db as Executor).selectFrom(`${table} as ${t}` as 'labelDailyCounters as c') as unknown as SelectQueryBuilder<any, any, any>;
  if (group.organization) q = q.leftJoin('organizations as o', 'o.id', 'c.organizationId');
  q = q.where(`c.${range.column}`, '>=', range.from).where(`c.${range.column}`, '<=', range.to);
  if (filters.organizationId !== undefined) q = q.where('c.organizationId', '=', filters.organizationId);
  if (filters.label !== undefined) q = q.where('c.label', '=', filters.label);
  if (filters.module !== undefined) q = q.where('c.module', '=', filters.module);
  if (filters.useCase !== undefined) q = q.where('c.useCase', '=', filters.useCase);
  const columns: [string, string][] = [];
  if (group.time) columns.push([`c.${range.column}`, 'time']);
  if (group.organization) columns.push(['o.name', 'organization']);
  if (group.label) columns.push(['c.label', 'label']);
  if (group.module) columns.push(['c.module', 'module']);
  if (group.useCase) columns.push(['c.useCase', 'useCase']);
  if (group.device) columns.push(['c.deviceId', 'device']);
  q = q.select((eb: ExpressionBuilder<any, any>) => [
    ...columns.map(([ref, as]) => eb.ref(ref).as(as)),
    eb.fn.sum<number>('c.counter').as('transactions'),
  ]);
  if (columns.length > 0) q = q.groupBy(columns.map(([ref]) => ref));
  if (table === 'deviceCounters') q = q.having(sql`sum(c.counter)`, '>', 0);
  const rows = (await q.execute()) as CounterSum[];
  return rows.map((r) => ({ ...r, transactions: Number(r.transactions) }));
}
