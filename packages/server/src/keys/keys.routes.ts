import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv, Services } from '../context.js';
import { adminAuth, requireScope } from '../middleware/admin-auth.js';
import { ok } from '../lib/respond.js';
import { jsonBody } from '../lib/validate.js';
import { requireUnrestricted } from '../users/principal.js';
import { RETENTION_SECONDS } from './keystore.js';

/** `/.well-known/jwks.json`: public. */
export function jwksRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.get('/jwks.json', (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(services.keys.jwks());
  });
  return app;
}

export const KeyRotateSchema = z.strictObject({
  type: z.enum(['rsa', 'ec']).optional(),
  use: z.enum(['sig', 'enc', 'both']).default('both'),
});

export const DsKeyInfoSchema = z.object({
  kid: z.string(),
  use: z.enum(['sig', 'enc']),
  alg: z.string(),
  status: z.enum(['current', 'retired', 'expired']),
  createdAt: z.string(),
  retiredAt: z.string().nullable(),
  publishedUntil: z.string().nullable(),
});

/** `/admin/keys`: the DS key pairs (public parts only) and their rotation. */
export function adminKeyRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use('*', adminAuth(services));
  const list = () => {
    const now = services.clock.now().getTime();
    return services.keys.list().map((k) => {
      const until = k.retiredAt ? new Date(Date.parse(k.retiredAt) + RETENTION_SECONDS[k.use] * 1000) : null;
      return {
        kid: k.kid,
        use: k.use,
        alg: k.alg,
        status: k.retiredAt === null ? 'current' : until && until.getTime() > now ? 'retired' : 'expired',
        createdAt: k.createdAt,
        retiredAt: k.retiredAt,
        publishedUntil: until ? until.toISOString() : null,
      } satisfies z.infer<typeof DsKeyInfoSchema>;
    });
  };
  app.get('/', requireScope('keys:read'), async (c) => {
    await services.keys.reload();
    return ok(c, list());
  });
  app.post('/rotate', requireScope('keys:write'), async (c) => {
    requireUnrestricted(c.var.principal);
    const body = await jsonBody(c, KeyRotateSchema);
    const type = body.type ?? services.config.keyType;
    await services.keys.rotate(type, body.use === 'both' ? ['sig', 'enc'] : [body.use]);
    return ok(c, list());
  });
  return app;
}
