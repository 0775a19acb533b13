import {
  DeviceReportQuerySchema,
  DownloadReportQuerySchema,
  TransactionReportQuerySchema,
  type DeviceDimension,
  type DeviceReportRow,
  type DownloadReportRow,
  type TransactionDimension,
  type TransactionReportQuery,
  type TransactionReportRow,
} from '@ds/shared';
import type { Services } from '../context.js';
import { devicesReport } from '../reports/devices.js';
import { downloadsReport } from '../reports/downloads.js';
import { transactionsReport } from '../reports/transactions.js';
import { listLabels } from '../labels/labels.service.js';
import { addDays, addMonths, dayOf, firstDay, monthOf, monthOfDay, monthsBetween } from '../lib/months.js';
import { validationError } from '../lib/validate.js';
import { listOrganizations } from '../organizations/organizations.service.js';
import type { Principal } from '../users/principal.js';
import { latestVersion } from '../versions/versions.repository.js';

// What the dashboard pages show, read through the same report services as `ds report` and the
// admin API: this module only chooses the queries and arranges the answers.

/** Downloads belong to no organization, so only principals that see all of DS see them. */
export const seesDownloads = (principal: Principal) => principal.organizationId === null;

/** How many months the dashboard looks back by default: this one and the eleven before it. */
export const MONTHS_SHOWN = 12;

export interface Overview {
  currentMonth: string;
  previousMonth: string;
  devices: DeviceReportRow;
  latestVersion: string | null;
  /** Devices per version, most used first; `latest` marks the latest allowed version. */
  versions: { version: string; devices: number; latest: boolean; allowed: boolean }[];
  onLatest: number;
  transactionsThisMonth: number;
  transactionsLastMonth: number;
  /** The last {@link MONTHS_SHOWN} months, oldest first, this one included. */
  transactionsByMonth: { month: string; transactions: number }[];
  /** null when the principal may not see downloads. */
  downloadsThisMonth: number | null;
}

const sum = <T>(rows: readonly T[], value: (row: T) => number) => rows.reduce((total, row) => total + value(row), 0);

const EMPTY_DEVICES: DeviceReportRow = { devices: 0, active24h: 0, active30d: 0, active7d: 0, stopped: 0, notAllowed: 0, dailyLimited: 0 };

function devicesBy(services: Services, principal: Principal, by: DeviceDimension | undefined, organization: string | undefined) {
  return devicesReport(services, principal, DeviceReportQuerySchema.parse({ ...(by ? { by } : {}), ...(organization ? { organization } : {}) }));
}

export async function overview(services: Services, principal: Principal, organization: string | undefined): Promise<Overview> {
  const currentMonth = monthOf(services.clock.now());
  const previousMonth = addMonths(currentMonth, -1);
  const [totals, byVersion, transactions, downloads, latest] = await Promise.all([
    devicesBy(services, principal, undefined, organization),
    devicesBy(services, principal, 'version', organization),
    transactionsReport(
      services,
      principal,
      TransactionReportQuerySchema.parse({ from: addMonths(currentMonth, 1 - MONTHS_SHOWN), to: currentMonth, by: 'month', ...(organization ? { organization } : {}) }),
    ),
    seesDownloads(principal)
      ? downloadsReport(services, principal, DownloadReportQuerySchema.parse({ from: currentMonth, to: currentMonth, by: 'month' }))
      : Promise.resolve(null),
    latestVersion(services.db, { allowedOnly: true }),
  ]);
  const devices = totals[0] ?? EMPTY_DEVICES;
  const versions = byVersion
    .filter((row) => row.devices > 0)
    .map((row) => ({
      version: row.key ?? '(unknown)',
      devices: row.devices,
      latest: latest !== undefined && row.key === latest.id,
      allowed: row.notAllowed === 0,
    }))
    .sort((a, b) => b.devices - a.devices || a.version.localeCompare(b.version));
  return {
    currentMonth,
    previousMonth,
    devices,
    latestVersion: latest?.id ?? null,
    versions,
    onLatest: sum(versions.filter((v) => v.latest), (v) => v.devices),
    transactionsThisMonth: sum(transactions.filter((r) => r.month === currentMonth), (r) => r.transactions),
    transactionsLastMonth: sum(transactions.filter((r) => r.month === previousMonth), (r) => r.transactions),
    transactionsByMonth: monthsBetween(addMonths(currentMonth, 1 - MONTHS_SHOWN), currentMonth).map((month) => ({
      month,
      transactions: sum(transactions.filter((r) => r.month === month), (r) => r.transactions),
    })),
    downloadsThisMonth: downloads === null ? null : sum(downloads, (r) => r.downloads),
  };
}

export interface Demographics {
  /** Registered devices (a device counts once here, but once per browser it reported in `byBrowser`). */
  total: number;
  byOs: DeviceReportRow[];
  byBrowser: DeviceReportRow[];
  byVersion: DeviceReportRow[];
  byStatus: DeviceReportRow[];
  /** Downloads of the last {@link MONTHS_SHOWN} months; null when the principal may not see downloads. */
  downloads: { from: string; to: string; byOs: DownloadReportRow[]; byBrowser: DownloadReportRow[] } | null;
}

export async function demographics(services: Services, principal: Principal, organization: string | undefined): Promise<Demographics> {
  const to = monthOf(services.clock.now());
  const from = addMonths(to, 1 - MONTHS_SHOWN);
  const downloadsBy = (by: 'os' | 'browser') => downloadsReport(services, principal, DownloadReportQuerySchema.parse({ from, to, by }));
  const [totals, byOs, byBrowser, byVersion, byStatus, downloadsByOs, downloadsByBrowser] = await Promise.all([
    devicesBy(services, principal, undefined, organization),
    devicesBy(services, principal, 'os', organization),
    devicesBy(services, principal, 'browser', organization),
    devicesBy(services, principal, 'version', organization),
    devicesBy(services, principal, 'status', organization),
    seesDownloads(principal) ? downloadsBy('os') : null,
    seesDownloads(principal) ? downloadsBy('browser') : null,
  ]);
  const mostFirst = <T extends { key?: string | null | undefined; devices: number }>(rows: T[]) =>
    rows.filter((r) => r.devices > 0).sort((a, b) => b.devices - a.devices || String(a.key).localeCompare(String(b.key)));
  const mostDownloaded = (rows: DownloadReportRow[]) => [...rows].sort((a, b) => b.downloads - a.downloads);
  return {
    total: totals[0]?.devices ?? 0,
    byOs: mostFirst(byOs),
    byBrowser: mostFirst(byBrowser),
    byVersion: mostFirst(byVersion),
    byStatus: mostFirst(byStatus),
    downloads:
      downloadsByOs && downloadsByBrowser ? { from, to, byOs: mostDownloaded(downloadsByOs), byBrowser: mostDownloaded(downloadsByBrowser) } : null,
  };
}

/** The dimensions the transactions page can break its rows down by, beside month and day. */
export const SPLITS = ['organization', 'label', 'module', 'useCase'] as const satisfies readonly TransactionDimension[];
export type Split = (typeof SPLITS)[number];

/** The transactions page's query string, before validation by the report's own schema. */
export interface TransactionFilters {
  from?: string | undefined;
  to?: string | undefined;
  organization?: string | undefined;
  label?: string | undefined;
  module?: string | undefined;
  useCase?: string | undefined;
  split?: Split | undefined;
}

/**
 * The report query of the transactions page: per day for the current month and per month before
 * it (`by` month then day), optionally broken down by one more dimension.
 */
export function transactionQuery(services: Services, filters: TransactionFilters): TransactionReportQuery {
  const current = monthOf(services.clock.now());
  const parsed = TransactionReportQuerySchema.safeParse({
    from: filters.from ?? addMonths(current, 1 - MONTHS_SHOWN),
    to: filters.to ?? current,
    ...(filters.organization ? { organization: filters.organization } : {}),
    ...(filters.label ? { label: filters.label } : {}),
    ...(filters.module ? { module: filters.module } : {}),
    ...(filters.useCase ? { useCase: filters.useCase } : {}),
    by: ['month', 'day', ...(filters.split ? [filters.split] : [])],
  });
  if (!parsed.success) throw validationError(parsed.error, 'query');
  return parsed.data;
}

export interface Transactions {
  query: TransactionReportQuery;
  rows: TransactionReportRow[];
  choices: FilterChoices;
  currentMonth: string;
  /** The months of the per-month chart. */
  months: string[];
  /** The days of the current month the period covers, up to today. */
  days: string[];
}

/** The transactions page: the report's rows, what the filters offer, and the months and days its charts show. */
export async function transactions(services: Services, principal: Principal, query: TransactionReportQuery): Promise<Transactions> {
  const [rows, choices] = await Promise.all([transactionsReport(services, principal, query), filterChoices(services, principal, query)]);
  const now = services.clock.now();
  const currentMonth = monthOf(now);
  return { query, rows, choices, currentMonth, months: monthsShown(query, currentMonth, rows), days: daysShown(query, currentMonth, dayOf(now)) };
}

// A period's `from` and `to` are each a month or a day (of the current month); monthOfDay gives
// the month of either.

/** Every month of the period, or only those with data when the period is very long. */
function monthsShown(query: TransactionReportQuery, current: string, rows: { month?: string | undefined }[]): string[] {
  const from = monthOfDay(query.from ?? addMonths(current, 1 - MONTHS_SHOWN));
  const to = monthOfDay(query.to ?? current);
  if (from > to) return [];
  if (addMonths(from, 120) >= to) return monthsBetween(from, to);
  return [...new Set(rows.map((r) => r.month).filter((m): m is string => m !== undefined))].sort();
}

/** The days of the current month within the period, up to today: the per-day chart shows quiet days too. */
function daysShown(query: TransactionReportQuery, current: string, today: string): string[] {
  const from = query.from === undefined || query.from.length === 7 ? firstDay(current) : query.from;
  const last = query.to !== undefined && query.to.length === 10 && query.to < today ? query.to : today;
  if (monthOfDay(query.from ?? current) > current || monthOfDay(query.to ?? current) < current) return [];
  const days: string[] = [];
  for (let d = from > firstDay(current) ? from : firstDay(current); d <= last; d = addDays(d, 1)) days.push(d);
  return days;
}

export interface FilterChoices {
  /** Organizations the principal may pick; one for an organization-limited principal. */
  organizations: string[];
  labels: string[];
  modules: string[];
  useCases: string[];
}

/** What the filters offer: only what the principal may see, within the chosen organization. */
export async function filterChoices(services: Services, principal: Principal, query: TransactionReportQuery): Promise<FilterChoices> {
  const scope = { from: query.from, to: query.to, ...(query.organization ? { organization: query.organization } : {}) };
  const valuesOf = async (by: 'module' | 'useCase') => {
    const rows = await transactionsReport(services, principal, TransactionReportQuerySchema.parse({ ...scope, by }));
    return [...new Set(rows.map((r) => r[by]).filter((v): v is string => typeof v === 'string'))].sort();
  };
  const [organizations, labels, modules, useCases] = await Promise.all([
    listOrganizationNames(services, principal),
    allPages((page) => listLabels(services, principal, page, query.organization)).then((items) => items.map((l) => l.name)),
    valuesOf('module'),
    valuesOf('useCase'),
  ]);
  return { organizations, labels, modules, useCases };
}

/** Organizations the picker of the overview and demographics pages offers: none for a limited principal (its own is fixed). */
export function pickerChoices(services: Services, principal: Principal): Promise<string[]> {
  if (principal.organizationId !== null) return Promise.resolve([]);
  return listOrganizationNames(services, principal);
}

/** The organizations the principal may see, by name. */
async function listOrganizationNames(services: Services, principal: Principal): Promise<string[]> {
  return (await allPages((page) => listOrganizations(services, principal, page))).map((o) => o.name);
}

async function allPages<T>(fetchPage: (page: { limit: number; cursor?: string }) => Promise<{ items: T[]; next: string | null }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetchPage({ limit: 500, ...(cursor ? { cursor } : {}) });
    items.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor && items.length < 10_000);
  return items;
}
