import { DEVICE_STATUSES, type SystemInfo, type SystemStatus } from '@ds/shared';
import type { Services } from '../context.js';
import { iso } from '../lib/clock.js';
import { countLabels } from '../labels/labels.repository.js';
import { countOrganizations } from '../organizations/organizations.repository.js';
import { countUsers } from '../users/users.repository.js';
import { countVersions, latestVersion } from '../versions/versions.repository.js';

/** Public liveness: `isAlive` is false when the database does not answer. */
export async function systemStatus(services: Services): Promise<SystemStatus> {
  const time = iso(services.clock.now());
  try {
    // The newest allowed release (a pre-release only when recommended), whatever its installers.
    const latest = await latestVersion(services.db, { allowedOnly: true });
    return { isAlive: true, version: services.version, time, latestVersion: latest?.id ?? null };
  } catch (error) {
    services.logger.error('status check: database unreachable', { error: (error as Error).message });
    return { isAlive: false, version: services.version, time, latestVersion: null };
  }
}

export async function systemInfo(services: Services): Promise<SystemInfo> {
  const now = services.clock.now();
  const db = services.db;
  const since = (ms: number) => iso(new Date(now.getTime() - ms));
  const countDevices = async (after?: string) => {
    let q = db.selectFrom('devices').select((eb) => eb.fn.countAll<number>().as('n'));
    if (after) q = q.where('lastSyncAt', '>=', after);
    return Number((await q.executeTakeFirstOrThrow()).n);
  };
  const [organizations, labels, versions, users, total, active24h, active30d, statusRows, sizeBytes] = await Promise.all([
    countOrganizations(db),
    countLabels(db),
    countVersions(db),
    countUsers(db),
    countDevices(),
    countDevices(since(86_400_000)),
    countDevices(since(30 * 86_400_000)),
    db.selectFrom('devices').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute(),
    services.database.sizeBytes(),
  ]);
  const byStatus: Record<string, number> = Object.fromEntries(DEVICE_STATUSES.map((s) => [s, 0]));
  for (const row of statusRows) byStatus[row.status] = Number(row.n);
  return {
    version: services.version,
    startedAt: iso(services.startedAt),
    uptimeSeconds: Math.floor((now.getTime() - services.startedAt.getTime()) / 1000),
    database: { kind: services.database.kind, sizeBytes },
    counts: { organizations, labels, versions, users, devices: { total, byStatus, active24h, active30d } },
  };
}
