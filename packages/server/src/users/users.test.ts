import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createTestContext, type TestContext } from '../test/harness.js';

let ctx: TestContext;
let admin: string;

beforeEach(async () => {
  ctx = await createTestContext();
  admin = await ctx.login();
});
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
    const own = await ctx.request('PUT', '/v3_5/admin/users/carol/password', { token: viewer, body: { password: 'carol-new-password' } });
    expect(own.status).toBe(200);
    expect((await ctx.request('GET', '/v3_5/admin/auth/whoami', { token: viewer })).status).toBe(200);
    const byAdmin = await ctx.request('PUT', '/v3_5/admin/users/carol/password', { token: admin, body: { password: 'carol-third-password' } });
    expect(byAdmin.status).toBe(200);
    expect((await ctx.request('GET', '/v3_5/admin/auth/whoami', { token: viewer })).status).toBe(401);
    await expect(ctx.login('carol', 'carol-new-password')).rejects.toThrow();
    expect(await ctx.login('carol', 'carol-third-password')).toMatch(/^ds_ses_/);
  });

  it('a viewer cannot change another user’s password', async () => {
    const viewer = await ctx.userToken('dave', 'viewer');
    const res = await ctx.request('PUT', '/v3_5/admin/users/admin/password', { token: viewer, body: { password: 'hijacked-password' } });
    expect(res.status).toBe(403);
    expect(await ctx.login()).toMatch(/^ds_ses_/);
  });
});
