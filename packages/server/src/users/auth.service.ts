import type { LoginResult, Whoami } from '@ds/shared';
import type { Services } from '../context.js';
import { addSeconds, iso } from '../lib/clock.js';
import { AppError } from '../lib/errors.js';
import { DUMMY_PASSWORD_HASH, KEY_PREFIX, newSecret, secretDigest, secretHint, verifyPassword } from '../lib/secrets.js';
import { roleScopes, type Principal } from './principal.js';
import * as tokens from '../admin-tokens/admin-tokens.repository.js';
import { parseScopes } from '../admin-tokens/admin-tokens.service.js';
import * as repo from './users.repository.js';
import { actorOf, anonymousActor, recordEvent, recordStandaloneEvent } from '../audit/audit.service.js';

/** Recording `last used` at most this often keeps a write off most authenticated requests. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Checks a password of `username` (the user, or undefined when there is none) under the login
 * limits: failures count per address and username and per address alone (so rotating usernames
 * does not buy more guesses), in the database (so they hold across processes and nodes). True
 * when it matches.
 */
export async function checkPassword(
  services: Services,
  user: { passwordHash: string; organizationId?: string | null; organizationName?: string | null } | undefined,
  username: string,
  password: string,
  address: string,
): Promise<boolean> {
  const userKey = `${address}|${username.toLowerCase()}`;
  await services.loginLimiter.check(userKey, 'failed logins');
  await services.loginAddressLimiter.check(address, 'failed logins from this address');
  // Hash even for an unknown user so the answer time does not tell which usernames exist.
  const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (user && ok) {
    await services.loginLimiter.succeed(userKey);
    return true;
  }
  await services.loginLimiter.fail(userKey);
  await services.loginAddressLimiter.fail(address);
  services.logger.warn('password check failed', { username, address });
  // Security events: the failure, and the lockout when this failure reached a limit.
  const organization = user?.organizationId ? { id: user.organizationId, name: user.organizationName ?? '' } : null;
  const event = { resourceType: 'user', resourceId: username, organization, actor: anonymousActor(username), address, always: true };
  await recordStandaloneEvent(services, { ...event, action: 'auth.login_failed' });
  const lockedFor = Math.max(await services.loginLimiter.retryAfter(userKey), await services.loginAddressLimiter.retryAfter(address));
  if (lockedFor > 0) await recordStandaloneEvent(services, { ...event, action: 'auth.locked_out', after: { retryAfterSeconds: lockedFor } });
  return false;
}

/** Checks a password and opens a session. */
export async function login(services: Services, username: string, password: string, address: string): Promise<LoginResult> {
  const user = await repo.findUserByUsername(services.db, username);
  if (!(await checkPassword(services, user, username, password, address)) || !user) throw new AppError('INVALID_CREDENTIALS', 'wrong username or password');
  return openSession(services, user);
}

/** Creates a session token for a user (login, and the dashboard later). */
export async function openSession(services: Services, user: repo.UserRowWithOrg): Promise<LoginResult> {
  const now = services.clock.now();
  const token = newSecret(KEY_PREFIX.session);
  const expiresAt = iso(addSeconds(now, services.config.sessionTtlSeconds));
  const id = crypto.randomUUID();
  const userId = user.id;
  await services.db.transaction().execute(async (trx) => {
    await tokens.insertAdminToken(trx, {
      id,
      userId,
      kind: 'session',
      name: null,
      tokenHash: secretDigest(token),
      prefix: secretHint(token),
      scopes: null,
      createdAt: iso(now),
      expiresAt,
      revokedAt: null,
      lastUsedAt: iso(now),
    });
    await recordEvent(services, trx, {
      action: 'auth.login',
      resourceType: 'session',
      resourceId: id,
      organization: user.organizationId !== null ? { id: user.organizationId, name: user.organizationName ?? '' } : null,
      actor: { type: 'user', name: user.username, userId, credential: 'session', tokenId: id },
      after: { username: user.username, expiresAt },
    });
  });
  return { token, expiresAt };
}

/** Resolves a bearer token to a principal, or throws 401 saying why. */
export async function authenticateAdminToken(services: Services, token: string): Promise<Principal> {
  const row = await tokens.findAdminTokenByHash(services.db, secretDigest(token));
  if (!row) throw new AppError('UNAUTHENTICATED', 'the token is not valid', undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  const now = services.clock.now();
  if (row.revokedAt !== null) throw new AppError('TOKEN_REVOKED', 'the token has been revoked');
  if (row.expiresAt !== null && row.expiresAt <= iso(now)) {
    throw new AppError('TOKEN_EXPIRED', row.kind === 'session' ? 'the session has expired; log in again' : 'the token has expired');
  }
  if (!row.lastUsedAt || now.getTime() - Date.parse(row.lastUsedAt) > TOUCH_INTERVAL_MS) {
    await tokens.touchAdminToken(services.db, row.id, iso(now));
  }
  const allowed = roleScopes(row.role, row.organizationId !== null);
  const scopes =
    row.kind === 'session'
      ? allowed
      : new Set(parseScopes(row.scopes).filter((s) => allowed.has(s)));
  return {
    userId: row.userId,
    username: row.username,
    role: row.role,
    organizationId: row.organizationId,
    organizationName: row.organizationName,
    credential: row.kind === 'session' ? 'session' : 'api-token',
    tokenId: row.id,
    tokenName: row.name,
    scopes,
    expiresAt: row.expiresAt,
  };
}

export async function logout(services: Services, principal: Principal): Promise<void> {
  // An API token is revoked with `ds token revoke`; logging out only ends sessions.
  await services.db.transaction().execute(async (trx) => {
    if (principal.credential === 'session') await tokens.revokeAdminToken(trx, principal.tokenId, iso(services.clock.now()));
    await recordEvent(services, trx, {
      action: 'auth.logout',
      resourceType: principal.credential === 'session' ? 'session' : 'token',
      resourceId: principal.tokenId,
      organization: principal.organizationId !== null ? { id: principal.organizationId, name: principal.organizationName ?? '' } : null,
      actor: actorOf(principal),
      always: true,
    });
  });
}

export function whoami(principal: Principal): Whoami {
  return {
    username: principal.username,
    role: principal.role,
    organization: principal.organizationName,
    credential: principal.credential,
    tokenName: principal.tokenName,
    scopes: [...principal.scopes].sort(),
    expiresAt: principal.expiresAt,
  };
}
