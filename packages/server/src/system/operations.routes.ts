import { operationsRoutes as OPERATIONS } from '@ds/shared';
import type { Services } from '../context.js';
import { handle, type BoundRoute } from '../lib/routes.js';
import { readiness } from './health.js';

/** `/metrics`, `/livez` and `/readyz`, at the root of DS. */
export function operationsRoutes(services: Services): BoundRoute[] {
  return [
    handle(OPERATIONS.metrics, async ({ c }) => {
      const text = await services.metricsText();
      return c.body(text, 200, { 'Content-Type': services.metrics.contentType, 'Cache-Control': 'no-store' });
    }),
    // The process answers: nothing else is asked, so a slow database never restarts a healthy DS.
    handle(OPERATIONS.livez, ({ c }) => {
      c.header('Cache-Control', 'no-store');
      return { status: 'ok' as const };
    }),
    handle(OPERATIONS.readyz, async ({ c }) => {
      const health = await readiness(services);
      c.header('Cache-Control', 'no-store');
      return health.status === 'ok' ? health : c.json(health, 503);
    }),
  ];
}
