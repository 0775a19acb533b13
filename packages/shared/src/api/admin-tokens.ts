import { ApiTokenSchema, TokenCreateSchema, TokenListQuerySchema } from '../schemas/admin.js';
import { z } from 'zod';
import { PathSegmentSchema, defineRoute } from './route.js';

/** `/admin/tokens`: admin API tokens for pipelines. */
export const adminTokenRoutes = {
  listTokens: defineRoute({
    name: 'listTokens',
    method: 'GET',
    path: '/admin/tokens',
    summary: 'List own admin API tokens (all=true: everyone’s, which needs users:read and a user who sees all of DS)',
    auth: { kind: 'admin', scope: 'tokens:read', tenancy: 'filtered' },
    query: TokenListQuerySchema,
    response: ApiTokenSchema,
    paginated: true,
    example: { query: { all: 'true' } },
  }),
  createToken: defineRoute({
    name: 'createToken',
    method: 'POST',
    path: '/admin/tokens',
    summary:
      'Create an admin API token (shown once) with scopes its creator has; it expires within the maximum token lifetime and never after the token that made it',
    auth: { kind: 'admin', scope: 'tokens:write', tenancy: 'self' },
    body: TokenCreateSchema,
    response: ApiTokenSchema,
    created: true,
    example: { body: { name: 'ci', scopes: ['versions:read', 'versions:write'], expiresInSeconds: 7776000 } },
  }),
  revokeToken: defineRoute({
    name: 'revokeToken',
    method: 'DELETE',
    path: '/admin/tokens/{id}',
    summary: 'Revoke an admin API token (one’s own; admins who see all of DS: anyone’s)',
    auth: { kind: 'admin', scope: 'tokens:write', tenancy: 'self' },
    params: z.object({ id: PathSegmentSchema }),
    response: ApiTokenSchema,
    example: { params: { id: '00000000-0000-4000-8000-00000000a001' } },
  }),
};
