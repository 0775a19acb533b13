import { SystemInfoSchema, SystemStatusSchema } from '../schemas/admin.js';
import { z } from 'zod';
import { defineRoute } from './route.js';

/** Liveness, the system overview, and the OpenAPI document itself. */
export const systemRoutes = {
  systemStatus: defineRoute({
    name: 'systemStatus',
    method: 'GET',
    path: '/system/status',
    summary: 'Liveness and the latest version (503 with isAlive false when the database cannot be reached)',
    auth: { kind: 'public' },
    response: SystemStatusSchema,
  }),
  systemInfo: defineRoute({
    name: 'systemInfo',
    method: 'GET',
    path: '/admin/system/info',
    summary: 'Counts, database and uptime',
    auth: { kind: 'admin', scope: 'system:read', tenancy: 'unrestricted', why: 'the counts cover every organization' },
    response: SystemInfoSchema,
  }),
  openApi: defineRoute({
    name: 'openApi',
    method: 'GET',
    path: '/admin/openapi.json',
    summary: 'This OpenAPI document',
    auth: { kind: 'public' },
    response: z.record(z.string(), z.unknown()),
    produces: 'json-document',
  }),
};
