import { ForceQuerySchema, NameSchema, OrganizationPutSchema, PageQuerySchema } from '@ds/shared';
import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { adminAuth, requireScope } from '../middleware/admin-auth.js';
import { ok, okPage } from '../lib/respond.js';
import { jsonBody, parseWith, query } from '../lib/validate.js';
import * as service from './organizations.service.js';

/** `/admin/organizations` */
export function organizationRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use('*', adminAuth(services));
  app.get('/', requireScope('orgs:read'), async (c) =>
    okPage(c, await service.listOrganizations(services, c.var.principal, query(c, PageQuerySchema))),
  );
  app.get('/:name', requireScope('orgs:read'), async (c) => ok(c, await service.getOrganization(services, c.var.principal, c.req.param('name'))));
  app.put('/:name', requireScope('orgs:write'), async (c) => {
    const name = parseWith(NameSchema, c.req.param('name'), 'organization name');
    const { created, organization } = await service.putOrganization(services, c.var.principal, name, await jsonBody(c, OrganizationPutSchema));
    return ok(c, organization, created ? 201 : 200);
  });
  app.delete('/:name', requireScope('orgs:write'), async (c) => {
    const { force } = query(c, ForceQuerySchema);
    return ok(c, await service.deleteOrganization(services, c.var.principal, c.req.param('name'), force));
  });
  return app;
}
