import { PageQuerySchema, TokenCreateSchema } from '@ds/shared';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv, Services } from '../context.js';
import { adminAuth, requireScope } from '../middleware/admin-auth.js';
import { ok, okPage } from '../lib/respond.js';
import { jsonBody, query } from '../lib/validate.js';
import * as service from './admin-tokens.service.js';

const TokenListQuerySchema = PageQuerySchema.extend({ all: z.enum(['true', 'false']).optional() });

/** `/admin/tokens`: admin API tokens for pipelines. */
export function tokenRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use('*', adminAuth(services));
  app.get('/', requireScope('tokens:read'), async (c) => {
    const { all, ...page } = query(c, TokenListQuerySchema);
    return okPage(c, await service.listApiTokens(services, c.var.principal, page, all === 'true'));
  });
  app.post('/', requireScope('tokens:write'), async (c) =>
    ok(c, await service.createApiToken(services, c.var.principal, await jsonBody(c, TokenCreateSchema)), 201),
  );
  app.delete('/:id', requireScope('tokens:write'), async (c) => ok(c, await service.revokeApiToken(services, c.var.principal, c.req.param('id'))));
  return app;
}
