import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { handle, type BoundRoute } from '../lib/routes.js';
import * as service from './admin.service.js';

/** `/admin/devices` */
export function adminDeviceRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.listDevices, ({ principal, query }) => service.listDevices(services, principal, query)),
    handle(API.getDevice, ({ principal, params }) => service.getDevice(services, principal, params.id)),
    handle(API.deleteDevice, ({ principal, params }) => service.removeDevice(services, principal, params.id)),
  ];
}
