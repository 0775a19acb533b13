import type { Executor, InstallerRow, NewVersion, VersionRow, VersionUpdate } from '../db/types.js';
import { RELEASE_SORT_KEY_SUFFIX } from '../lib/semver.js';

export async function findVersion(db: Executor, id: string): Promise<VersionRow | undefined> {
  return db.selectFrom('versions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findVersionBySortKey(db: Executor, sortKey: string): Promise<VersionRow | undefined> {
  return db.selectFrom('versions').selectAll().where('sortKey', '=', sortKey).executeTakeFirst();
}

/** Newest first by semantic-version precedence. */
export async function listVersions(db: Executor, options: { before?: string | undefined; limit: number }) {
  let q = db.selectFrom('versions').selectAll().orderBy('sortKey', 'desc').limit(options.limit);
  if (options.before !== undefined) q = q.where('sortKey', '<', options.before);
  return q.execute();
}

/** Which versions may be "latest", and for what. */
export interface LatestOptions {
  /** Only allowed versions (every caller that answers clients asks for this). */
  allowedOnly: boolean;
  /** Only versions with an installer for one of these os values (any case): "latest for this OS". */
  os?: readonly string[] | undefined;
  /** Only versions whose sort key is at most this one. */
  atMost?: string | undefined;
  /**
   * A version that is a candidate even when it would not be (a pre-release, a version in rollout):
   * the one a device was offered (rollouts/offer.ts), whose own installers its answer lists.
   */
  including?: string | undefined;
}

/**
 * The versions that can be "latest" (API.md §1): releases, and pre-releases only when an operator
 * made them recommended, so `ds version create 3.9.1-beta.1` publishes a beta without offering it
 * to everyone. A release's sort key, and no pre-release's, ends with "~" (lib/semver.ts).
 */
function latestCandidates(db: Executor, options: LatestOptions) {
  // A version in rollout is offered only to the devices of its current wave (rollouts/), never as
  // everyone's latest: not to downloads, not to apps, until the rollout completes.
  let q = db.selectFrom('versions').where((eb) => {
    const candidate = eb.and([
      eb.or([eb('versions.sortKey', 'like', `%${RELEASE_SORT_KEY_SUFFIX}`), eb('versions.recommended', '=', 1)]),
      eb.not(eb.exists(eb.selectFrom('rollouts').select('rollouts.versionId').whereRef('rollouts.versionId', '=', 'versions.id').where('rollouts.state', '!=', 'completed'))),
    ]);
    return options.including === undefined ? candidate : eb.or([candidate, eb('versions.id', '=', options.including)]);
  });
  if (options.allowedOnly) q = q.where('versions.allowed', '=', 1);
  if (options.atMost !== undefined) q = q.where('versions.sortKey', '<=', options.atMost);
  return q;
}

/**
 * "Latest": the highest version by semver among the candidates above; with `os`, the highest
 * that has an installer for one of those os values (a release without a Linux installer does
 * not hide the previous one that has it).
 */
export async function latestVersion(db: Executor, options: LatestOptions): Promise<VersionRow | undefined> {
  let q = latestCandidates(db, options).selectAll('versions').orderBy('versions.sortKey', 'desc').limit(1);
  const os = options.os?.map((o) => o.toUpperCase());
  if (os !== undefined) {
    if (os.length === 0) return undefined;
    q = q.where((eb) => eb.exists(eb.selectFrom('installers').select('installers.os').whereRef('installers.versionId', '=', 'versions.id').where('installers.os', 'in', os)));
  }
  return q.executeTakeFirst();
}

/** One os's latest installer: the installer and the version it belongs to. */
export interface LatestInstaller {
  version: VersionRow;
  installer: InstallerRow;
}

/**
 * For every os that has one, its latest installer: the installer of the highest candidate
 * version (as {@link latestVersion}) that has an installer for that os. Three queries whatever
 * the number of versions: the highest sort key per os, those versions, their installers.
 */
export async function latestInstallers(db: Executor, options: LatestOptions): Promise<LatestInstaller[]> {
  const heads = await latestCandidates(db, options)
    .innerJoin('installers', 'installers.versionId', 'versions.id')
    .select(['installers.os as os', (eb) => eb.fn.max('versions.sortKey').as('sortKey')])
    .groupBy('installers.os')
    .execute();
  if (heads.length === 0) return [];
  const keys = [...new Set(heads.map((h) => h.sortKey))];
  const versions = await db.selectFrom('versions').selectAll().where('sortKey', 'in', keys).execute();
  const byKey = new Map(versions.map((v) => [v.sortKey, v]));
  const installers = await listInstallers(db, versions.map((v) => v.id));
  const out: LatestInstaller[] = [];
  for (const head of heads) {
    const version = byKey.get(head.sortKey);
    const installer = installers.find((i) => i.versionId === version?.id && i.os === head.os);
    // Gone between the queries (a concurrent delete): that os is left out rather than guessed.
    if (version && installer) out.push({ version, installer });
  }
  return out;
}

/**
 * Takes the version's row lock for the rest of the transaction (a write that changes nothing), so
 * a check made next cannot be overtaken by a concurrent writer: PostgreSQL holds the row lock until
 * commit, and its next statements see what committed before; SQLite transactions already hold the
 * database's write lock (BEGIN IMMEDIATE). False when there is no such version.
 */
export async function lockVersion(db: Executor, id: string): Promise<boolean> {
  const result = await db
    .updateTable('versions')
    .set((eb) => ({ updatedAt: eb.ref('updatedAt') }))
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * Inserts a version unless one with its id or precedence exists; false when one does (a concurrent
 * create committed first: PostgreSQL waits for it rather than failing on the unique key).
 */
export async function insertVersion(db: Executor, row: NewVersion): Promise<boolean> {
  const result = await db
    .insertInto('versions')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function updateVersion(db: Executor, id: string, patch: VersionUpdate) {
  await db.updateTable('versions').set(patch).where('id', '=', id).execute();
}

export async function deleteVersion(db: Executor, id: string) {
  await db.deleteFrom('versions').where('id', '=', id).execute();
}

export async function listInstallers(db: Executor, versionIds: string[]): Promise<InstallerRow[]> {
  if (versionIds.length === 0) return [];
  return db.selectFrom('installers').selectAll().where('versionId', 'in', versionIds).orderBy('os').execute();
}

export async function replaceInstallers(db: Executor, versionId: string, rows: Omit<InstallerRow, 'versionId'>[]) {
  await db.deleteFrom('installers').where('versionId', '=', versionId).execute();
  if (rows.length > 0) await db.insertInto('installers').values(rows.map((r) => ({ ...r, versionId }))).execute();
}

export async function countDevicesOnVersion(db: Executor, id: string) {
  const row = await db
    .selectFrom('devices')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('version', '=', id)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function countVersions(db: Executor) {
  const row = await db.selectFrom('versions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function getSetting(db: Executor, key: string): Promise<string | null> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value ?? null;
}

export async function putSetting(db: Executor, key: string, value: string | null, now: string) {
  if (value === null) {
    await db.deleteFrom('settings').where('key', '=', key).execute();
    return;
  }
  await db
    .insertInto('settings')
    .values({ key, value, updatedAt: now })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value, updatedAt: now }))
    .execute();
}
