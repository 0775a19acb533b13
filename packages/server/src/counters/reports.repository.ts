import { sql, type ExpressionBuilder, type SelectQueryBuilder } from 'kysely';
import type { Database, Executor } from '../db/types.js';

// The report queries. Each groups in SQL by exactly the dimensions asked for, so a report reads
// indexes and returns few rows; the service merges the sources and names the columns.

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
 * organization comes from the label's current organization (null when the label was deleted).
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
  const needsOrganization = group.organization || filters.organizationId !== undefined;
  if (needsOrganization) {
    q = q.leftJoin('labels as l', 'l.name', 'c.label');
    if (group.organization) q = q.leftJoin('organizations as o', 'o.id', 'l.organizationId');
  }
  q = q.where(`c.${range.column}`, '>=', range.from).where(`c.${range.column}`, '<=', range.to);
  if (filters.organizationId !== undefined) q = q.where('l.organizationId', '=', filters.organizationId);
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

export interface DeviceMetricsInput {
  now: Date;
  /** Devices whose last sync (or registration) is before this, per version; `otherwise` for the rest. */
  staleBefore: { byVersion: Map<string, string>; otherwise: string };
  organizationId?: string | undefined;
  label?: string | undefined;
  by?: 'os' | 'browser' | 'version' | 'status' | 'organization' | 'label' | undefined;
}

export interface DeviceMetricsRow {
  key?: string | null;
  devices: number;
  active24h: number;
  active7d: number;
  active30d: number;
  stopped: number;
  notAllowed: number;
}

const ago = (now: Date, ms: number) => new Date(now.getTime() - ms).toISOString();

/** Device counts for the devices report, grouped by one dimension or not at all. */
export async function deviceMetrics(db: Executor, input: DeviceMetricsInput): Promise<DeviceMetricsRow[]> {
  let q = db.selectFrom('devices as d').leftJoin('versions as v', 'v.id', 'd.version') as unknown as SelectQueryBuilder<any, any, any>;
  const seenWith = (eb: ExpressionBuilder<any, any>) => {
    let sub = eb.selectFrom('deviceLabels as sl').select('sl.deviceId');
    if (input.organizationId !== undefined) sub = sub.innerJoin('labels as slo', 'slo.name', 'sl.label').where('slo.organizationId', '=', input.organizationId);
    if (input.label !== undefined) sub = sub.where('sl.label', '=', input.label);
    return eb('d.id', 'in', sub);
  };
  if (input.organizationId !== undefined || input.label !== undefined) q = q.where(seenWith);

  let key: string | undefined;
  switch (input.by) {
    case 'os':
      key = 'd.osName';
      break;
    case 'version':
      key = 'd.version';
      break;
    case 'status':
      key = 'd.status';
      break;
    case 'browser':
      q = q.leftJoin('deviceUserAgents as ua', 'ua.deviceId', 'd.id');
      key = 'ua.browserName';
      break;
    case 'label':
    case 'organization':
      // Only labels the caller may see: an organization-limited user never learns another
      // organization's labels, even of a device that reported both.
      q = q.leftJoin(
        (eb: ExpressionBuilder<any, any>) => {
          let sub = eb
            .selectFrom('deviceLabels as dl')
            .leftJoin('labels as ll', 'll.name', 'dl.label')
            .leftJoin('organizations as lo', 'lo.id', 'll.organizationId')
            .select(['dl.deviceId as deviceId', 'dl.label as label', 'lo.name as organization']);
          if (input.organizationId !== undefined) sub = sub.where('ll.organizationId', '=', input.organizationId);
          if (input.label !== undefined) sub = sub.where('dl.label', '=', input.label);
          return (input.by === 'organization' ? sub.distinct() : sub).as('k');
        },
        (join: any) => join.onRef('k.deviceId', '=', 'd.id'),
      );
      key = input.by === 'label' ? 'k.label' : 'k.organization';
      break;
  }
  if (input.by === 'organization') {
    // A device counts once per organization whose labels it reported.
    q = q.select((eb: ExpressionBuilder<any, any>) => eb.ref('k.organization').as('key'));
  }

  const lastSeen = sql`coalesce(d.last_sync_at, d.registered_at)`;
  const versionThreshold = (eb: ExpressionBuilder<any, any>) => {
    if (input.staleBefore.byVersion.size === 0) return eb.val(input.staleBefore.otherwise);
    let c: any = eb.case('d.version');
    for (const [version, before] of input.staleBefore.byVersion) c = c.when(version).then(before);
    return c.else(input.staleBefore.otherwise).end();
  };
  const countWhere = (eb: ExpressionBuilder<any, any>, condition: any) => eb.fn.count(eb.case().when(condition).then(eb.ref('d.id')).end()).distinct();
  q = q.select((eb: ExpressionBuilder<any, any>) => [
    ...(key !== undefined && input.by !== 'organization' ? [eb.ref(key).as('key')] : []),
    eb.fn.count('d.id').distinct().as('devices'),
    countWhere(eb, eb('d.lastSyncAt', '>=', ago(input.now, 86_400_000))).as('active24h'),
    countWhere(eb, eb('d.lastSyncAt', '>=', ago(input.now, 7 * 86_400_000))).as('active7d'),
    countWhere(eb, eb('d.lastSyncAt', '>=', ago(input.now, 30 * 86_400_000))).as('active30d'),
    countWhere(eb, eb(lastSeen, '<', versionThreshold(eb))).as('stopped'),
    countWhere(eb, eb.or([eb('v.id', 'is', null), eb('v.allowed', '=', 0)])).as('notAllowed'),
  ]);
  if (key !== undefined) q = q.groupBy(key);
  const rows = (await q.execute()) as DeviceMetricsRow[];
  // Most devices first, unknown values last (the dialects disagree on where NULL sorts).
  const rank = (r: DeviceMetricsRow) => [-Number(r.devices), r.key == null ? 1 : 0, r.key ?? ''] as const;
  rows.sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    return 0;
  });
  return rows.map((r) => ({
    ...(key !== undefined ? { key: r.key ?? null } : {}),
    devices: Number(r.devices),
    active24h: Number(r.active24h),
    active7d: Number(r.active7d),
    active30d: Number(r.active30d),
    stopped: Number(r.stopped),
    notAllowed: Number(r.notAllowed),
  }));
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
