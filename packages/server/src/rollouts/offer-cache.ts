import type { Executor } from '../db/types.js';
import type { Clock } from '../lib/clock.js';
import type { OfferPolicy, OfferRollout, OfferVersion } from './offer.js';
import { listPolicies, listUnfinishedRollouts } from './rollouts.repository.js';
import { parseWindow } from './window.js';

/** What every version check needs to know besides the versions: rollouts in progress and policies. */
export interface OfferState {
  /** Rollouts not completed, by version id. */
  rollouts: ReadonlyMap<string, OfferRollout>;
  /** Whether one of them is active (offered to some devices): then every version check considers every version. */
  anyActive: boolean;
  /** Policies by organization id. */
  policies: ReadonlyMap<string, OfferPolicy>;
}

/**
 * The rollouts, policies and versions version checks decide with, read at most every `ttlMs`
 * rather than on every check: they change only when an operator or the rollout job
 * changes them, which clears this process's copy at once; another DS process sees the change
 * within `ttlMs` (a cache it can lose, ARCHITECTURE.md).
 */
export class OfferCache {
  private entry: Entry<OfferState> | undefined;
  private versionsEntry: Entry<OfferVersion[]> | undefined;
  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = 5000,
  ) {}

  get(db: Executor): Promise<OfferState> {
    const { entry, value } = this.fresh(this.entry, () => load(db));
    this.entry = entry;
    return value;
  }

  /**
   * Every version with the os values it has installers for: what a version check considers while a
   * rollout is active or the device's organizations have a policy. Versions change when an
   * operator saves or deletes one (versions.service.ts clears this copy) or a rollout completes.
   */
  versions(db: Executor): Promise<OfferVersion[]> {
    const { entry, value } = this.fresh(this.versionsEntry, () => loadVersions(db));
    this.versionsEntry = entry;
    return value;
  }

  /** Forget the copies (after a change in this process). */
  clear(): void {
    this.entry = undefined;
    this.versionsEntry = undefined;
  }

  /** The entry if it is younger than the TTL, else a new one; a load that fails is not kept. */
  private fresh<T>(entry: Entry<T> | undefined, load: () => Promise<T>): { entry: Entry<T>; value: Promise<T> } {
    const now = this.clock.now().getTime();
    if (entry && now - entry.at < this.ttlMs && now >= entry.at) return { entry, value: entry.value };
    const value = load();
    const created = { at: now, value };
    value.catch(() => {
      if (this.entry === (created as unknown)) this.entry = undefined;
      if (this.versionsEntry === (created as unknown)) this.versionsEntry = undefined;
    });
    return { entry: created, value };
  }
}

interface Entry<T> {
  at: number;
  value: Promise<T>;
}

async function loadVersions(db: Executor): Promise<OfferVersion[]> {
  const [rows, installers] = await Promise.all([db.selectFrom('versions').selectAll().execute(), db.selectFrom('installers').select(['versionId', 'os']).execute()]);
  const oses = new Map<string, Set<string>>();
  for (const i of installers) {
    let set = oses.get(i.versionId);
    if (!set) oses.set(i.versionId, (set = new Set()));
    set.add(i.os.toUpperCase());
  }
  return rows.map((row) => ({ row, oses: oses.get(row.id) ?? new Set<string>() }));
}

async function load(db: Executor): Promise<OfferState> {
  const [rollouts, policies] = await Promise.all([listUnfinishedRollouts(db), listPolicies(db)]);
  const byVersion = new Map<string, OfferRollout>();
  for (const r of rollouts) {
    const waves = JSON.parse(r.waves) as number[];
    byVersion.set(r.versionId, { versionId: r.versionId, state: r.state as OfferRollout['state'], percent: waves[r.waveIndex] ?? 0, waveIndex: r.waveIndex });
  }
  const byOrganization = new Map<string, OfferPolicy>();
  for (const p of policies) {
    // Stored policies were validated when saved; one that no longer parses (a time zone the
    // runtime dropped) holds nothing rather than failing every version check of its devices.
    let window = null;
    try {
      window = p.window ? parseWindow(p.window) : null;
    } catch {
      window = null;
    }
    byOrganization.set(p.organizationId, { organization: p.organizationName, hold: p.hold, window, prereleases: p.prereleases === 1 });
  }
  return { rollouts: byVersion, anyActive: rollouts.some((r) => r.state === 'active'), policies: byOrganization };
}
