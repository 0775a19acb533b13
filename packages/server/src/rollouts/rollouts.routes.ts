import { API } from '@ds/shared';
import type { Context } from 'hono';
import type { Services } from '../context.js';
import { createdOr, handle, type BoundRoute } from '../lib/routes.js';
import { preconditionsOf } from '../versions/etag.js';
import * as policies from './policies.service.js';
import * as service from './rollouts.service.js';

function tagged<D>(c: Context, data: D, etag: string): D {
  c.header('ETag', etag);
  return data;
}

/** `/admin/versions/{id}/rollout...` and `/admin/organizations/{name}/policy`. */
export function rolloutRoutes(services: Services): BoundRoute[] {
  const act = (action: service.RolloutAction) => async ({ c, principal, params, body }: { c: Context; principal: Parameters<typeof service.rolloutAction>[1]; params: { id: string }; body: { note?: string | undefined } }) => {
    const { rollout, etag } = await service.rolloutAction(services, principal, params.id, action, body.note, preconditionsOf(c));
    return tagged(c, rollout, etag);
  };
  return [
    handle(API.getRollout, async ({ c, principal, params }) => {
      const { rollout, etag } = await service.getRollout(services, params.id, principal);
      return tagged(c, rollout, etag);
    }),
    handle(API.putRollout, async ({ c, principal, params, body }) => {
      const { created, rollout, etag } = await service.putRollout(services, principal, params.id, body, preconditionsOf(c));
      return tagged(c, createdOr(rollout, created), etag);
    }),
    handle(API.pauseRollout, act('pause')),
    handle(API.resumeRollout, act('resume')),
    handle(API.promoteRollout, act('promote')),
    handle(API.abortRollout, act('abort')),
    handle(API.rolloutHistory, ({ principal, params, query }) => service.rolloutHistory(services, params.id, query, principal)),
    handle(API.getOrganizationPolicy, ({ principal, params }) => policies.getPolicy(services, principal, params.name)),
    handle(API.putOrganizationPolicy, ({ principal, params, body }) => policies.putPolicy(services, principal, params.name, body)),
    handle(API.deleteOrganizationPolicy, ({ principal, params }) => policies.deletePolicy(services, principal, params.name)),
  ];
}
