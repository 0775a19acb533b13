import type { Executor, InstallerRow, NewVersion, VersionRow, VersionUpdate } from '../db/types.js';

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

/** The highest version by semver, optionally only allowed ones. */
export async function latestVersion(db: Executor, options: { allowedOnly: boolean }) {
  let q = db.selectFrom('versions').selectAll().orderBy('sortKey', 'desc').limit(1);
  if (options.allowedOnly) q = q.where('allowed', '=', 1);
  return q.executeTakeFirst();
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
