import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { passwordHashing } from '../lib/secrets.js';
import { ADMIN_PASSWORD, adminContext, type TestContext } from '../test/harness.js';

let ctx: TestContext;
let admin: string;

beforeEach(async () => ({ ctx, admin } = await adminContext()));
afterEach(async () => ctx.close());

describe('login and sessions', () => {
  it('logs in, says who is logged in, and logs out', async () => {
    const login = await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
    expect(login.status).toBe(200);
    expect(login.body.data.token).toMatch(/^ds_ses_/);
    expect(login.body.data.expiresAt).toBe(new Date(ctx.clock.now().getTime() + ctx.config.sessionTtlSeconds * 1000).toISOString());
    const token = login.body.data.token;
    const me = await ctx.request('GET', '/v3_5/admin/auth/whoami', { token });
    expect(me.body.data).toMatchObject({ username: 'admin', role: 'admin', organization: null, credential: 'session' });
    expect(me.body.data.scopes).toContain('users:write');
    expect((await ctx.request('POST', '/v3_5/admin/auth/logout', { token })).status).toBe(200);
    const after = await ctx.request('GET', '/v3_5/admin/auth/whoami', { token });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('TOKEN_REVOKED');
  });

  it('stores the password with scrypt, never in clear', async () => {
    const row = await ctx.database.db.selectFrom('users').selectAll().where('username', '=', 'admin').executeTakeFirstOrThrow();
    expect(row.passwordHash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(row.passwordHash).not.toContain(ADMIN_PASSWORD);
  });

  it('answers the same for a wrong password and an unknown user', async () => {
    const wrong = await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'admin', password: 'nope-nope-nope' } });
    const unknown = await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'ghost', password: 'nope-nope-nope' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.description).toBe(unknown.body.description);
  });

  it('limits repeated failed logins with 429 and Retry-After, and lets the user in after the window', async () => {
    for (let i = 0; i < 10; i++) {
      expect((await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'admin', password: `wrong-${i}` } })).status).toBe(401);
    }
    const limited = await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    ctx.clock.advance(15 * 60_000 + 1000);
    expect((await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } })).status).toBe(200);
  });

  it('limits failed logins per address too, so rotating usernames buys no more guesses', async () => {
    for (let i = 0; i < 30; i++) {
      const res = await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: `user-${i}`, password: 'guess' } });
      expect(res.status).toBe(401);
    }
    const limited = await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
    expect(limited.status).toBe(429);
    expect(limited.body.description).toMatch(/from this address/);
  });

  it('keeps the limits in the database: another DS process on the same database refuses the same address', async () => {
    for (let i = 0; i < 10; i++) await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'admin', password: `wrong-${i}` } });
    const other = createApp({ ...ctx.app.services, config: ctx.config });
    const res = await other.request('/v3_5/admin/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
    expect(res.status).toBe(429);
  });

  it('refuses a login with 429 while the password hashing slots and their queue are full, and hashes again once they drain', async () => {
    // Two hashes run and 32 wait: fill them with work that ends when the test says so.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = Array.from({ length: 34 }, () => passwordHashing.run(() => gate));
    const busy = await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
    expect(busy.status).toBe(429);
    expect(busy.body.description).toMatch(/password checks at once/);
    expect(busy.headers.get('retry-after')).toBe('1');
    release();
    await Promise.all(held);
    expect((await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } })).status).toBe(200);
  });

  it('an expired session is refused with TOKEN_EXPIRED', async () => {
    ctx.clock.advance(ctx.config.sessionTtlSeconds * 1000);
    const res = await ctx.request('GET', '/v3_5/admin/auth/whoami', { token: admin });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('TOKEN_EXPIRED');
  });
});

describe('users', () => {
  it('creates, lists, reads and deletes users', async () => {
    await ctx.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} });
    const created = await ctx.request('POST', '/v3_5/admin/users', {
      token: admin,
      body: { username: 'alice', password: 'alice-password-1', role: 'viewer', organization: 'acme' },
    });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({ username: 'alice', role: 'viewer', organization: 'acme' });
    expect(created.body.data.password).toBeUndefined();
    const dup = await ctx.request('POST', '/v3_5/admin/users', { token: admin, body: { username: 'alice', password: 'alice-password-1', role: 'viewer' } });
    expect(dup.status).toBe(409);
    const list = await ctx.request('GET', '/v3_5/admin/users', { token: admin });
    expect(list.body.data.map((u: { username: string }) => u.username)).toEqual(['admin', 'alice']);
    const deleted = await ctx.request('DELETE', '/v3_5/admin/users/alice', { token: admin });
    expect(deleted.status).toBe(200);
    expect((await ctx.request('GET', '/v3_5/admin/users/alice', { token: admin })).status).toBe(404);
  });

  it.each([
    ['a short password', { username: 'bob', password: 'short', role: 'admin' }, 'password'],
    ['an unknown role', { username: 'bob', password: 'bob-password-12', role: 'root' }, 'role'],
    ['an unknown organization', { username: 'bob', password: 'bob-password-12', role: 'admin', organization: 'nope' }, 'organization'],
    ['an unknown field', { username: 'bob', password: 'bob-password-12', role: 'admin', isSuperuser: true }, 'isSuperuser'],
  ])('refuses %s naming the field', async (_c, body, field) => {
    const res = await ctx.request('POST', '/v3_5/admin/users', { token: admin, body });
    expect(res.status).toBe(400);
    expect(res.body.description).toContain(field);
    expect((await ctx.request('GET', '/v3_5/admin/users/bob', { token: admin })).status).toBe(404);
  });

  it('refuses to delete the last unrestricted admin', async () => {
    const res = await ctx.request('DELETE', '/v3_5/admin/users/admin', { token: admin });
    expect(res.status).toBe(409);
    expect((await ctx.request('GET', '/v3_5/admin/auth/whoami', { token: admin })).status).toBe(200);
  });

  it('a password change ends the user’s other sessions and the new password works', async () => {
    const viewer = await ctx.userToken('carol', 'viewer');
    const own = await ctx.request('PUT', '/v3_5/admin/users/carol/password', { token: viewer, body: { password: 'carol-new-password', currentPassword: 'carol-password-123' } });
    expect(own.status).toBe(200);
    expect((await ctx.request('GET', '/v3_5/admin/auth/whoami', { token: viewer })).status).toBe(200);
    const byAdmin = await ctx.request('PUT', '/v3_5/admin/users/carol/password', { token: admin, body: { password: 'carol-third-password' } });
    expect(byAdmin.status).toBe(200);
    expect((await ctx.request('GET', '/v3_5/admin/auth/whoami', { token: viewer })).status).toBe(401);
    await expect(ctx.login('carol', 'carol-new-password')).rejects.toThrow();
    expect(await ctx.login('carol', 'carol-third-password')).toMatch(/^ds_ses_/);
  });

  it('an API token cannot change its owner’s password, whatever its scopes: only a session with the current password can', async () => {
    const session = await ctx.login();
    const leaked = (await ctx.request('POST', '/v3_5/admin/tokens', { token: session, body: { name: 'ci', scopes: ['versions:read'] } })).body.data.token as string;
    const before = await ctx.database.db.selectFrom('users').select('passwordHash').where('username', '=', 'admin').executeTakeFirstOrThrow();
    const takeover = await ctx.request('PUT', '/v3_5/admin/users/admin/password', { token: leaked, body: { password: 'attacker-password-1', currentPassword: ADMIN_PASSWORD } });
    expect(takeover.status).toBe(403);
    expect(takeover.body.description).toMatch(/login session/);
    const wrong = await ctx.request('PUT', '/v3_5/admin/users/admin/password', { token: session, body: { password: 'attacker-password-1', currentPassword: 'a guess at it' } });
    expect(wrong.status).toBe(403);
    expect(wrong.body.description).toMatch(/currentPassword/);
    const without = await ctx.request('PUT', '/v3_5/admin/users/admin/password', { token: session, body: { password: 'attacker-password-1' } });
    expect(without.status).toBe(400);
    expect(without.body.description).toMatch(/currentPassword/);
    const after = await ctx.database.db.selectFrom('users').select('passwordHash').where('username', '=', 'admin').executeTakeFirstOrThrow();
    expect(after).toEqual(before);
    // Nothing ended: the real admin is still logged in.
    expect((await ctx.request('GET', '/v3_5/admin/auth/whoami', { token: session })).status).toBe(200);
  });

  it('wrong current passwords count against the login limit', async () => {
    const session = await ctx.login();
    for (let i = 0; i < 10; i++) {
      const res = await ctx.request('PUT', '/v3_5/admin/users/admin/password', { token: session, body: { password: 'a-new-password-1', currentPassword: `guess-${i}` } });
      expect(res.status).toBe(403);
    }
    const limited = await ctx.request('PUT', '/v3_5/admin/users/admin/password', { token: session, body: { password: 'a-new-password-1', currentPassword: ADMIN_PASSWORD } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('another user’s password needs users:write and ends all of their sessions', async () => {
    const carol = await ctx.userToken('carol', 'viewer');
    const reader = (await ctx.request('POST', '/v3_5/admin/tokens', { token: admin, body: { name: 'r', scopes: ['users:read'] } })).body.data.token as string;
    const refused = await ctx.request('PUT', '/v3_5/admin/users/carol/password', { token: reader, body: { password: 'carol-new-password' } });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('INSUFFICIENT_SCOPE');
    expect((await ctx.request('GET', '/v3_5/admin/auth/whoami', { token: carol })).status).toBe(200);
    expect((await ctx.request('PUT', '/v3_5/admin/users/carol/password', { token: admin, body: { password: 'carol-new-password' } })).status).toBe(200);
    expect((await ctx.request('GET', '/v3_5/admin/auth/whoami', { token: carol })).status).toBe(401);
  });

  it('a viewer cannot change another user’s password', async () => {
    const viewer = await ctx.userToken('dave', 'viewer');
    const res = await ctx.request('PUT', '/v3_5/admin/users/admin/password', { token: viewer, body: { password: 'hijacked-password' } });
    expect(res.status).toBe(403);
    expect(await ctx.login()).toMatch(/^ds_ses_/);
  });
});

describe('PATCH /admin/users/{username}', () => {
  const patch = (username: string, body: unknown, token = admin) => ctx.request('PATCH', `/v3_5/admin/users/${username}`, { token, body });
  const whoami = (token: string) => ctx.request('GET', '/v3_5/admin/auth/whoami', { token });

  beforeEach(async () => {
    for (const org of ['acme', 'globex']) expect((await ctx.request('PUT', `/v3_5/admin/organizations/${org}`, { token: admin, body: {} })).status).toBe(201);
  });

  it.each([
    ['the role', { role: 'admin' }, { role: 'admin', organization: 'acme' }],
    ['the organization', { organization: 'globex' }, { role: 'viewer', organization: 'globex' }],
    ['the limit away (null: all of DS)', { organization: null }, { role: 'viewer', organization: null }],
    ['both', { role: 'admin', organization: null }, { role: 'admin', organization: null }],
  ])('changes %s and leaves the rest', async (_what, body, expected) => {
    await ctx.userToken('carol', 'viewer', 'acme');
    const before = await ctx.request('GET', '/v3_5/admin/users/carol', { token: admin });
    ctx.clock.advance(1000);
    const res = await patch('carol', body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data).toMatchObject({ username: 'carol', ...expected, createdAt: before.body.data.createdAt });
    expect(res.body.data.updatedAt).toBe(ctx.clock.now().toISOString());
    expect((await ctx.request('GET', '/v3_5/admin/users/carol', { token: admin })).body.data).toEqual(res.body.data);
  });

  it("gives the user's sessions and tokens the new rights on their next request, without ending them", async () => {
    const carol = await ctx.userToken('carol', 'admin');
    const token = (await ctx.request('POST', '/v3_5/admin/tokens', { token: carol, body: { name: 'ci', scopes: ['orgs:write', 'orgs:read'] } })).body.data.token as string;
    expect((await ctx.request('PUT', '/v3_5/admin/organizations/initech', { token, body: {} })).status).toBe(201);

    expect((await patch('carol', { role: 'viewer', organization: 'acme' })).status).toBe(200);
    expect((await whoami(carol)).body.data).toMatchObject({ role: 'viewer', organization: 'acme' });
    expect((await whoami(carol)).body.data.scopes).not.toContain('orgs:write');
    const refused = await ctx.request('PUT', '/v3_5/admin/organizations/hooli', { token, body: {} });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'INSUFFICIENT_SCOPE', description: 'this credential lacks the scope orgs:write: the role viewer does not have it' });
    expect((await ctx.request('GET', '/v3_5/admin/organizations/globex', { token })).status).toBe(403);

    // Rights given back come back the same way.
    expect((await patch('carol', { role: 'admin', organization: null })).status).toBe(200);
    expect((await ctx.request('PUT', '/v3_5/admin/organizations/hooli', { token, body: {} })).status).toBe(201);
  });

  it.each([
    ['demoted', { role: 'viewer' }],
    ['limited to an organization', { organization: 'acme' }],
  ])('refuses 409 when the last admin who sees all of DS would be %s, and changes nothing', async (_what, body) => {
    const res = await patch('admin', body);
    expect(res.status).toBe(409);
    expect(res.body.description).toMatch(/last admin who is not limited/);
    expect((await whoami(admin)).body.data).toMatchObject({ role: 'admin', organization: null });
    // With another one it may.
    await ctx.userToken('root2', 'admin');
    expect((await patch('admin', body)).status).toBe(200);
  });

  it.each([
    ['nothing to change', {}, 400, 'give role, organization or both'],
    ['an unknown role', { role: 'root' }, 400, 'role'],
    ['an unknown organization', { organization: 'nope' }, 400, 'organization: nope does not exist'],
    ['an unknown field', { password: 'x-long-password' }, 400, 'password'],
  ])('refuses %s naming the cause', async (_what, body, status, text) => {
    await ctx.userToken('carol', 'viewer', 'acme');
    const res = await patch('carol', body);
    expect(res.status).toBe(status);
    expect(res.body.description).toContain(text);
    expect((await ctx.request('GET', '/v3_5/admin/users/carol', { token: admin })).body.data).toMatchObject({ role: 'viewer', organization: 'acme' });
  });

  it('answers 404 for a user that does not exist', async () => {
    const res = await patch('ghost', { role: 'admin' });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'NOT_FOUND', description: 'user ghost does not exist' });
  });

  it('refuses users limited to an organization, naming their limit as the cause', async () => {
    const limitedAdmin = await ctx.userToken('acme-admin', 'admin', 'acme');
    await ctx.userToken('carol', 'viewer', 'acme');
    const res = await patch('carol', { role: 'admin' }, limitedAdmin);
    expect(res.status).toBe(403);
    expect(res.body.description).toContain('users limited to an organization (this one: acme) do not have it');
    expect((await ctx.request('GET', '/v3_5/admin/users/carol', { token: admin })).body.data.role).toBe('viewer');
  });
});

