import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { AttemptLimiter } from '../lib/rate-limit.js';
import { clientAddress } from '../lib/client-address.js';
import { createdOr, handle, type BoundRoute } from '../lib/routes.js';
import { registerDevice, syncMessage } from './devices.service.js';
import { handleDeviceMessage } from './message-pipeline.js';
import { versionCheckMessage } from './version-check.js';

/** `/devices`: registration and the signed-and-encrypted device messages. */
export function deviceRoutes(services: Services): BoundRoute[] {
  // The installation key ships in every public installer, so anyone can register devices: each
  // address may register `registrationsPerAddressPerHour` an hour (counted in the database, so
  // across every DS process and node), then waits (429, Retry-After).
  const registrations = new AttemptLimiter(services.db, services.clock, 'device-registration', services.config.registrationsPerAddressPerHour, 3600_000);
  return [
    handle(API.registerDevice, async ({ c, body, token }) => {
      await registrations.attempt(clientAddress(c), 'device registrations from this address');
      const { created, data } = await registerDevice(services, body, token.versionId);
      return createdOr(data, created);
    }),
    // Every device message goes through the one pipeline (open, replay check, validate, handle and record, seal).
    handle(API.versionCheck, ({ c }) => handleDeviceMessage(services, c, versionCheckMessage)),
    handle(API.sync, ({ c }) => handleDeviceMessage(services, c, syncMessage)),
  ];
}
