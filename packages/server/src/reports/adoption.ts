import type { AdoptionReportQuery, AdoptionReportRow } from '@ds/shared';
import { computeAdoption, type AdoptionRow } from '../adoption/adoption.service.js';
import type { Services } from '../context.js';
import { dayOf, firstDay, lastDay } from '../lib/months.js';
import type { Principal } from '../users/principal.js';
import { byFields, reportOrganization } from './scope.js';
import { transactionPeriod } from './transactions.js';

// The adoption report: devices per version from the daily snapshots (adoption/). A snapshot is a
// stock, not a flow: a month, or a period without day or month grouping, shows its last snapshot,
// never a sum of days.

const DIMENSION_ORDER = ['month', 'day', 'organization', 'label', 'os', 'version'] as const;

/** One snapshot the report may read: a day of the current month, or a closed month (day null). */
interface Point {
  month: string;
  day: string | null;
  /** Orders points in time: the day, or the month's last day. */
  at: string;
  rows: AdoptionRow[];
}

/** Which of the three levels of a snapshot answers the query without counting a device twice. */
type Level = 'all' | 'organization' | 'label';

export async function adoptionReport(services: Services, principal: Principal, query: AdoptionReportQuery): Promise<AdoptionReportRow[]> {
  const now = services.clock.now();
  // Who may see what comes first: another organization is refused whatever else is wrong.
  const organizationId = await reportOrganization(services, principal, query.organization);
  const period = transactionPeriod(query, now);
  const by = new Set(query.by);
  const level: Level = by.has('label') || query.label !== undefined ? 'label' : by.has('organization') || organizationId !== undefined ? 'organization' : 'all';

  const keep = (r: AdoptionRow) => {
    if (level === 'all' && (r.organizationId !== '' || r.label !== '')) return false;
    if (level === 'organization' && (r.organizationId === '' || r.label !== '')) return false;
    if (level === 'label' && r.label === '') return false;
    if (organizationId !== undefined && r.organizationId !== organizationId) return false;
    if (query.label !== undefined && r.label !== query.label) return false;
    if (query.os !== undefined && r.os !== query.os) return false;
    if (query.version !== undefined && r.version !== query.version) return false;
    return true;
  };
  const stored = async (table: 'adoptionDaily' | 'adoptionMonthly', column: 'day' | 'month', from: string, to: string) => {
    let q = services.db
      .selectFrom(table as 'adoptionDaily')
      .select([`${column} as period` as 'day', 'organizationId', 'label', 'os', 'version', 'devices', 'errors'])
      .where(column as 'day', '>=', from)
      .where(column as 'day', '<=', to);
    if (level === 'all') q = q.where('organizationId', '=', '').where('label', '=', '');
    if (level === 'organization') q = q.where('organizationId', '<>', '').where('label', '=', '');
    if (level === 'label') q = q.where('label', '<>', '');
    if (organizationId !== undefined) q = q.where('organizationId', '=', organizationId);
    if (query.label !== undefined) q = q.where('label', '=', query.label);
    if (query.os !== undefined) q = q.where('os', '=', query.os);
    if (query.version !== undefined) q = q.where('version', '=', query.version);
    const rows = await q.execute();
    const byPeriod = new Map<string, AdoptionRow[]>();
    for (const r of rows) {
      const period = (r as unknown as { period: string }).period;
      const list = byPeriod.get(period) ?? [];
      list.push({ organizationId: r.organizationId, label: r.label, os: r.os, version: r.version, devices: Number(r.devices), errors: Number(r.errors) });
      byPeriod.set(period, list);
    }
    return byPeriod;
  };

  const points: Point[] = [];
  if (period.closed) {
    const { from, to } = period.closed;
    const months = await stored('adoptionMonthly', 'month', from, to);
    // Days of a closed month not flattened yet (the job has not run since it ended): the month's
    // last of them stands for the month.
    const days = await stored('adoptionDaily', 'day', firstDay(from), lastDay(to));
    const markers = await services.db
      .selectFrom('adoptionSnapshots')
      .select('period')
      .where((eb) => eb.or([eb.and([eb('period', '>=', from), eb('period', '<=', to)]), eb.and([eb('period', '>=', firstDay(from)), eb('period', '<=', lastDay(to))])]))
      .execute();
    const latest = new Map<string, string>();
    for (const { period: marker } of markers) {
      const month = marker.slice(0, 7);
      const known = latest.get(month);
      // A day beats the month's own row (it is newer than the flattening); a later day beats an earlier one.
      if (known === undefined || (marker.length === 10 && (known.length === 7 || known < marker))) latest.set(month, marker);
    }
    for (const [month, marker] of latest) {
      const rows = (marker.length === 10 ? days.get(marker) : months.get(marker)) ?? [];
      points.push({ month, day: null, at: marker.length === 10 ? marker : lastDay(month), rows });
    }
  }
  if (period.days) {
    const today = dayOf(now);
    const { from, to } = period.days;
    const days = await stored('adoptionDaily', 'day', from, to < today ? to : today);
    const markers = await services.db.selectFrom('adoptionSnapshots').select('period').where('period', '>=', from).where('period', '<=', to).where('period', '<', today).execute();
    for (const { period: day } of markers) points.push({ month: day.slice(0, 7), day, at: day, rows: days.get(day) ?? [] });
    if (from <= today && today <= to) points.push({ month: today.slice(0, 7), day: today, at: today, rows: (await computeAdoption(services.db, today, now)).filter(keep) });
  }

  // The snapshot each time bucket shows: every point by day; the last of a month by month; the
  // last of the period without either.
  const bucketOf = (p: Point) => (by.has('day') ? `${p.month}|${p.day}` : by.has('month') ? p.month : '');
  const chosen = new Map<string, Point>();
  for (const p of points) {
    const key = bucketOf(p);
    const current = chosen.get(key);
    if (!current || current.at < p.at) chosen.set(key, p);
  }

  const names = new Map((await services.db.selectFrom('organizations').select(['id', 'name']).execute()).map((o) => [o.id, o.name]));
  const rows = new Map<string, AdoptionReportRow>();
  for (const p of chosen.values()) {
    for (const r of p.rows) {
      const row = {} as AdoptionReportRow;
      if (by.has('day') || by.has('month')) row.month = p.month;
      if (by.has('day')) row.day = p.day;
      if (by.has('organization')) row.organization = names.get(r.organizationId) ?? null;
      if (by.has('label')) row.label = r.label;
      if (by.has('os')) row.os = r.os === '' ? null : r.os;
      if (by.has('version')) row.version = r.version;
      const key = JSON.stringify(DIMENSION_ORDER.map((d) => row[d]));
      const existing = rows.get(key);
      if (existing) {
        existing.devices += r.devices;
        existing.errors += r.errors;
      } else rows.set(key, Object.assign(row, { devices: r.devices, errors: r.errors }));
    }
  }
  const list = [...rows.values()].filter((r) => r.devices > 0);
  if (by.has('version')) {
    // The share of a version among the devices of the same row without version.
    const totals = new Map<string, number>();
    const outer = (r: AdoptionReportRow) => JSON.stringify(DIMENSION_ORDER.filter((d) => d !== 'version').map((d) => r[d]));
    for (const r of list) totals.set(outer(r), (totals.get(outer(r)) ?? 0) + r.devices);
    for (const r of list) r.share = Math.round((r.devices / totals.get(outer(r))!) * 10_000) / 10_000;
  }
  return list.sort(byFields<AdoptionReportRow>(DIMENSION_ORDER));
}
