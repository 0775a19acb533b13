import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { createdOr, handle, type BoundRoute } from '../lib/routes.js';
import { registerDevice, syncMessage } from './devices.service.js';
import { handleDeviceMessage } from './message-pipeline.js';
import { versionCheckMessage } from './version-check.js';

/** `/devices`: registration and the signed-and-encrypted device messages. */
export function deviceRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.registerDevice, async ({ body, token }) => {
      const { created, data } = await registerDevice(services, body, token.versionId);
      return createdOr(data, created);
    }),
    // Every device message goes through the one pipeline (open, replay check, validate, handle and record, seal).
    handle(API.versionCheck, ({ c }) => handleDeviceMessage(services, c, versionCheckMessage)),
    handle(API.sync, ({ c }) => handleDeviceMessage(services, c, syncMessage)),
  ];
}
