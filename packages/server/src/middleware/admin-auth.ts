import type { Scope } from '@ds/shared';
import { createMiddleware } from 'hono/factory';
import type { AppEnv, Services } from '../context.js';
import { AppError } from '../lib/errors.js';
import { authenticateAdminToken } from '../users/auth.service.js';
import { requireScopeOf } from '../users/principal.js';

/** Verifies `Authorization: Bearer <session or admin API token>` and sets `c.var.principal`. */
export function adminAuth(services: Services) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header('authorization');
    if (!header) throw new AppError('UNAUTHENTICATED', 'missing Authorization: Bearer <token>', undefined, { 'WWW-Authenticate': 'Bearer' });
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw new AppError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"', undefined, { 'WWW-Authenticate': 'Bearer' });
    c.set('principal', await authenticateAdminToken(services, match[1]));
    await next();
  });
}

/** Route guard: the principal's credential must carry `scope`. */
export function requireScope(scope: Scope) {
  return createMiddleware<AppEnv>(async (c, next) => {
    requireScopeOf(c.var.principal, scope);
    await next();
  });
}
