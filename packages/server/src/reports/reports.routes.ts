import { DeviceReportQuerySchema, DownloadReportQuerySchema, TransactionReportQuerySchema } from '@ds/shared';
import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { adminAuth, requireScope } from '../middleware/admin-auth.js';
import { ok } from '../lib/respond.js';
import { query } from '../lib/validate.js';
import { devicesReport } from './devices.js';
import { downloadsReport } from './downloads.js';
import { transactionsReport } from './transactions.js';

/** `/admin/reports`: transactions, devices and downloads. */
export function reportRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use('*', adminAuth(services));
  app.get('/transactions', requireScope('reports:read'), async (c) =>
    ok(c, await transactionsReport(services, c.var.principal, query(c, TransactionReportQuerySchema))),
  );
  app.get('/devices', requireScope('reports:read'), async (c) => ok(c, await devicesReport(services, c.var.principal, query(c, DeviceReportQuerySchema))));
  app.get('/downloads', requireScope('reports:read'), async (c) => ok(c, await downloadsReport(services, c.var.principal, query(c, DownloadReportQuerySchema))));
  return app;
}
