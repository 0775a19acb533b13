import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyApiKey } from '../apikeys/api-keys.service.js';
import { createTestContext, type TestContext } from '../test/harness.js';

let ctx: TestContext;
let admin: string;

beforeEach(async () => {
  ctx = await createTestContext();
  admin = await ctx.login();
  await ctx.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} });
  await ctx.request('PUT', '/v3_5/admin/organizations/globex', { token: admin, body: {} });
});
afterEach(async () => ctx.close());

const putLabel = (name: string, body: unknown) => ctx.request('PUT', `/v3_5/admin/labels/${name}`, { token: admin, body });
const verify = (key: string) => verifyApiKey(ctx.database.db, 'label', key, ctx.clock.now());

describe('labels', () => {
  it('creation answers the API key once; only its digest is stored', async () => {
    const created = await putLabel('acme-web', { organization: 'acme', description: 'web shop' });
    expect(created.status).toBe(201);
    const key: string = created.body.data.apiKey;
    expect(key).toMatch(/^ds_lbl_[A-Za-z0-9_-]{32}$/);
    expect(created.body.data.keys).toHaveLength(1);
    expect(created.body.data.keys[0]).toMatchObject({ status: 'active', lastUsedAt: null });
    expect(key.startsWith(created.body.data.keys[0].prefix.replace('…', ''))).toBe(true);

    const fetched = await ctx.request('GET', '/v3_5/admin/labels/acme-web', { token: admin });
    expect(fetched.body.data.apiKey).toBeUndefined();
    const updated = await putLabel('acme-web', { organization: 'acme' });
    expect(updated.status).toBe(200);
    expect(updated.body.data.apiKey).toBeUndefined();
    expect(updated.body.data.description).toBe('web shop');

    const rows = await ctx.database.db.selectFrom('apiKeys').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(key);
    expect(await verify(key)).toBe(created.body.data.id);
  });

  it('label names are unique across organizations', async () => {
    await putLabel('shared-name', { organization: 'acme' });
    // The same name under another organization moves the label (PUT on the natural key) rather than duplicating it.
    const moved = await putLabel('shared-name', { organization: 'globex' });
    expect(moved.status).toBe(200);
    expect(moved.body.data.organization).toBe('globex');
    const all = await ctx.request('GET', '/v3_5/admin/labels', { token: admin });
    expect(all.body.data.filter((l: { name: string }) => l.name === 'shared-name')).toHaveLength(1);
  });

  it('refuses an unknown organization naming the field', async () => {
    const res = await putLabel('x', { organization: 'nope' });
    expect(res.status).toBe(400);
    expect(res.body.description).toContain('organization');
    expect((await ctx.request('GET', '/v3_5/admin/labels/x', { token: admin })).status).toBe(404);
  });

  it('filters by organization', async () => {
    await putLabel('a1', { organization: 'acme' });
    await putLabel('g1', { organization: 'globex' });
    const res = await ctx.request('GET', '/v3_5/admin/labels?organization=globex', { token: admin });
    expect(res.body.data.map((l: { name: string }) => l.name)).toEqual(['g1']);
    const missing = await ctx.request('GET', '/v3_5/admin/labels?organization=nope', { token: admin });
    expect(missing.status).toBe(404);
  });

  it('rotation with a grace period keeps the old key working until it ends', async () => {
    const old = (await putLabel('acme-web', { organization: 'acme' })).body.data.apiKey as string;
    const rotated = await ctx.request('POST', '/v3_5/admin/labels/acme-web/rotate-key', { token: admin, body: { graceSeconds: 3600 } });
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.data.apiKey as string;
    expect(fresh).not.toBe(old);
    expect(await verify(old)).not.toBeNull();
    expect(await verify(fresh)).not.toBeNull();
    const during = await ctx.request('GET', '/v3_5/admin/labels/acme-web', { token: admin });
    expect(during.body.data.keys.map((k: { status: string }) => k.status).sort()).toEqual(['active', 'grace']);

    ctx.clock.advance(3601 * 1000);
    expect(await verify(old)).toBeNull();
    expect(await verify(fresh)).not.toBeNull();
    const after = await ctx.request('GET', '/v3_5/admin/labels/acme-web', { token: admin });
    expect(after.body.data.keys.map((k: { status: string }) => k.status).sort()).toEqual(['active', 'expired']);
  });

  it('rotation without grace stops the old key at once; revoke stops every key', async () => {
    const old = (await putLabel('acme-web', { organization: 'acme' })).body.data.apiKey as string;
    const fresh = (await ctx.request('POST', '/v3_5/admin/labels/acme-web/rotate-key', { token: admin, body: {} })).body.data.apiKey as string;
    expect(await verify(old)).toBeNull();
    expect(await verify(fresh)).not.toBeNull();
    const revoked = await ctx.request('POST', '/v3_5/admin/labels/acme-web/revoke-key', { token: admin, body: {} });
    expect(revoked.status).toBe(200);
    expect(revoked.body.data.keys.every((k: { status: string }) => k.status === 'revoked')).toBe(true);
    expect(await verify(fresh)).toBeNull();
  });

  it('records when a key was last used', async () => {
    const key = (await putLabel('acme-web', { organization: 'acme' })).body.data.apiKey as string;
    await verify(key);
    const res = await ctx.request('GET', '/v3_5/admin/labels/acme-web', { token: admin });
    expect(res.body.data.keys[0].lastUsedAt).toBe(ctx.clock.now().toISOString());
  });

  it('a label key is not an installation key', async () => {
    const key = (await putLabel('acme-web', { organization: 'acme' })).body.data.apiKey as string;
    expect(await verifyApiKey(ctx.database.db, 'installation', key, ctx.clock.now())).toBeNull();
  });

  it('rejects a grace period over 90 days', async () => {
    await putLabel('acme-web', { organization: 'acme' });
    const res = await ctx.request('POST', '/v3_5/admin/labels/acme-web/rotate-key', { token: admin, body: { graceSeconds: 91 * 86400 } });
    expect(res.status).toBe(400);
    expect(res.body.description).toContain('graceSeconds');
  });

  it('DELETE removes the label and its keys', async () => {
    const key = (await putLabel('acme-web', { organization: 'acme' })).body.data.apiKey as string;
    const res = await ctx.request('DELETE', '/v3_5/admin/labels/acme-web', { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ deleted: 'acme-web', removed: { apiKeys: 1 } });
    expect(await verify(key)).toBeNull();
    expect((await ctx.request('DELETE', '/v3_5/admin/labels/acme-web', { token: admin })).status).toBe(404);
  });
});
