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

describe('admin API tokens', () => {
  it('is shown once, stored hashed, limited to its scopes, and revocable', async () => {
    const created = await ctx.request('POST', '/v3_5/admin/tokens', { token: admin, body: { name: 'ci', scopes: ['versions:write', 'versions:read'] } });
    expect(created.status).toBe(201);
    const token: string = created.body.data.token;
    expect(token).toMatch(/^ds_adm_/);
    const rows = await ctx.database.db.selectFrom('adminTokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(token);

    expect((await ctx.request('PUT', '/v3_5/admin/versions/1.0.0', { token, body: {} })).status).toBe(201);
    const orgs = await ctx.request('GET', '/v3_5/admin/organizations', { token });
    expect(orgs.status).toBe(403);
    expect(orgs.body.code).toBe('INSUFFICIENT_SCOPE');
    expect(orgs.body.description).toContain('orgs:read');

    const me = await ctx.request('GET', '/v3_5/admin/auth/whoami', { token });
    expect(me.body.data).toMatchObject({ credential: 'api-token', tokenName: 'ci', scopes: ['versions:read', 'versions:write'] });

    const list = await ctx.request('GET', '/v3_5/admin/tokens', { token: admin });
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0].token).toBeUndefined();
    expect(list.body.data[0].lastUsedAt).not.toBeNull();

    const revoked = await ctx.request('DELETE', `/v3_5/admin/tokens/${created.body.data.id}`, { token: admin });
    expect(revoked.body.data.revokedAt).not.toBeNull();
    expect((await ctx.request('GET', '/v3_5/admin/versions', { token })).status).toBe(401);
  });

  it('expires when asked to', async () => {
    const created = await ctx.request('POST', '/v3_5/admin/tokens', { token: admin, body: { name: 'short', scopes: ['versions:read'], expiresInSeconds: 600 } });
    const token = created.body.data.token;
    expect((await ctx.request('GET', '/v3_5/admin/versions', { token })).status).toBe(200);
    ctx.clock.advance(601_000);
    const res = await ctx.request('GET', '/v3_5/admin/versions', { token });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('TOKEN_EXPIRED');
  });

  it('cannot carry a scope its creator lacks', async () => {
    const viewer = await ctx.userToken('erin', 'viewer');
    const res = await ctx.request('POST', '/v3_5/admin/tokens', { token: viewer, body: { name: 'x', scopes: ['versions:write'] } });
    expect(res.status).toBe(403);
    expect(res.body.description).toContain('versions:write');
    const ok = await ctx.request('POST', '/v3_5/admin/tokens', { token: viewer, body: { name: 'x', scopes: ['versions:read'] } });
    expect(ok.status).toBe(201);
  });

  it('loses scopes when its user is limited further', async () => {
    const res = await ctx.request('POST', '/v3_5/admin/tokens', { token: admin, body: { name: 'x', scopes: ['users:read'] } });
    const token = res.body.data.token;
    expect((await ctx.request('GET', '/v3_5/admin/users', { token })).status).toBe(200);
    await ctx.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} });
    const adminRow = await ctx.database.db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
    const org = await ctx.database.db.selectFrom('organizations').select('id').executeTakeFirstOrThrow();
    await ctx.database.db.updateTable('users').set({ organizationId: org.id }).where('id', '=', adminRow.id).execute();
    expect((await ctx.request('GET', '/v3_5/admin/users', { token })).status).toBe(403);
  });

  it('rejects unknown scopes naming them', async () => {
    const res = await ctx.request('POST', '/v3_5/admin/tokens', { token: admin, body: { name: 'x', scopes: ['everything'] } });
    expect(res.status).toBe(400);
    expect(res.body.description).toContain('scopes');
  });
});
