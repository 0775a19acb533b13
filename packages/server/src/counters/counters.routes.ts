import { DeviceReportQuerySchema, DownloadReportQuerySchema, RolloverRequestSchema, TransactionReportQuerySchema } from '@ds/shared';
import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { adminAuth, requireScope } from '../middleware/admin-auth.js';
import { ok } from '../lib/respond.js';
import { jsonBody, query } from '../lib/validate.js';
import { requireUnrestricted } from '../users/principal.js';
import * as reports from './reports.service.js';
import { rollover } from './rollover.service.js';

/** `/admin/reports`: transactions, devices and downloads. */
export function reportRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use('*', adminAuth(services));
  app.get('/transactions', requireScope('reports:read'), async (c) =>
    ok(c, await reports.transactionsReport(services, c.var.principal, query(c, TransactionReportQuerySchema))),
  );
  app.get('/devices', requireScope('reports:read'), async (c) => ok(c, await reports.devicesReport(services, c.var.principal, query(c, DeviceReportQuerySchema))));
  app.get('/downloads', requireScope('reports:read'), async (c) =>
    ok(c, await reports.downloadsReport(services, c.var.principal, query(c, DownloadReportQuerySchema))),
  );
  return app;
}

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
