import type { ApiKeyRow, Executor, NewApiKey } from '../db/types.js';

export type KeyKind = 'label' | 'installation';
const ownerColumn = (kind: KeyKind) => (kind === 'label' ? 'labelId' : 'versionId') as 'labelId' | 'versionId';

export async function insertApiKey(db: Executor, row: NewApiKey) {
  await db.insertInto('apiKeys').values(row).execute();
}

export async function listApiKeys(db: Executor, kind: KeyKind, ownerId: string): Promise<ApiKeyRow[]> {
  return db.selectFrom('apiKeys').selectAll().where(ownerColumn(kind), '=', ownerId).orderBy('createdAt', 'desc').orderBy('id').execute();
}

/** Keys of these owners, for lists (one query instead of one per row). */
export async function listApiKeysOf(db: Executor, kind: KeyKind, ownerIds: string[]): Promise<ApiKeyRow[]> {
  if (ownerIds.length === 0) return [];
  return db.selectFrom('apiKeys').selectAll().where(ownerColumn(kind), 'in', ownerIds).orderBy('createdAt', 'desc').orderBy('id').execute();
}

/** Keys still working: not revoked and not past their grace period. */
export async function retireActiveKeys(db: Executor, kind: KeyKind, ownerId: string, now: string, graceUntil: string | null) {
  const live = db
    .updateTable('apiKeys')
    .where(ownerColumn(kind), '=', ownerId)
    .where('revokedAt', 'is', null)
    .where((eb) => eb.or([eb('expiresAt', 'is', null), eb('expiresAt', '>', now)]));
  if (graceUntil === null) {
    await live.set({ revokedAt: now }).execute();
  } else {
    // A key already in a shorter grace period keeps it.
    await live
      .set({ expiresAt: graceUntil })
      .where((eb) => eb.or([eb('expiresAt', 'is', null), eb('expiresAt', '>', graceUntil)]))
      .execute();
  }
}

export async function revokeAllKeys(db: Executor, kind: KeyKind, ownerId: string, now: string) {
  await db.updateTable('apiKeys').set({ revokedAt: now }).where(ownerColumn(kind), '=', ownerId).where('revokedAt', 'is', null).execute();
}

export async function findApiKeyByHash(db: Executor, keyHash: string) {
  return db.selectFrom('apiKeys').selectAll().where('keyHash', '=', keyHash).executeTakeFirst();
}

export async function touchApiKey(db: Executor, id: string, now: string) {
  await db.updateTable('apiKeys').set({ lastUsedAt: now }).where('id', '=', id).execute();
}
