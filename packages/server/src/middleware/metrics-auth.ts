import { createHash, timingSafeEqual } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import type { AppEnv, Services } from '../context.js';
import { AppError } from '../lib/errors.js';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * `Authorization: Bearer <DS_METRICS_TOKEN>` when DS has a metrics token; without one, anyone who
 * reaches DS may read /metrics (README: Monitoring). The token is compared by its SHA-256 digest
 * in constant time, so neither its length nor its prefix shows in how long a refusal takes.
 */
export function metricsAuth(services: Services) {
  const token = services.config.metricsToken;
  const expected = token === undefined ? undefined : digest(token);
  const refuse = (description: string) => new AppError('UNAUTHENTICATED', description, undefined, { 'WWW-Authenticate': 'Bearer realm="ds-metrics"' });
  return createMiddleware<AppEnv>(async (c, next) => {
    if (expected) {
      const header = c.req.header('authorization');
      if (!header) throw refuse('this DS has a metrics token: send Authorization: Bearer <DS_METRICS_TOKEN>');
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match?.[1]) throw refuse('the Authorization header must be "Bearer <DS_METRICS_TOKEN>"');
      if (!timingSafeEqual(digest(match[1]), expected)) throw refuse('that is not the metrics token of this DS');
    }
    await next();
  });
}
