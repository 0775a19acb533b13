import { ScopeSchema, type ApiToken, type PageQuery, type Scope, type TokenCreate } from '@ds/shared';
import type { Services } from '../context.js';
import { addSeconds, iso } from '../lib/clock.js';
import { AppError, invalid, notFound } from '../lib/errors.js';
import { decodeCursor, pageOf } from '../lib/pagination.js';
import { KEY_PREFIX, newSecret, secretDigest, secretHint } from '../lib/secrets.js';
import { requireScopeOf, requireUnrestricted, type Principal } from '../users/principal.js';
import * as repo from './admin-tokens.repository.js';
import type { ApiTokenRowWithUser } from './admin-tokens.repository.js';
import { recordEvent } from '../audit/audit.service.js';
import type { Executor } from '../db/types.js';
import { findUserById } from '../users/users.repository.js';

/** Records a token's creation or revocation, under its owner's organization when they are limited to one. */
async function audit(services: Services, trx: Executor, action: string, before: ApiToken | null, after: ApiToken, ownerId: string) {
  const owner = await findUserById(trx, ownerId);
  await recordEvent(services, trx, {
    action,
    resourceType: 'token',
    resourceId: after.id,
    organization: owner?.organizationId ? { id: owner.organizationId, name: owner.organizationName ?? '' } : null,
    before,
    after,
    always: true,
  });
}

// Admin API tokens (`ds_adm_`) for pipelines: scoped, never more than their creator may use.

/** The scopes stored with an API token (JSON text); unknown ones are dropped. */
export function parseScopes(text: string | null): Scope[] {
  if (!text) return [];
  const list = JSON.parse(text) as unknown[];
  return list.filter((s): s is Scope => ScopeSchema.safeParse(s).success);
}


function toApiToken(row: ApiTokenRowWithUser, token?: string): ApiToken {
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

/**
 * When a new token expires: as asked, or as late as allowed. A token lives at most DS's maximum
 * token lifetime, and one made by an API token never outlives it, so a short-lived token that
 * leaks cannot mint a lasting one.
 */
function tokenExpiry(services: Services, principal: Principal, now: Date, seconds: number | undefined): string {
  const max = services.config.tokenMaxLifetimeSeconds;
  let limit = iso(addSeconds(now, max));
  const parent = principal.credential === 'api-token' ? principal.expiresAt : null;
  if (parent !== null && parent < limit) limit = parent;
  if (seconds === undefined) return limit;
  const asked = iso(addSeconds(now, seconds));
  if (asked <= limit) return asked;
  throw invalid(
    'expiresInSeconds',
    limit === parent ? `a token cannot outlive the token that makes it (${parent})` : `at most ${max} seconds (the maximum token lifetime, DS_TOKEN_MAX_LIFETIME_SECONDS)`,
  );
}

export async function createApiToken(services: Services, principal: Principal, body: TokenCreate): Promise<ApiToken> {
  const missing = body.scopes.filter((s) => !principal.scopes.has(s));
  if (missing.length > 0) {
    throw new AppError('FORBIDDEN', `a token cannot carry scopes its creator lacks: ${missing.join(', ')}`, { scopes: missing });
  }
  const now = services.clock.now();
  const expiresAt = tokenExpiry(services, principal, now, body.expiresInSeconds);
  const token = newSecret(KEY_PREFIX.admin);
  const id = crypto.randomUUID();
  return services.db.transaction().execute(async (trx) => {
    await repo.insertAdminToken(trx, {
      id,
      userId: principal.userId,
      kind: 'api',
      name: body.name,
      tokenHash: secretDigest(token),
      prefix: secretHint(token),
      scopes: JSON.stringify([...new Set(body.scopes)].sort()),
      createdAt: iso(now),
      expiresAt,
      revokedAt: null,
      lastUsedAt: null,
    });
    const created = toApiToken((await repo.findApiToken(trx, id))!, token);
    await audit(services, trx, 'token.created', null, created, principal.userId);
    return created;
  });
}

export async function listApiTokens(services: Services, principal: Principal, page: PageQuery, all: boolean) {
  if (all) {
    // Everyone's tokens say who has access to what: that is user administration.
    requireUnrestricted(principal);
    requireScopeOf(principal, 'users:read');
  }
  const rows = await repo.listApiTokens(services.db, {
    ...(all ? {} : { userId: principal.userId }),
    after: decodeCursor(page.cursor),
    limit: page.limit + 1,
  });
  const { items, next } = pageOf(rows, page.limit, (r) => r.id);
  return { items: items.map((r) => toApiToken(r)), next };
}

export async function revokeApiToken(services: Services, principal: Principal, id: string): Promise<ApiToken> {
  return services.db.transaction().execute(async (trx) => {
    const row = await repo.findApiToken(trx, id);
    const unrestrictedAdmin = principal.role === 'admin' && principal.organizationId === null;
    if (!row || (row.userId !== principal.userId && !unrestrictedAdmin)) {
      if (unrestrictedAdmin) throw notFound(`token ${id}`);
      throw new AppError('FORBIDDEN', 'this credential may revoke only its own tokens');
    }
    await repo.revokeAdminToken(trx, id, iso(services.clock.now()));
    const revoked = toApiToken((await repo.findApiToken(trx, id))!);
    await audit(services, trx, 'token.revoked', toApiToken(row), revoked, row.userId);
    return revoked;
  });
}
