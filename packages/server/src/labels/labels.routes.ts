import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { createdOr, handle, type BoundRoute } from '../lib/routes.js';
import * as service from './labels.service.js';

/** `/admin/labels` */
export function labelRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.listLabels, ({ principal, query: { organization, ...page } }) => service.listLabels(services, principal, page, organization)),
    handle(API.getLabel, ({ principal, params }) => service.getLabel(services, principal, params.name)),
    handle(API.putLabel, async ({ principal, params, body }) => {
      const { created, label } = await service.putLabel(services, principal, params.name, body);
      return createdOr(label, created);
    }),
    handle(API.deleteLabel, ({ principal, params, query }) => service.deleteLabel(services, principal, params.name, query.force)),
    handle(API.rotateLabelKey, ({ principal, params, body }) => service.rotateLabelKey(services, principal, params.name, body.graceSeconds)),
    handle(API.revokeLabelKey, ({ principal, params }) => service.revokeLabelKeys(services, principal, params.name)),
  ];
}
