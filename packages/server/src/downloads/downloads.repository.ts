import type { Executor, NewDownloadEvent } from '../db/types.js';

export async function insertDownloadEvent(db: Executor, row: NewDownloadEvent) {
  await db.insertInto('downloadEvents').values(row).execute();
}

/**
 * Records that a file: installer whose content was found unchanged has a new modification time,
 * so the next download does not hash it again. Only while the row still names that file and hash.
 */
export async function touchInstallerMtime(db: Executor, key: { versionId: string; os: string; uri: string; sha256: string }, mtime: string) {
  await db
    .updateTable('installers')
    .set({ mtime })
    .where('versionId', '=', key.versionId)
    .where('os', '=', key.os)
    .where('uri', '=', key.uri)
    .where('sha256', '=', key.sha256)
    .execute();
}
