import type { DownloadReportQuery, DownloadReportRow } from '@ds/shared';
import type { ExpressionBuilder, SelectQueryBuilder } from 'kysely';
import type { Services } from '../context.js';
import type { Database, Executor } from '../db/types.js';
import { AppError } from '../lib/errors.js';
import { dayOf, firstDay, isRealDay, isRealMonth, lastDay } from '../lib/months.js';
import type { Principal } from '../users/principal.js';
import { byFields, invalidBound, isDay } from './scope.js';

// The downloads report: installer downloads by day, month, os, browser and version.

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
  const sums = await sumDownloads(
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

export interface DownloadSum {
  day?: string;
  os?: string;
  browser?: string | null;
  version?: string;
  downloads: number;
  completed: number;
  bytes: number;
}

/** Download events of the days [from, to], grouped by day (when asked) and the other dimensions. */
export async function sumDownloads(
  db: Executor,
  range: { from: string; to: string },
  filters: { os?: string | undefined; version?: string | undefined },
  group: { day: boolean; os: boolean; browser: boolean; version: boolean },
): Promise<DownloadSum[]> {
  let q = db.selectFrom('downloadEvents as e').where('e.day', '>=', range.from).where('e.day', '<=', range.to) as unknown as SelectQueryBuilder<Database & any, any, any>;
  if (filters.os !== undefined) q = q.where('e.os', '=', filters.os);
  if (filters.version !== undefined) q = q.where('e.version', '=', filters.version);
  const columns: [string, string][] = [];
  if (group.day) columns.push(['e.day', 'day']);
  if (group.os) columns.push(['e.os', 'os']);
  if (group.browser) columns.push(['e.browserName', 'browser']);
  if (group.version) columns.push(['e.version', 'version']);
  q = q.select((eb: ExpressionBuilder<any, any>) => [
    ...columns.map(([ref, as]) => eb.ref(ref).as(as)),
    eb.fn.countAll().as('downloads'),
    eb.fn.coalesce(eb.fn.sum('e.complete'), eb.val(0)).as('completed'),
    eb.fn.coalesce(eb.fn.sum('e.bytes'), eb.val(0)).as('bytes'),
  ]);
  if (columns.length > 0) q = q.groupBy(columns.map(([ref]) => ref));
  const rows = (await q.execute()) as DownloadSum[];
  return rows
    .filter((r) => Number(r.downloads) > 0)
    .map((r) => ({ ...r, downloads: Number(r.downloads), completed: Number(r.completed), bytes: Number(r.bytes) }));
}
