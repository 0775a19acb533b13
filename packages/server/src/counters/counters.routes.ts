import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { handle, type BoundRoute } from '../lib/routes.js';
import { rollover } from './rollover.service.js';

/** `/admin/counters`: the month rollover on demand (it also runs by itself). */
export function counterRoutes(services: Services): BoundRoute[] {
  return [handle(API.rolloverCounters, ({ body }) => rollover(services, body.month))];
}
