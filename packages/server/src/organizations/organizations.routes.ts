import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { createdOr, handle, type BoundRoute } from '../lib/routes.js';
import * as service from './organizations.service.js';

/** `/admin/organizations` */
export function organizationRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.listOrganizations, ({ principal, query }) => service.listOrganizations(services, principal, query)),
    handle(API.getOrganization, ({ principal, params }) => service.getOrganization(services, principal, params.name)),
    handle(API.putOrganization, async ({ principal, params, body }) => {
      const { created, organization } = await service.putOrganization(services, principal, params.name, body);
      return createdOr(organization, created);
    }),
    handle(API.deleteOrganization, ({ principal, params, query }) => service.deleteOrganization(services, principal, params.name, query.force)),
  ];
}
