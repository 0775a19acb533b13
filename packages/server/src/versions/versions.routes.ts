import {
  ContextConfigSchema,
  ForceQuerySchema,
  PageQuerySchema,
  RotateKeyRequestSchema,
  SemverSchema,
  SslKeystoreConfigSchema,
  VersionPutSchema,
} from '@ds/shared';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv, Services } from '../context.js';
import { adminAuth, requireScope } from '../middleware/admin-auth.js';
import { ok, okPage } from '../lib/respond.js';
import { jsonBody, parseWith, query } from '../lib/validate.js';
import * as service from './versions.service.js';

export const ContextConfigPutSchema = z.strictObject({ config: ContextConfigSchema.nullable() });
const VersionIdParamSchema = z.object({ id: SemverSchema });
export const SslKeystoreConfigPutSchema = z.strictObject({ config: SslKeystoreConfigSchema.nullable() });

/** Config routes shared by `/versions/{id}` and `/defaults` (id `default`). */
function configRoutes(app: Hono<AppEnv>, services: Services, prefix: string, idOf: (param: string | undefined) => string) {
  app.get(`${prefix}/context-config`, requireScope('versions:read'), async (c) =>
    ok(c, await service.getConfig(services, idOf(c.req.param('id')), 'contextConfig')),
  );
  app.put(`${prefix}/context-config`, requireScope('versions:write'), async (c) => {
    const { config } = await jsonBody(c, ContextConfigPutSchema);
    return ok(c, await service.putConfig(services, idOf(c.req.param('id')), 'contextConfig', config));
  });
  app.get(`${prefix}/ssl-keystore-config`, requireScope('versions:read'), async (c) =>
    ok(c, await service.getConfig(services, idOf(c.req.param('id')), 'sslKeystoreConfig')),
  );
  app.put(`${prefix}/ssl-keystore-config`, requireScope('versions:write'), async (c) => {
    const { config } = await jsonBody(c, SslKeystoreConfigPutSchema);
    return ok(c, await service.putConfig(services, idOf(c.req.param('id')), 'sslKeystoreConfig', config));
  });
}

/** `/admin/versions` */
export function versionRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use('*', adminAuth(services));
  app.get('/', requireScope('versions:read'), async (c) => okPage(c, await service.listVersions(services, query(c, PageQuerySchema))));
  app.get('/:id', requireScope('versions:read'), async (c) => ok(c, await service.getVersion(services, c.req.param('id'))));
  app.put('/:id', requireScope('versions:write'), async (c) => {
    // Validated as an object so the error names the path parameter (`id`), not "(body)".
    const { id } = parseWith(VersionIdParamSchema, { id: c.req.param('id') }, 'path');
    const { created, version } = await service.putVersion(services, id, await jsonBody(c, VersionPutSchema));
    return ok(c, version, created ? 201 : 200);
  });
  app.delete('/:id', requireScope('versions:write'), async (c) => {
    const { force } = query(c, ForceQuerySchema);
    return ok(c, await service.deleteVersion(services, c.req.param('id'), force));
  });
  app.get('/:id/verify', requireScope('versions:read'), async (c) => ok(c, await service.verifyVersion(services, c.req.param('id'))));
  app.post('/:id/rotate-key', requireScope('versions:write'), async (c) => {
    const { graceSeconds } = await jsonBody(c, RotateKeyRequestSchema);
    return ok(c, await service.rotateVersionKey(services, c.req.param('id'), graceSeconds));
  });
  app.post('/:id/revoke-key', requireScope('versions:write'), async (c) => {
    await jsonBody(c, z.strictObject({}));
    return ok(c, await service.revokeVersionKeys(services, c.req.param('id')));
  });
  configRoutes(app, services, '/:id', (id) => id ?? '');
  return app;
}

/** `/admin/defaults`: the DS-wide configs versions fall back to. */
export function defaultsRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use('*', adminAuth(services));
  app.get('/', requireScope('versions:read'), async (c) => ok(c, await service.getDefaults(services)));
  configRoutes(app, services, '', () => 'default');
  return app;
}
