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

export async function insertVersion(db: Executor, row: NewVersion) {
  await db.insertInto('versions').values(row).execute();
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
