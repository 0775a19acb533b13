import { PageQuerySchema } from '../schemas/common.js';
import { DeleteResultSchema, UserCreateSchema, UserPasswordSchema, UserSchema, UserUpdateSchema } from '../schemas/admin.js';
import { z } from 'zod';
import { PathSegmentSchema, defineRoute } from './route.js';

const UsernameParam = z.object({ username: PathSegmentSchema });
const alice = { params: { username: 'alice' } };
const why = 'users are managed by admins who see all of DS';

/** `/admin/users` */
export const userRoutes = {
  listUsers: defineRoute({
    name: 'listUsers',
    method: 'GET',
    path: '/admin/users',
    summary: 'List users',
    auth: { kind: 'admin', scope: 'users:read', tenancy: 'unrestricted', why },
    query: PageQuerySchema,
    response: UserSchema,
    paginated: true,
  }),
  createUser: defineRoute({
    name: 'createUser',
    method: 'POST',
    path: '/admin/users',
    summary: 'Create a user',
    auth: { kind: 'admin', scope: 'users:write', tenancy: 'unrestricted', why },
    body: UserCreateSchema,
    response: UserSchema,
    created: true,
    example: { body: { username: 'alice', password: 'alice-password-1', role: 'viewer', organization: 'acme' } },
  }),
  getUser: defineRoute({
    name: 'getUser',
    method: 'GET',
    path: '/admin/users/{username}',
    summary: 'Get a user (oneself needs no scope)',
    auth: { kind: 'admin', scope: 'users:read', tenancy: 'unrestricted', selfParam: 'username', why },
    params: UsernameParam,
    response: UserSchema,
    example: alice,
  }),
  updateUser: defineRoute({
    name: 'updateUser',
    method: 'PATCH',
    path: '/admin/users/{username}',
    summary:
      "Change a user's role and/or organization limit (organization null: sees all of DS). Every request reads the user's rights anew, so their sessions and tokens get the new ones at once (a token never exceeds what the role allows); the last admin who sees all of DS cannot be demoted or limited",
    auth: { kind: 'admin', scope: 'users:write', tenancy: 'unrestricted', why },
    params: UsernameParam,
    body: UserUpdateSchema,
    response: UserSchema,
    example: { ...alice, body: { role: 'admin', organization: null } },
  }),
  deleteUser: defineRoute({
    name: 'deleteUser',
    method: 'DELETE',
    path: '/admin/users/{username}',
    summary: 'Delete a user and their tokens',
    auth: { kind: 'admin', scope: 'users:write', tenancy: 'unrestricted', why },
    params: UsernameParam,
    response: DeleteResultSchema,
    example: alice,
  }),
  setUserPassword: defineRoute({
    name: 'setUserPassword',
    method: 'PUT',
    path: '/admin/users/{username}/password',
    summary:
      "Set a user's password. One's own: from a login session with currentPassword, no scope needed; ends one's other sessions. Another user's: users:write, ends all their sessions",
    auth: { kind: 'admin', scope: 'users:write', tenancy: 'unrestricted', selfParam: 'username', why },
    params: UsernameParam,
    body: UserPasswordSchema,
    response: UserSchema,
    example: { ...alice, body: { password: 'a-new-long-password' } },
  }),
};
