import { RolloverRequestSchema } from '@ds/shared';
import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { adminAuth, requireScope } from '../middleware/admin-auth.js';
import { ok } from '../lib/respond.js';
import { jsonBody } from '../lib/validate.js';
import { requireUnrestricted } from '../users/principal.js';
import { rollover } from './rollover.service.js';

/** `/admin/counters`: the month rollover on demand (it also runs by itself). */
export function counterRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use('*', adminAuth(services));
  app.post('/rollover', requireScope('counters:write'), async (c) => {
    requireUnrestricted(c.var.principal);
    const body = await jsonBody(c, RolloverRequestSchema);
    return ok(c, await rollover(services, body.month));
  });
  return app;
}
