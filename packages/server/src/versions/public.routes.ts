import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv, Services } from '../context.js';
import { notFound } from '../lib/errors.js';
import { ok } from '../lib/respond.js';
import { bearer, verifyApplicationToken } from '../token-exchange/token-exchange.service.js';
import { versionInfo } from './version-info.js';
import { findVersion, latestVersion } from './versions.repository.js';

/** `/versions`: version information for holders of an application JWT. */
export function publicVersionRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use(
    '*',
    createMiddleware<AppEnv>(async (c, next) => {
      await verifyApplicationToken(services, bearer(c.req.header('authorization')));
      await next();
    }),
  );
  app.get('/latest', async (c) => {
    const row = await latestVersion(services.db, { allowedOnly: true });
    if (!row) throw notFound('an allowed version');
    return ok(c, await versionInfo(services.db, services.config.publicUrl, row));
  });
  app.get('/:id', async (c) => {
    const row = await findVersion(services.db, c.req.param('id'));
    if (!row) throw notFound(`version ${c.req.param('id')}`);
    return ok(c, await versionInfo(services.db, services.config.publicUrl, row));
  });
  return app;
}
