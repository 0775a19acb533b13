import type { ApiToken, DeleteResult, PageQuery, TokenCreate, User, UserCreate } from '@ds/shared';
import type { Services } from '../context.js';
import type { Executor } from '../db/types.js';
import { addSeconds, iso } from '../lib/clock.js';
import { AppError, conflict, notFound } from '../lib/errors.js';
import { decodeCursor, pageOf } from '../lib/pagination.js';
import { KEY_PREFIX, hashPassword, newSecret, secretDigest, secretHint } from '../lib/secrets.js';
import { findOrganizationByName } from '../organizations/organizations.repository.js';
import { parseScopes } from './auth.service.js';
import { requireUnrestricted, type Principal } from './principal.js';
import * as repo from './users.repository.js';

function toUser(row: repo.UserRowWithOrg): User {
  return { username: row.username, role: row.role, organization: row.organizationName, createdAt: row.createdAt, updatedAt: row.updatedAt };
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
    return toUser((await repo.findUserById(trx, id))!);
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
    return { deleted: username, removed: { apiTokens: Number(tokens.n) } };
  });
}

/** Sets a password: anyone for themselves, unrestricted admins for everyone. Ends the user's sessions. */
export async function setPassword(services: Services, principal: Principal, username: string, password: string): Promise<User> {
  if (principal.username !== username) requireUnrestricted(principal);
  const passwordHash = await hashPassword(password);
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
    return toUser((await repo.findUserById(trx, row.id))!);
  });
}

// ------------------------------------------------------------------ admin API tokens

function toApiToken(row: repo.ApiTokenRowWithUser, token?: string): ApiToken {
  return {
    id: row.id,
    name: row.name ?? '',
    username: row.username,
    scopes: parseScopes(row.scopes),
    prefix: row.prefix,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
    ...(token ? { token } : {}),
  };
}

export async function createApiToken(services: Services, principal: Principal, body: TokenCreate): Promise<ApiToken> {
  const missing = body.scopes.filter((s) => !principal.scopes.has(s));
  if (missing.length > 0) {
    throw new AppError('FORBIDDEN', `a token cannot carry scopes its creator lacks: ${missing.join(', ')}`, { scopes: missing });
  }
  const now = services.clock.now();
  const token = newSecret(KEY_PREFIX.admin);
  const id = crypto.randomUUID();
  await repo.insertAdminToken(services.db, {
    id,
    userId: principal.userId,
    kind: 'api',
    name: body.name,
    tokenHash: secretDigest(token),
    prefix: secretHint(token),
    scopes: JSON.stringify([...new Set(body.scopes)].sort()),
    createdAt: iso(now),
    expiresAt: body.expiresInSeconds ? iso(addSeconds(now, body.expiresInSeconds)) : null,
    revokedAt: null,
    lastUsedAt: null,
  });
  return toApiToken((await repo.findApiToken(services.db, id))!, token);
}

export async function listApiTokens(services: Services, principal: Principal, page: PageQuery, all: boolean) {
  if (all) requireUnrestricted(principal);
  const rows = await repo.listApiTokens(services.db, {
    ...(all ? {} : { userId: principal.userId }),
    after: decodeCursor(page.cursor),
    limit: page.limit + 1,
  });
  const { items, next } = pageOf(rows, page.limit, (r) => r.id);
  return { items: items.map((r) => toApiToken(r)), next };
}

export async function revokeApiToken(services: Services, principal: Principal, id: string): Promise<ApiToken> {
  const row = await repo.findApiToken(services.db, id);
  const unrestrictedAdmin = principal.role === 'admin' && principal.organizationId === null;
  if (!row || (row.userId !== principal.userId && !unrestrictedAdmin)) {
    if (unrestrictedAdmin) throw notFound(`token ${id}`);
    throw new AppError('FORBIDDEN', 'this credential may revoke only its own tokens');
  }
  await repo.revokeAdminToken(services.db, id, iso(services.clock.now()));
  return toApiToken((await repo.findApiToken(services.db, id))!);
}
