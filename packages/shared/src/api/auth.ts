import { LoginRequestSchema, LoginResultSchema, WhoamiSchema } from '../schemas/admin.js';
import { z } from 'zod';
import { defineRoute } from './route.js';

/** `/admin/auth`: logging in and out, and who the current credential belongs to. */
export const authRoutes = {
  login: defineRoute({
    name: 'login',
    method: 'POST',
    path: '/admin/auth/login',
    summary: 'Log in with a password; answers a session token',
    auth: { kind: 'public' },
    body: LoginRequestSchema,
    response: LoginResultSchema,
    example: { body: { username: 'admin', password: 'correct horse battery staple' } },
  }),
  logout: defineRoute({
    name: 'logout',
    method: 'POST',
    path: '/admin/auth/logout',
    summary: 'End the current session (an API token is revoked with DELETE /admin/tokens/{id})',
    auth: { kind: 'admin', scope: null, tenancy: 'self' },
    response: z.null(),
  }),
  whoami: defineRoute({
    name: 'whoami',
    method: 'GET',
    path: '/admin/auth/whoami',
    summary: 'The user and scopes of the current credential',
    auth: { kind: 'admin', scope: null, tenancy: 'self' },
    response: WhoamiSchema,
  }),
};
