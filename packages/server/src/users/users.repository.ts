import type { Executor, UserTable } from '../db/types.js';
import type { Insertable } from 'kysely';

const userColumns = [
  'users.id',
  'users.username',
  'users.passwordHash',
  'users.role',
  'users.organizationId',
  'users.createdAt',
  'users.updatedAt',
  'organizations.name as organizationName',
] as const;

function usersWithOrg(db: Executor) {
  return db.selectFrom('users').leftJoin('organizations', 'organizations.id', 'users.organizationId');
}

export async function findUserByUsername(db: Executor, username: string) {
  return usersWithOrg(db).select(userColumns).where('users.username', '=', username).executeTakeFirst();
}

export async function findUserById(db: Executor, id: string) {
  return usersWithOrg(db).select(userColumns).where('users.id', '=', id).executeTakeFirst();
}

export async function listUsers(db: Executor, options: { after?: string | undefined; limit: number; organizationId?: string | null }) {
  let q = usersWithOrg(db).select(userColumns).orderBy('users.username').limit(options.limit);
  if (options.after !== undefined) q = q.where('users.username', '>', options.after);
  if (options.organizationId) q = q.where('users.organizationId', '=', options.organizationId);
  return q.execute();
}

export async function insertUser(db: Executor, user: Insertable<UserTable>) {
  await db.insertInto('users').values(user).execute();
}

export async function updateUserPassword(db: Executor, id: string, passwordHash: string, now: string) {
  await db.updateTable('users').set({ passwordHash, updatedAt: now }).where('id', '=', id).execute();
}

export async function updateUserAccess(db: Executor, id: string, access: { role: UserTable['role']; organizationId: string | null; updatedAt: string }) {
  await db.updateTable('users').set(access).where('id', '=', id).execute();
}

export async function deleteUser(db: Executor, id: string) {
  return Number((await db.deleteFrom('users').where('id', '=', id).executeTakeFirst()).numDeletedRows);
}

export async function countUnrestrictedAdmins(db: Executor) {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('role', '=', 'admin')
    .where('organizationId', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function countUsers(db: Executor) {
  const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

export type UserRowWithOrg = NonNullable<Awaited<ReturnType<typeof findUserById>>>;
