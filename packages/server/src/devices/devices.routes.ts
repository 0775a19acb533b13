import { RegistrationRequestSchema } from '@ds/shared';
import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { ok } from '../lib/respond.js';
import { jsonBody } from '../lib/validate.js';
import { bearer, verifyInstallationToken } from '../token-exchange/token-exchange.service.js';
import { registerDevice, syncMessage } from './devices.service.js';
import { handleDeviceMessage } from './message-pipeline.js';
import { versionCheckMessage } from './version-check.js';

/** `/devices`: registration and the signed-and-encrypted device messages. */
export function deviceRoutes(services: Services) {
  const app = new Hono<AppEnv>();

  app.post('/', async (c) => {
    await verifyInstallationToken(services, bearer(c.req.header('authorization')));
    const { created, data } = await registerDevice(services, await jsonBody(c, RegistrationRequestSchema));
    return ok(c, data, created ? 201 : 200);
  });

  // Every device message goes through the one pipeline (open, replay check, validate, handle and record, seal).
  app.post('/:id/version-check', (c) => handleDeviceMessage(services, c, versionCheckMessage));
  app.post('/:id/sync', (c) => handleDeviceMessage(services, c, syncMessage));

  return app;
}
