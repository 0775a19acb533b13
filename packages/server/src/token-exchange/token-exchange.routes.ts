import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { clientAddress, ok } from '../lib/respond.js';
import * as service from './token-exchange.service.js';

/** `/tokens`: API keys for JWTs (browser apps and T1C installers). */
export function tokenExchangeRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.get('/application', async (c) => ok(c, await service.applicationToken(services, c.req.header('apikey'), clientAddress(c))));
  app.get('/installation', async (c) => ok(c, await service.installationToken(services, c.req.header('apikey'), clientAddress(c))));
  return app;
}
