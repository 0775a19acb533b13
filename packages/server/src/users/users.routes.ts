import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { clientAddress } from '../lib/client-address.js';
import { Answer, handle, type BoundRoute } from '../lib/routes.js';
import * as auth from './auth.service.js';
import * as users from './users.service.js';

/** `/admin/auth`: login (no credential), logout and whoami. */
export function authRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.login, ({ c, body }) => auth.login(services, body.username, body.password, clientAddress(c))),
    handle(API.logout, async ({ principal }) => {
      await auth.logout(services, principal);
      return null;
    }),
    handle(API.whoami, ({ principal }) => auth.whoami(principal)),
  ];
}

/** `/admin/users` */
export function userRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.listUsers, ({ principal, query }) => users.listUsers(services, principal, query)),
    handle(API.createUser, async ({ principal, body }) => new Answer(await users.createUser(services, body, principal), 201)),
    handle(API.getUser, ({ principal, params }) => users.getUser(services, principal, params.username)),
    handle(API.updateUser, ({ principal, params, body }) => users.updateUser(services, principal, params.username, body)),
    handle(API.deleteUser, ({ principal, params }) => users.deleteUser(services, principal, params.username)),
    handle(API.setUserPassword, ({ c, principal, params, body }) => users.setPassword(services, principal, params.username, body, clientAddress(c))),
  ];
}
