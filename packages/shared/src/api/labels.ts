import { NameSchema } from '../schemas/common.js';
import {
  ApiKeyResultSchema,
  DeleteResultSchema,
  EmptyBodySchema,
  ForceQuerySchema,
  LabelListQuerySchema,
  LabelPutSchema,
  LabelSchema,
  RotateKeyRequestSchema,
} from '../schemas/admin.js';
import { z } from 'zod';
import { PathSegmentSchema, defineRoute, pathParam } from './route.js';

const NameParam = z.object({ name: PathSegmentSchema });
const label = { params: { name: 'acme-web' } };

/** `/admin/labels` and their API keys. */
export const labelRoutes = {
  listLabels: defineRoute({
    name: 'listLabels',
    method: 'GET',
    path: '/admin/labels',
    summary: 'List labels (a user limited to an organization sees only its labels)',
    auth: { kind: 'admin', scope: 'labels:read', tenancy: 'filtered' },
    query: LabelListQuerySchema,
    response: LabelSchema,
    paginated: true,
    example: { query: { organization: 'acme' } },
  }),
  getLabel: defineRoute({
    name: 'getLabel',
    method: 'GET',
    path: '/admin/labels/{name}',
    summary: 'Get a label',
    auth: { kind: 'admin', scope: 'labels:read', tenancy: 'organization' },
    params: NameParam,
    response: LabelSchema,
    example: label,
  }),
  putLabel: defineRoute({
    name: 'putLabel',
    method: 'PUT',
    path: '/admin/labels/{name}',
    summary: 'Create (201, with apiKey shown once) or update (200) a label',
    auth: { kind: 'admin', scope: 'labels:write', tenancy: 'organization' },
    params: z.object({ name: pathParam(NameSchema, 'label name') }),
    body: LabelPutSchema,
    response: LabelSchema,
    created: true,
    example: { ...label, body: { organization: 'acme', description: 'web shop' } },
  }),
  deleteLabel: defineRoute({
    name: 'deleteLabel',
    method: 'DELETE',
    path: '/admin/labels/{name}',
    summary: 'Delete a label and its API keys',
    auth: { kind: 'admin', scope: 'labels:write', tenancy: 'organization' },
    params: NameParam,
    query: ForceQuerySchema,
    response: DeleteResultSchema,
    example: label,
  }),
  rotateLabelKey: defineRoute({
    name: 'rotateLabelKey',
    method: 'POST',
    path: '/admin/labels/{name}/rotate-key',
    summary: 'New API key (shown once); the old one works for graceSeconds',
    auth: { kind: 'admin', scope: 'labels:write', tenancy: 'organization' },
    params: NameParam,
    body: RotateKeyRequestSchema,
    response: ApiKeyResultSchema,
    example: { ...label, body: { graceSeconds: 3600 } },
  }),
  revokeLabelKey: defineRoute({
    name: 'revokeLabelKey',
    method: 'POST',
    path: '/admin/labels/{name}/revoke-key',
    summary: 'Revoke every API key of the label',
    auth: { kind: 'admin', scope: 'labels:write', tenancy: 'organization' },
    params: NameParam,
    body: EmptyBodySchema,
    response: LabelSchema,
    example: { ...label, body: {} },
  }),
};
