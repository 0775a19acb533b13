import type { DeleteResult, PageQuery, User, UserCreate, UserUpdate } from '@ds/shared';
import type { Services } from '../context.js';
import type { Executor } from '../db/types.js';
import { iso } from '../lib/clock.js';
import { AppError, conflict, invalid, notFound } from '../lib/errors.js';
import { decodeCursor, pageOf } from '../lib/pagination.js';
import { hashPassword } from '../lib/secrets.js';
import { findOrganizationByName } from '../organizations/organizations.repository.js';
import { checkPassword } from './auth.service.js';
import { requireUnrestricted, type Principal } from './principal.js';
import * as repo from './users.repository.js';
import { recordEvent } from '../audit/audit.service.js';

function toUser(row: repo.UserRowWithOrg): User {
  return { username: row.username, role: row.role, organization: row.organizationName, createdAt: row.createdAt, updatedAt: row.updatedAt };
}

/** Records a change of a user in the audit log, under the user's organization when they are limited to one. */
async function audit(services: Services, trx: Executor, action: string, row: repo.UserRowWithOrg, before: User | null, after: User | null, always = false) {
  await recordEvent(services, trx, {
    action,
    resourceType: 'user',
    resourceId: row.username,
    organization: row.organizationId !== null ? { id: row.organizationId, name: row.organizationName ?? '' } : null,
    before,
    after,
    always,
  });
}

async function organizationIdOf(db: Executor, name: string | null | undefined): Promise<string | null> {
  if (name === null || name === undefined) return null;
  const org = await findOrganizationByName(db, name);
  if (!org) throw new AppError('VALIDATION_ERROR', `organization: ${name} does not exist`, { issues: [{ path: 'organization', message: 'does not exist' }] });
  return org.id;
}

/** Creates a user; used by the admin API and by first start (no principal). */
export async function createUser(services: Services, body: UserCreate, principal: Principal | null): Promise<User> {
  if (principal) requireUnrestricted(principal);
  const passwordHash = await hashPassword(body.password);
  return services.db.transaction().execute(async (trx) => {
    if (await repo.findUserByUsername(trx, body.username)) throw conflict(`user ${body.username} already exists`);
    const now = iso(services.clock.now());
    const id = crypto.randomUUID();
    await repo.insertUser(trx, {
      id,
      username: body.username,
      passwordHash,
      role: body.role,
      organizationId: await organizationIdOf(trx, body.organization),
      createdAt: now,
      updatedAt: now,
    });
    const row = (await repo.findUserById(trx, id))!;
    await audit(services, trx, 'user.created', row, null, toUser(row));
    return toUser(row);
  });
}

export async function listUsers(services: Services, principal: Principal, page: PageQuery) {
  requireUnrestricted(principal);
  const rows = await repo.listUsers(services.db, { after: decodeCursor(page.cursor), limit: page.limit + 1 });
  const { items, next } = pageOf(rows, page.limit, (r) => r.username);
  return { items: items.map(toUser), next };
}

export async function getUser(services: Services, principal: Principal, username: string): Promise<User> {
  if (principal.username !== username) requireUnrestricted(principal);
  const row = await repo.findUserByUsername(services.db, username);
  if (!row) throw notFound(`user ${username}`);
  return toUser(row);
}

/**
 * Changes a user's role and/or organization limit. Nothing else needs to follow: every request
 * reads the user's role and organization anew (authenticateAdminToken), so their sessions and
 * tokens have the new rights from their next request on, and a token's scopes are always cut to
 * what the role allows. Refused when it would leave no admin who sees all of DS: nobody could
 * manage users, organizations or keys any more.
 */
export async function updateUser(services: Services, principal: Principal, username: string, body: UserUpdate): Promise<User> {
  requireUnrestricted(principal);
  return services.db.transaction().execute(async (trx) => {
    const row = await repo.findUserByUsername(trx, username);
    if (!row) throw notFound(`user ${username}`);
    const role = body.role ?? row.role;
    const organizationId = body.organization === undefined ? row.organizationId : await organizationIdOf(trx, body.organization);
    const wasUnrestrictedAdmin = row.role === 'admin' && row.organizationId === null;
    const staysUnrestrictedAdmin = role === 'admin' && organizationId === null;
    if (wasUnrestrictedAdmin && !staysUnrestrictedAdmin && (await repo.countUnrestrictedAdmins(trx)) <= 1) {
      throw conflict(`${username} is the last admin who is not limited to an organization; make another one first (ds user update <name> --role admin --no-org)`);
    }
    if (role !== row.role || organizationId !== row.organizationId) {
      await repo.updateUserAccess(trx, row.id, { role, organizationId, updatedAt: iso(services.clock.now()) });
    }
    const updated = (await repo.findUserById(trx, row.id))!;
    await audit(services, trx, 'user.updated', updated, toUser(row), toUser(updated));
    return toUser(updated);
  });
}

export async function deleteUser(services: Services, principal: Principal, username: string): Promise<DeleteResult> {
  requireUnrestricted(principal);
  return services.db.transaction().execute(async (trx) => {
    const row = await repo.findUserByUsername(trx, username);
    if (!row) throw notFound(`user ${username}`);
    if (row.role === 'admin' && row.organizationId === null && (await repo.countUnrestrictedAdmins(trx)) <= 1) {
      throw conflict(`${username} is the last admin who is not limited to an organization; create another first`);
    }
    const tokens = await trx
      .selectFrom('adminTokens')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('userId', '=', row.id)
      .where('kind', '=', 'api')
      .executeTakeFirstOrThrow();
    await repo.deleteUser(trx, row.id);
    await audit(services, trx, 'user.deleted', row, toUser(row), null, true);
    return { deleted: username, removed: { apiTokens: Number(tokens.n) } };
  });
}

/**
 * Sets a password. One's own needs a login session and the current password (a leaked API token
 * must not be able to take its owner's account over) and ends one's other sessions; another
 * user's needs users:write (checked by the route) and an unrestricted admin, and ends all of
 * that user's sessions.
 */
export async function setPassword(
  services: Services,
  principal: Principal,
  username: string,
  body: { password: string; currentPassword?: string | undefined },
  address: string,
): Promise<User> {
  if (principal.username === username) {
    if (principal.credential !== 'session') {
      throw new AppError('FORBIDDEN', 'changing your own password needs a login session (ds login), not an API token');
    }
    if (body.currentPassword === undefined) throw invalid('currentPassword', 'is needed to change your own password');
    const self = await repo.findUserByUsername(services.db, username);
    if (!(await checkPassword(services, self, username, body.currentPassword, address))) {
      throw new AppError('FORBIDDEN', 'currentPassword: that is not your current password');
    }
  } else {
    requireUnrestricted(principal);
  }
  const passwordHash = await hashPassword(body.password);
  return services.db.transaction().execute(async (trx) => {
    const row = await repo.findUserByUsername(trx, username);
    if (!row) throw notFound(`user ${username}`);
    const now = iso(services.clock.now());
    await repo.updateUserPassword(trx, row.id, passwordHash, now);
    await trx
      .updateTable('adminTokens')
      .set({ revokedAt: now })
      .where('userId', '=', row.id)
      .where('kind', '=', 'session')
      .where('revokedAt', 'is', null)
      .$if(principal.userId === row.id, (q) => q.where('id', '<>', principal.tokenId))
      .execute();
    const updated = (await repo.findUserById(trx, row.id))!;
    await audit(services, trx, 'user.password_set', updated, toUser(row), toUser(updated), true);
    return toUser(updated);
  });
}
