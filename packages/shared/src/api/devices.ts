import {
  DeviceListQuerySchema,
  DeviceSchema,
  RegistrationRequestSchema,
  RegistrationResponseSchema,
  SyncRequestSchema,
  SyncResponseSchema,
  VersionCheckRequestSchema,
  VersionCheckResponseSchema,
} from '../schemas/device.js';
import { DeleteResultSchema } from '../schemas/admin.js';
import { z } from 'zod';
import { PathSegmentSchema, defineRoute } from './route.js';

const IdParam = z.object({ id: PathSegmentSchema });
/** The device the security tests and the OpenAPI examples use. */
const device = { params: { id: '00000000-0000-4000-8000-00000000d001' } };

/** `/admin/devices`: registered T1C installations as operators see them. */
export const adminDeviceRoutes = {
  listDevices: defineRoute({
    name: 'listDevices',
    method: 'GET',
    path: '/admin/devices',
    summary: 'List devices, newest registration first (a user limited to an organization sees the devices that serve it)',
    auth: { kind: 'admin', scope: 'devices:read', tenancy: 'filtered' },
    query: DeviceListQuerySchema,
    response: DeviceSchema,
    paginated: true,
    example: { query: { organization: 'acme' } },
  }),
  getDevice: defineRoute({
    name: 'getDevice',
    method: 'GET',
    path: '/admin/devices/{id}',
    summary: 'A device with its labels, user agents and counters',
    auth: { kind: 'admin', scope: 'devices:read', tenancy: 'organization' },
    params: IdParam,
    response: DeviceSchema,
    example: device,
  }),
  deleteDevice: defineRoute({
    name: 'deleteDevice',
    method: 'DELETE',
    path: '/admin/devices/{id}',
    summary: 'Delete a device; it must register again',
    auth: { kind: 'admin', scope: 'devices:write', tenancy: 'organization' },
    params: IdParam,
    response: DeleteResultSchema,
    example: device,
  }),
};

/** `/devices`: registration and the signed-and-encrypted device messages (API.md section 3). */
export const deviceProtocolRoutes = {
  registerDevice: defineRoute({
    name: 'registerDevice',
    method: 'POST',
    path: '/devices',
    summary: 'Register a T1C installation (201; the same certificate again answers its id with 200)',
    auth: { kind: 'installation-token' },
    body: RegistrationRequestSchema,
    response: RegistrationResponseSchema,
    created: true,
    example: {
      body: {
        certificate: '-----BEGIN CERTIFICATE-----\nMIIB…(the device’s self-signed certificate)…\n-----END CERTIFICATE-----',
        version: '3.8.1',
        os: { name: 'Windows', version: '11', architecture: 'x64' },
        hostname: 'PC-0042',
      },
    },
  }),
  versionCheck: defineRoute({
    name: 'versionCheck',
    method: 'POST',
    path: '/devices/{id}/version-check',
    summary: 'Whether the device must or may update (application/jose both ways)',
    auth: { kind: 'device-message' },
    params: IdParam,
    body: VersionCheckRequestSchema,
    response: VersionCheckResponseSchema,
    produces: 'jose',
    example: device,
  }),
  sync: defineRoute({
    name: 'sync',
    method: 'POST',
    path: '/devices/{id}/sync',
    summary: 'Configs, state and transaction counters (application/jose both ways)',
    auth: { kind: 'device-message' },
    params: IdParam,
    body: SyncRequestSchema,
    response: SyncResponseSchema,
    produces: 'jose',
    example: device,
  }),
};
