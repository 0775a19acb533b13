import type { Insertable } from 'kysely';
import type { AdminTokenTable, Executor } from '../db/types.js';

// The admin_tokens table: login sessions and admin API tokens (`ds_adm_`), stored as digests.

const tokenColumns = [
  'adminTokens.id',
  'adminTokens.userId',
  'adminTokens.kind',
  'adminTokens.name',
  'adminTokens.prefix',
  'adminTokens.scopes',
  'adminTokens.createdAt',
  'adminTokens.expiresAt',
  'adminTokens.revokedAt',
  'adminTokens.lastUsedAt',
  'users.username',
] as const;

export async function insertAdminToken(db: Executor, token: Insertable<AdminTokenTable>) {
  await db.insertInto('adminTokens').values(token).execute();
}

/** The token with this digest and its user, for authentication. */
export async function findAdminTokenByHash(db: Executor, tokenHash: string) {
  return db
    .selectFrom('adminTokens')
    .innerJoin('users', 'users.id', 'adminTokens.userId')
    .leftJoin('organizations', 'organizations.id', 'users.organizationId')
    .select([
      ...tokenColumns,
      'users.role',
      'users.organizationId',
      'organizations.name as organizationName',
    ])
    .where('adminTokens.tokenHash', '=', tokenHash)
    .executeTakeFirst();
}

export async function touchAdminToken(db: Executor, id: string, now: string) {
  await db.updateTable('adminTokens').set({ lastUsedAt: now }).where('id', '=', id).execute();
}

export async function revokeAdminToken(db: Executor, id: string, now: string) {
  await db.updateTable('adminTokens').set({ revokedAt: now }).where('id', '=', id).where('revokedAt', 'is', null).execute();
}

export async function findApiToken(db: Executor, id: string) {
  return db
    .selectFrom('adminTokens')
    .innerJoin('users', 'users.id', 'adminTokens.userId')
    .select(tokenColumns)
    .where('adminTokens.id', '=', id)
    .where('adminTokens.kind', '=', 'api')
    .executeTakeFirst();
}

export async function listApiTokens(db: Executor, options: { userId?: string; after?: string | undefined; limit: number }) {
  let q = db
    .selectFrom('adminTokens')
    .innerJoin('users', 'users.id', 'adminTokens.userId')
    .select(tokenColumns)
    .where('adminTokens.kind', '=', 'api')
    .orderBy('adminTokens.id')
    .limit(options.limit);
  if (options.userId) q = q.where('adminTokens.userId', '=', options.userId);
  if (options.after !== undefined) q = q.where('adminTokens.id', '>', options.after);
  return q.execute();
}

export type ApiTokenRowWithUser = Awaited<ReturnType<typeof listApiTokens>>[number];
