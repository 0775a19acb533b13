import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { Answer, handle, type BoundRoute } from '../lib/routes.js';
import * as service from './webhooks.service.js';

/** `/admin/webhooks`: subscriptions, their deliveries and redelivery. */
export function webhookRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.listWebhooks, ({ principal, query }) => service.listWebhooks(services, principal, query)),
    handle(API.createWebhook, async ({ principal, body }) => new Answer(await service.createWebhook(services, principal, body), 201)),
    handle(API.getWebhook, ({ principal, params }) => service.getWebhook(services, principal, params.id)),
    handle(API.deleteWebhook, ({ principal, params }) => service.deleteWebhook(services, principal, params.id)),
    handle(API.enableWebhook, ({ principal, params }) => service.enableWebhook(services, principal, params.id)),
    handle(API.rotateWebhookSecret, ({ principal, params, body }) => service.rotateSecret(services, principal, params.id, body.graceSeconds)),
    handle(API.listWebhookDeliveries, ({ principal, params, query }) => service.listDeliveries(services, principal, params.id, query)),
    handle(API.redeliverWebhook, ({ principal, params }) => service.redeliver(services, principal, params.id, params.deliveryId)),
  ];
}
