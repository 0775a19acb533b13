import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { adminAuth, requireScope } from '../middleware/admin-auth.js';
import { ok } from '../lib/respond.js';
import { requireUnrestricted } from '../users/principal.js';
import * as service from './system.service.js';

/** `/system/status`: public. */
export function publicSystemRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.get('/status', async (c) => {
    const status = await service.systemStatus(services);
    return c.json({ success: true as const, data: status }, status.isAlive ? 200 : 503);
  });
  return app;
}

/** `/admin/system/info`: counts over all organizations, so only for unrestricted users. */
export function adminSystemRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use('*', adminAuth(services));
  app.get('/info', requireScope('system:read'), async (c) => {
    requireUnrestricted(c.var.principal);
    return ok(c, await service.systemInfo(services));
  });
  return app;
}
