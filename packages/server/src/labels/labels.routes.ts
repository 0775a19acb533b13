import { ForceQuerySchema, LabelPutSchema, NameSchema, PageQuerySchema, RotateKeyRequestSchema } from '@ds/shared';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv, Services } from '../context.js';
import { adminAuth, requireScope } from '../middleware/admin-auth.js';
import { ok, okPage } from '../lib/respond.js';
import { jsonBody, parseWith, query } from '../lib/validate.js';
import * as service from './labels.service.js';

const LabelListQuerySchema = PageQuerySchema.extend({ organization: NameSchema.optional() });

/** `/admin/labels` */
export function labelRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use('*', adminAuth(services));
  app.get('/', requireScope('labels:read'), async (c) => {
    const { organization, ...page } = query(c, LabelListQuerySchema);
    return okPage(c, await service.listLabels(services, c.var.principal, page, organization));
  });
  app.get('/:name', requireScope('labels:read'), async (c) => ok(c, await service.getLabel(services, c.var.principal, c.req.param('name'))));
  app.put('/:name', requireScope('labels:write'), async (c) => {
    const name = parseWith(NameSchema, c.req.param('name'), 'label name');
    const { created, label } = await service.putLabel(services, c.var.principal, name, await jsonBody(c, LabelPutSchema));
    return ok(c, label, created ? 201 : 200);
  });
  app.delete('/:name', requireScope('labels:write'), async (c) => {
    const { force } = query(c, ForceQuerySchema);
    return ok(c, await service.deleteLabel(services, c.var.principal, c.req.param('name'), force));
  });
  app.post('/:name/rotate-key', requireScope('labels:write'), async (c) => {
    const { graceSeconds } = await jsonBody(c, RotateKeyRequestSchema);
    return ok(c, await service.rotateLabelKey(services, c.var.principal, c.req.param('name'), graceSeconds));
  });
  app.post('/:name/revoke-key', requireScope('labels:write'), async (c) => {
    await jsonBody(c, z.strictObject({}));
    return ok(c, await service.revokeLabelKeys(services, c.var.principal, c.req.param('name')));
  });
  return app;
}
