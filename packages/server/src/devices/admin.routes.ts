import { DeviceListQuerySchema } from '@ds/shared';
import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { adminAuth, requireScope } from '../middleware/admin-auth.js';
import { ok, okPage } from '../lib/respond.js';
import { query } from '../lib/validate.js';
import * as service from './admin.service.js';

/** `/admin/devices` */
export function adminDeviceRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use('*', adminAuth(services));
  app.get('/', requireScope('devices:read'), async (c) => okPage(c, await service.listDevices(services, c.var.principal, query(c, DeviceListQuerySchema))));
  app.get('/:id', requireScope('devices:read'), async (c) => ok(c, await service.getDevice(services, c.var.principal, c.req.param('id'))));
  app.delete('/:id', requireScope('devices:write'), async (c) => ok(c, await service.removeDevice(services, c.var.principal, c.req.param('id'))));
  return app;
}
