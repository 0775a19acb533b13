import { z } from 'zod';
import { PolicyPutSchema, PolicySchema, RolloutActionSchema, RolloutEventSchema, RolloutPutSchema, RolloutSchema } from '../schemas/rollouts.js';
import { PageQuerySchema } from '../schemas/common.js';
import { PathSegmentSchema, defineRoute } from './route.js';

const IdParam = z.object({ id: PathSegmentSchema });
const NameParam = z.object({ name: PathSegmentSchema });
const read = { kind: 'admin', scope: 'versions:read', tenancy: 'shared' } as const;
const write = { kind: 'admin', scope: 'versions:write', tenancy: 'unrestricted', why: 'a rollout reaches devices of every organization' } as const;
const version = { params: { id: '3.10.0' } };

const ETAG = "The rollout's entity tag (its revision): changes with every change of the rollout; send it back in If-Match";
const IF_MATCH =
  'An ETag of this rollout (from GET or an earlier change): the change is made only if the rollout is still in that state, else 412 PRECONDITION_FAILED and nothing changes. Two operators promoting at once thus advance one wave, not two';
const conditional = { request: { 'If-Match': IF_MATCH }, response: { ETag: ETAG } };

const action = (name: string, verb: string, summary: string) =>
  defineRoute({
    name,
    method: 'POST',
    path: `/admin/versions/{id}/rollout/${verb}`,
    summary,
    headers: conditional,
    auth: write,
    params: IdParam,
    body: RolloutActionSchema,
    response: RolloutSchema,
    example: { ...version, body: {} },
  });

/** Staged rollouts of versions (`/admin/versions/{id}/rollout`) and organizations' update policies. */
export const rolloutRoutes = {
  getRollout: defineRoute({
    name: 'getRollout',
    method: 'GET',
    path: '/admin/versions/{id}/rollout',
    summary: "A version's rollout: state, waves and health gate (evaluated now); for a user limited to an organization, the numbers of its devices and no operator's name",
    headers: { response: { ETag: ETAG } },
    auth: read,
    params: IdParam,
    response: RolloutSchema,
    example: version,
  }),
  putRollout: defineRoute({
    name: 'putRollout',
    method: 'PUT',
    path: '/admin/versions/{id}/rollout',
    summary: 'Start a rollout (201) or change its waves and gate (200)',
    headers: conditional,
    auth: write,
    params: IdParam,
    body: RolloutPutSchema,
    response: RolloutSchema,
    created: true,
    example: { ...version, body: { waves: [5, 25, 100], waveHoldSeconds: 86400, maxFailureRate: 0.02 } },
  }),
  pauseRollout: action('pauseRollout', 'pause', 'Pause: the version is offered to no further device'),
  resumeRollout: action('resumeRollout', 'resume', 'Resume a paused rollout (its gate counts from now)'),
  promoteRollout: action('promoteRollout', 'promote', 'Advance to the next wave now (100 %: the version becomes recommended)'),
  abortRollout: action('abortRollout', 'abort', 'Abort: 0 %, everyone not on the version is offered the previous recommended one'),
  rolloutHistory: defineRoute({
    name: 'rolloutHistory',
    method: 'GET',
    path: '/admin/versions/{id}/rollout/history',
    summary: "Every change of a version's rollout, oldest first, with who or what made it",
    auth: read,
    params: IdParam,
    query: PageQuerySchema,
    response: RolloutEventSchema,
    paginated: true,
    example: version,
  }),
  getOrganizationPolicy: defineRoute({
    name: 'getOrganizationPolicy',
    method: 'GET',
    path: '/admin/organizations/{name}/policy',
    summary: "An organization's update policy: hold range, maintenance window, pre-releases",
    auth: { kind: 'admin', scope: 'orgs:read', tenancy: 'organization' },
    params: NameParam,
    response: PolicySchema,
    example: { params: { name: 'acme' } },
  }),
  putOrganizationPolicy: defineRoute({
    name: 'putOrganizationPolicy',
    method: 'PUT',
    path: '/admin/organizations/{name}/policy',
    summary: "Set an organization's update policy (absent fields keep, null clears); it can only hold updates back",
    auth: { kind: 'admin', scope: 'policies:write', tenancy: 'organization' },
    params: NameParam,
    body: PolicyPutSchema,
    response: PolicySchema,
    example: { params: { name: 'acme' }, body: { hold: '<3.10', window: 'Sat 02:00-06:00 Europe/Brussels' } },
  }),
  deleteOrganizationPolicy: defineRoute({
    name: 'deleteOrganizationPolicy',
    method: 'DELETE',
    path: '/admin/organizations/{name}/policy',
    summary: "Clear an organization's update policy",
    auth: { kind: 'admin', scope: 'policies:write', tenancy: 'organization' },
    params: NameParam,
    response: PolicySchema,
    example: { params: { name: 'acme' } },
  }),
};
