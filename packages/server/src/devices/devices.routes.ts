import { RegistrationRequestSchema, SyncRequestSchema, VersionCheckRequestSchema } from '@ds/shared';
import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { iso } from '../lib/clock.js';
import { ok } from '../lib/respond.js';
import { jsonBody } from '../lib/validate.js';
import { bearer, verifyInstallationToken } from '../token-exchange/token-exchange.service.js';
import { applySync, registerDevice } from './devices.service.js';
import { joseResponse, openDeviceMessage, sealDeviceAnswer } from './messages.js';
import { versionCheck } from './version-check.js';

/** `/devices`: registration and the signed-and-encrypted device messages. */
export function deviceRoutes(services: Services) {
  const app = new Hono<AppEnv>();

  app.post('/', async (c) => {
    await verifyInstallationToken(services, bearer(c.req.header('authorization')));
    const { created, data } = await registerDevice(services, await jsonBody(c, RegistrationRequestSchema));
    return ok(c, data, created ? 201 : 200);
  });

  app.post('/:id/version-check', async (c) => {
    const { device, jti, payload } = await openDeviceMessage(services, services.deviceKeys, c, VersionCheckRequestSchema);
    // A version check changes nothing but is answered the same way when retried.
    const stored = await services.syncStore.findStoredResponse(device.id, jti);
    let answer = stored ? JSON.parse(stored.response) : undefined;
    if (!answer) {
      answer = await versionCheck(services.db, services.config.publicUrl, device, payload.version);
      await services.syncStore.recordMessage({ deviceId: device.id, jti, kind: 'version-check', response: JSON.stringify(answer), receivedAt: iso(services.clock.now()) });
    }
    return joseResponse(c, await sealDeviceAnswer(services, services.deviceKeys, device, answer));
  });

  app.post('/:id/sync', async (c) => {
    const { device, jti, payload } = await openDeviceMessage(services, services.deviceKeys, c, SyncRequestSchema);
    const answer = await applySync(services, device, jti, payload);
    return joseResponse(c, await sealDeviceAnswer(services, services.deviceKeys, device, answer));
  });

  return app;
}
