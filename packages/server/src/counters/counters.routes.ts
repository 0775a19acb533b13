import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { handle, type BoundRoute } from '../lib/routes.js';
import { recordStandaloneEvent } from '../audit/audit.service.js';
import { rollover } from './rollover.service.js';

/** `/admin/counters`: the month rollover on demand (it also runs by itself). */
export function counterRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.rolloverCounters, async ({ body }) => {
      const results = await rollover(services, body.month);
      // Each month it completes records `rollover.done` in its last batch; the request itself is
      // recorded too (a run that found nothing to do is still an operator's act).
      await recordStandaloneEvent(services, {
        action: 'counters.rollover_requested',
        resourceType: 'rollover',
        resourceId: body.month ?? null,
        after: { months: results.map((r) => r.month) },
        always: true,
      });
      return results;
    }),
  ];
}
