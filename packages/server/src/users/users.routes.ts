import {
  LoginRequestSchema,
  PageQuerySchema,
  UserCreateSchema,
  UserPasswordSchema,
} from '@ds/shared';
import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { adminAuth, requireScope } from '../middleware/admin-auth.js';
import { clientAddress, ok, okPage } from '../lib/respond.js';
import { jsonBody, query } from '../lib/validate.js';
import * as auth from './auth.service.js';
import { requireScopeOf } from './principal.js';
import * as users from './users.service.js';

/** `/admin/auth`: login (no credential), logout and whoami. */
export function authRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.post('/login', async (c) => {
    const body = await jsonBody(c, LoginRequestSchema);
    return ok(c, await auth.login(services, body.username, body.password, clientAddress(c)));
  });
  app.use('*', adminAuth(services));
  app.post('/logout', async (c) => {
    await auth.logout(services, c.var.principal);
    return ok(c, null);
  });
  app.get('/whoami', (c) => ok(c, auth.whoami(c.var.principal)));
  return app;
}

/** `/admin/users` */
export function userRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use('*', adminAuth(services));
  app.get('/', requireScope('users:read'), async (c) => okPage(c, await users.listUsers(services, c.var.principal, query(c, PageQuerySchema))));
  app.post('/', requireScope('users:write'), async (c) =>
    ok(c, await users.createUser(services, await jsonBody(c, UserCreateSchema), c.var.principal), 201),
  );
  // Reading or changing oneself needs no users:* scope.
  app.get('/:username', async (c) => {
    if (c.req.param('username') !== c.var.principal.username) requireScopeOf(c.var.principal, 'users:read');
    return ok(c, await users.getUser(services, c.var.principal, c.req.param('username')));
  });
  app.put('/:username/password', async (c) => {
    const { password } = await jsonBody(c, UserPasswordSchema);
    if (c.req.param('username') !== c.var.principal.username) requireScopeOf(c.var.principal, 'users:write');
    return ok(c, await users.setPassword(services, c.var.principal, c.req.param('username'), password));
  });
  app.delete('/:username', requireScope('users:write'), async (c) => ok(c, await users.deleteUser(services, c.var.principal, c.req.param('username'))));
  return app;
}
