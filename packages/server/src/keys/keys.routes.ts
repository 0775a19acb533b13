import { API, type DsKeyInfo } from '@ds/shared';
import type { Services } from '../context.js';
import { handle, type BoundRoute } from '../lib/routes.js';
import { RETENTION_SECONDS } from './keystore.js';

/** The DS keys as operators see them: public parts, status and how long each stays published. */
function keyInfos(services: Services): DsKeyInfo[] {
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
    };
  });
}

/** `/.well-known/jwks.json` (public) and `/admin/keys`: the DS key pairs and their rotation. */
export function keyRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.jwks, ({ c }) => {
      c.header('Cache-Control', 'public, max-age=300');
      return services.keys.jwks();
    }),
    handle(API.listKeys, async () => {
      await services.keys.reload();
      return keyInfos(services);
    }),
    handle(API.rotateKeys, async ({ body }) => {
      await services.keys.rotate(body.type ?? services.config.keyType, body.use === 'both' ? ['sig', 'enc'] : [body.use]);
      return keyInfos(services);
    }),
  ];
}
