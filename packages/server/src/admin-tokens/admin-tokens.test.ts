import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminContext, type TestContext } from '../test/harness.js';

let ctx: TestContext;
let admin: string;

beforeEach(async () => ({ ctx, admin } = await adminContext()));
afterEach(async () => ctx.close());

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

  it('lives at most the maximum token lifetime; by default exactly that', async () => {
    const max = ctx.config.tokenMaxLifetimeSeconds;
    const plain = await ctx.request('POST', '/v3_5/admin/tokens', { token: admin, body: { name: 'plain', scopes: ['versions:read'] } });
    expect(plain.body.data.expiresAt).toBe(new Date(ctx.clock.now().getTime() + max * 1000).toISOString());
    const tooLong = await ctx.request('POST', '/v3_5/admin/tokens', { token: admin, body: { name: 'long', scopes: ['versions:read'], expiresInSeconds: max + 60 } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.description).toMatch(/expiresInSeconds: at most \d+ seconds/);
  });

  it('made by a token, never outlives it: a leaked short-lived token cannot mint a lasting one', async () => {
    const parent = (await ctx.request('POST', '/v3_5/admin/tokens', { token: admin, body: { name: 'p', scopes: ['tokens:write', 'versions:read'], expiresInSeconds: 60 } })).body.data;
    const child = await ctx.request('POST', '/v3_5/admin/tokens', { token: parent.token, body: { name: 'c', scopes: ['versions:read'] } });
    expect(child.status).toBe(201);
    expect(child.body.data.expiresAt).toBe(parent.expiresAt);
    const longer = await ctx.request('POST', '/v3_5/admin/tokens', { token: parent.token, body: { name: 'c2', scopes: ['versions:read'], expiresInSeconds: 3600 } });
    expect(longer.status).toBe(400);
    expect(longer.body.description).toContain('cannot outlive the token that makes it');
    ctx.clock.advance(61_000);
    expect((await ctx.request('GET', '/v3_5/admin/versions', { token: child.body.data.token })).body.code).toBe('TOKEN_EXPIRED');
  });

  it('lists everyone’s tokens only with users:read', async () => {
    const tokensOnly = (await ctx.request('POST', '/v3_5/admin/tokens', { token: admin, body: { name: 't', scopes: ['tokens:read'] } })).body.data.token as string;
    const refused = await ctx.request('GET', '/v3_5/admin/tokens?all=true', { token: tokensOnly });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('INSUFFICIENT_SCOPE');
    expect((await ctx.request('GET', '/v3_5/admin/tokens', { token: tokensOnly })).status).toBe(200);
    const viewer = await ctx.userToken('vic', 'viewer');
    const viewerAll = await ctx.request('GET', '/v3_5/admin/tokens?all=true', { token: viewer });
    expect(viewerAll.status).toBe(403);
    expect((await ctx.request('GET', '/v3_5/admin/tokens?all=true', { token: admin })).status).toBe(200);
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
