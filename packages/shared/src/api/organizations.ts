import { NameSchema, PageQuerySchema } from '../schemas/common.js';
import { DeleteResultSchema, ForceQuerySchema, OrganizationPutSchema, OrganizationSchema } from '../schemas/admin.js';
import { z } from 'zod';
import { PathSegmentSchema, defineRoute, pathParam } from './route.js';

const NameParam = z.object({ name: PathSegmentSchema });

/** `/admin/organizations` */
export const organizationRoutes = {
  listOrganizations: defineRoute({
    name: 'listOrganizations',
    method: 'GET',
    path: '/admin/organizations',
    summary: 'List organizations (a user limited to one sees only it)',
    auth: { kind: 'admin', scope: 'orgs:read', tenancy: 'filtered' },
    query: PageQuerySchema,
    response: OrganizationSchema,
    paginated: true,
  }),
  getOrganization: defineRoute({
    name: 'getOrganization',
    method: 'GET',
    path: '/admin/organizations/{name}',
    summary: 'Get an organization',
    auth: { kind: 'admin', scope: 'orgs:read', tenancy: 'organization' },
    params: NameParam,
    response: OrganizationSchema,
    example: { params: { name: 'acme' } },
  }),
  putOrganization: defineRoute({
    name: 'putOrganization',
    method: 'PUT',
    path: '/admin/organizations/{name}',
    summary: 'Create (201) or update (200) an organization',
    auth: { kind: 'admin', scope: 'orgs:write', tenancy: 'organization' },
    params: z.object({ name: pathParam(NameSchema, 'organization name') }),
    body: OrganizationPutSchema,
    response: OrganizationSchema,
    created: true,
    example: { params: { name: 'acme' }, body: { description: 'Acme Corp' } },
  }),
  deleteOrganization: defineRoute({
    name: 'deleteOrganization',
    method: 'DELETE',
    path: '/admin/organizations/{name}',
    summary: 'Delete an organization (409 with labels or users unless forced)',
    auth: { kind: 'admin', scope: 'orgs:write', tenancy: 'organization' },
    params: NameParam,
    query: ForceQuerySchema,
    response: DeleteResultSchema,
    example: { params: { name: 'acme' } },
  }),
};
