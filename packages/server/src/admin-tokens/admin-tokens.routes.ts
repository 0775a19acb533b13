import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { Answer, handle, type BoundRoute } from '../lib/routes.js';
import * as service from './admin-tokens.service.js';

/** `/admin/tokens`: admin API tokens for pipelines. */
export function tokenRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.listTokens, ({ principal, query: { all, ...page } }) => service.listApiTokens(services, principal, page, all === 'true')),
    handle(API.createToken, async ({ principal, body }) => new Answer(await service.createApiToken(services, principal, body), 201)),
    handle(API.revokeToken, ({ principal, params }) => service.revokeApiToken(services, principal, params.id)),
  ];
}
