import { AdoptionReportQuerySchema, type Rollout } from '@ds/shared';
import type { Services } from '../context.js';
import { addMonths, monthOf } from '../lib/months.js';
import { semverSortKey } from '../lib/semver.js';
import { adoptionReport } from '../reports/adoption.js';
import { getRollout } from '../rollouts/rollouts.service.js';
import type { Principal } from '../users/principal.js';

// The dashboard's Versions page: adoption over time from the same report as `ds report adoption`,
// and the rollouts as `ds rollout status` shows them (GET .../rollout).

/** Closed months shown before the current one (each as its last snapshot). */
export const ADOPTION_MONTHS_BEFORE = 2;
/** A completed rollout stays on the page this long after it reached everyone. */
const COMPLETED_SHOWN_MS = 30 * 86_400_000;

export interface VersionsView {
  currentMonth: string;
  /** The first month shown. */
  from: string;
  /** The snapshots shown, oldest first: a closed month's end, then the days of this month. */
  periods: { key: string; label: string }[];
  /** Devices per version in each period (versions oldest first: the stack grows upwards with newer ones). */
  series: { label: string; data: number[] }[];
  /** Now (today's picture): devices, ERROR and share per version, newest version first. */
  today: { version: string; devices: number; errors: number; share: number }[];
  /** null when the user may not read versions (no versions:read). */
  rollouts: Rollout[] | null;
  /** The organization whose devices the rollout numbers count (the user's, when limited to one); null: every device. */
  rolloutOrganization: string | null;
}

export async function versionsView(services: Services, principal: Principal, organization: string | undefined): Promise<VersionsView> {
  const currentMonth = monthOf(services.clock.now());
  const from = addMonths(currentMonth, -ADOPTION_MONTHS_BEFORE);
  const query = (by: string) => AdoptionReportQuerySchema.parse({ from, by, ...(organization ? { organization } : {}) });
  const [rows, today, rollouts] = await Promise.all([
    adoptionReport(services, principal, query('day,version')),
    adoptionReport(services, principal, AdoptionReportQuerySchema.parse({ by: 'version', ...(organization ? { organization } : {}) })),
    principal.scopes.has('versions:read') ? rolloutsShown(services, principal) : Promise.resolve(null),
  ]);
  const byVersion = (a: string, b: string) => (semverSortKey(a) < semverSortKey(b) ? -1 : semverSortKey(a) > semverSortKey(b) ? 1 : 0);
  const periodKey = (r: { month?: string | undefined; day?: string | null | undefined }) => r.day ?? r.month ?? '';
  const periods = [...new Set(rows.map(periodKey))].sort().map((key) => ({ key, label: key.length === 7 ? `${key} (end of month)` : key }));
  const versions = [...new Set(rows.map((r) => r.version ?? ''))].sort(byVersion);
  const series = versions.map((version) => ({
    label: version,
    data: periods.map((p) => rows.filter((r) => periodKey(r) === p.key && r.version === version).reduce((s, r) => s + r.devices, 0)),
  }));
  return {
    currentMonth,
    from,
    periods,
    series,
    today: today.map((r) => ({ version: r.version ?? '', devices: r.devices, errors: r.errors, share: r.share ?? 0 })).sort((a, b) => byVersion(b.version, a.version)),
    rollouts,
    rolloutOrganization: principal.organizationName,
  };
}

/** Every rollout not completed, and those completed in the last 30 days; the newest first. */
async function rolloutsShown(services: Services, principal: Principal): Promise<Rollout[]> {
  const since = new Date(services.clock.now().getTime() - COMPLETED_SHOWN_MS).toISOString();
  const rows = await services.db
    .selectFrom('rollouts')
    .select('versionId')
    .where((eb) => eb.or([eb('completedAt', 'is', null), eb('completedAt', '>=', since)]))
    .orderBy('startedAt', 'desc')
    .execute();
  const shown: Rollout[] = [];
  // Read as GET .../rollout reads it: evaluated now (a wave whose hold ended has advanced).
  // A user limited to an organization sees its own devices' numbers (rollouts.service.ts, RolloutViewer).
  for (const { versionId } of rows) shown.push((await getRollout(services, versionId, principal)).rollout);
  return shown;
}
