import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { handle, type BoundRoute } from '../lib/routes.js';
import { openApiDocument } from '../openapi/openapi.js';
import * as service from './system.service.js';

/** `/system/status` (public), `/admin/system/info`, and the OpenAPI document. */
export function systemRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.systemStatus, async ({ c }) => {
      const status = await service.systemStatus(services);
      // Still the envelope, with 503: load balancers read the status, people the body.
      return status.isAlive ? status : c.json({ success: true as const, data: status }, 503);
    }),
    handle(API.systemInfo, () => service.systemInfo(services)),
    handle(API.openApi, () => openApiDocument(services.version, services.config.publicUrl)),
  ];
}
