import type { DeviceReportQuery, DeviceReportRow } from '@ds/shared';
import { sql, type ExpressionBuilder, type SelectQueryBuilder } from 'kysely';
import type { Services } from '../context.js';
import type { Executor } from '../db/types.js';
import type { Principal } from '../users/principal.js';
import { reportOrganization } from './scope.js';

// The devices report: counts of devices, active, stopped syncing and on versions not allowed.

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
  return deviceMetrics(services.db, { now, staleBefore: { byVersion, otherwise }, organizationId, label: query.label, by: query.by, dailyLimited: query.dailyLimited });
}

export interface DeviceMetricsInput {
  now: Date;
  /** Devices whose last sync (or registration) is before this, per version; `otherwise` for the rest. */
  staleBefore: { byVersion: Map<string, string>; otherwise: string };
  organizationId?: string | undefined;
  label?: string | undefined;
  by?: 'os' | 'browser' | 'version' | 'status' | 'organization' | 'label' | 'device' | undefined;
  /** Only devices whose transactions the daily limit refused in the last 30 days. */
  dailyLimited?: boolean | undefined;
}

export interface DeviceMetricsRow {
  key?: string | null;
  devices: number;
  active24h: number;
  active7d: number;
  active30d: number;
  stopped: number;
  notAllowed: number;
  dailyLimited: number;
}

/** How far back a device that reached its daily limit is counted (and listed) as such. */
export const DAILY_LIMIT_LOOKBACK_MS = 30 * 86_400_000;

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
  const limitedSince = ago(input.now, DAILY_LIMIT_LOOKBACK_MS);
  if (input.dailyLimited) q = q.where('d.dailyLimitReachedAt', '>=', limitedSince);

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
    case 'device':
      // Which devices (with `dailyLimited`: which ones reached the daily limit).
      key = 'd.id';
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
    countWhere(eb, eb('d.dailyLimitReachedAt', '>=', limitedSince)).as('dailyLimited'),
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
    dailyLimited: Number(r.dailyLimited),
  }));
}

