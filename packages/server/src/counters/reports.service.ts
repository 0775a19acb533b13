import type {
  DeviceReportQuery,
  DeviceReportRow,
  DownloadReportQuery,
  DownloadReportRow,
  TransactionReportQuery,
  TransactionReportRow,
} from '@ds/shared';
import type { Services } from '../context.js';
import { AppError, notFound } from '../lib/errors.js';
import { addMonths, dayOf, firstDay, isRealDay, isRealMonth, lastDay, monthOf } from '../lib/months.js';
import { findOrganizationByName } from '../organizations/organizations.repository.js';
import { outsideOrganization, type Principal } from '../users/principal.js';
import * as repo from './reports.repository.js';

// The reports of API.md section 4, read by `ds report`, the admin API and the dashboard alike.

const isDay = (bound: string) => bound.length === 10;

/**
 * The organization a report is limited to: the caller's own when limited to one (naming another
 * is 403), else the one asked for (404 when unknown), else none.
 */
export async function reportOrganization(services: Services, principal: Principal, organization: string | undefined): Promise<string | undefined> {
  if (principal.organizationId !== null) {
    if (organization !== undefined && organization !== principal.organizationName) throw outsideOrganization();
    return principal.organizationId;
  }
  if (organization === undefined) return undefined;
  const org = await findOrganizationByName(services.db, organization);
  if (!org) throw notFound(`organization ${organization}`);
  return org.id;
}

function invalidBound(field: string, message: string): AppError {
  return new AppError('VALIDATION_ERROR', `${field}: ${message}`, { issues: [{ path: field, message }] });
}

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
  const filters: repo.CounterFilters = { organizationId, label: query.label, module: query.module, useCase: query.useCase };
  const timed = by.has('day') || by.has('month');
  const group: repo.CounterGrouping = {
    time: timed,
    organization: by.has('organization'),
    label: by.has('label'),
    module: by.has('module'),
    useCase: by.has('useCase'),
    device: by.has('device'),
  };

  const rows = new Map<string, TransactionReportRow>();
  const add = (sum: repo.CounterSum, month: string | undefined, day: string | null | undefined) => {
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
    for (const s of await repo.sumCounters(db, 'deviceCounters', { column: 'month', from: period.current, to: period.current }, filters, group)) add(s, period.current, undefined);
  } else {
    if (period.closed) {
      const { from, to } = period.closed;
      for (const s of await repo.sumCounters(db, monthly, { column: 'month', from, to }, filters, group)) add(s, s.time, null);
      // Daily rows of a closed month whose rollover has not run (or not finished) yet.
      for (const s of await repo.sumCounters(db, daily, { column: 'day', from: firstDay(from), to: lastDay(to) }, filters, group)) {
        add(s, s.time?.slice(0, 7), null);
      }
    }
    if (period.days) {
      for (const s of await repo.sumCounters(db, daily, { column: 'day', ...period.days }, filters, group)) add(s, s.time?.slice(0, 7) ?? period.current, s.time);
    }
  }
  return [...rows.values()].filter((r) => r.transactions !== 0).sort(byFields<TransactionReportRow>(DIMENSION_ORDER));
}

/** Orders report rows by these text fields, in turn (absent or null first). */
function byFields<T>(fields: readonly (keyof T)[]): (a: T, b: T) => number {
  return (a, b) => {
    for (const f of fields) {
      const x = (a[f] ?? '') as string;
      const y = (b[f] ?? '') as string;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };
}

/** Device counts by one dimension; stopped means silent for `staleIntervals` of its version's sync interval. */
export async function devicesReport(services: Services, principal: Principal, query: DeviceReportQuery): Promise<DeviceReportRow[]> {
  const organizationId = await reportOrganization(services, principal, query.organization);
  const now = services.clock.now();
  const versions = await services.db.selectFrom('versions').select('id').execute();
  const staleBefore = async (versionId: string) => {
    const { contextConfig } = await services.configCache.get(services.db, versionId);
    return new Date(now.getTime() - query.staleIntervals * contextConfig.syncIntervalSeconds * 1000).toISOString();
  };
  const byVersion = new Map<string, string>();
  for (const v of versions) byVersion.set(v.id, await staleBefore(v.id));
  // An unknown version syncs with the DS-wide defaults.
  const otherwise = await staleBefore('');
  return repo.deviceMetrics(services.db, { now, staleBefore: { byVersion, otherwise }, organizationId, label: query.label, by: query.by });
}

/** Installer downloads; they belong to no organization, so an organization-limited user gets 403. */
export async function downloadsReport(services: Services, principal: Principal, query: DownloadReportQuery): Promise<DownloadReportRow[]> {
  if (principal.organizationId !== null) throw new AppError('FORBIDDEN', 'downloads belong to no organization; this credential is limited to one');
  const today = dayOf(services.clock.now());
  const bound = (field: string, value: string | undefined, fallback: string, edge: 'first' | 'last') => {
    if (value === undefined) return fallback;
    if (isDay(value)) {
      if (!isRealDay(value)) throw invalidBound(field, `${value} is not a day`);
      return value;
    }
    if (!isRealMonth(value)) throw invalidBound(field, `${value} is not a month`);
    return edge === 'first' ? firstDay(value) : lastDay(value);
  };
  const from = bound('from', query.from, firstDay(today.slice(0, 7)), 'first');
  const to = bound('to', query.to, lastDay(today.slice(0, 7)), 'last');
  if (from > to) throw invalidBound('from', `${query.from ?? from} is after to (${query.to ?? to})`);
  const by = new Set(query.by);
  const sums = await repo.sumDownloads(
    services.db,
    { from, to },
    { os: query.os?.toUpperCase(), version: query.version },
    { day: by.has('day') || by.has('month'), os: by.has('os'), browser: by.has('browser'), version: by.has('version') },
  );
  const rows = new Map<string, DownloadReportRow>();
  for (const s of sums) {
    const row = {} as DownloadReportRow;
    if (by.has('month')) row.month = s.day!.slice(0, 7);
    if (by.has('day')) row.day = s.day!;
    if (by.has('os')) row.os = s.os!;
    if (by.has('browser')) row.browser = s.browser ?? null;
    if (by.has('version')) row.version = s.version!;
    const key = JSON.stringify([row.month, row.day, row.os, row.browser, row.version]);
    const existing = rows.get(key) ?? rows.set(key, Object.assign(row, { downloads: 0, completed: 0, bytes: 0 })).get(key)!;
    existing.downloads += s.downloads;
    existing.completed += s.completed;
    existing.bytes += s.bytes;
  }
  return [...rows.values()].sort(byFields<DownloadReportRow>(['month', 'day', 'os', 'browser', 'version']));
}
