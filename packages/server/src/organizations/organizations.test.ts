import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminContext, type TestContext } from '../test/harness.js';

let ctx: TestContext;
let admin: string;

beforeEach(async () => ({ ctx, admin } = await adminContext()));
afterEach(async () => ctx.close());

const put = (name: string, body: unknown = {}) => ctx.request('PUT', `/v3_5/admin/organizations/${name}`, { token: admin, body });

describe('organizations', () => {
  it('PUT creates with 201, then updates with 200 keeping createdAt', async () => {
    const created = await put('acme', { description: 'Acme Corp' });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({ name: 'acme', description: 'Acme Corp', labelCount: 0 });
    ctx.clock.advance(1000);
    const updated = await put('acme', { description: 'Acme Corporation' });
    expect(updated.status).toBe(200);
    expect(updated.body.data.description).toBe('Acme Corporation');
    expect(updated.body.data.createdAt).toBe(created.body.data.createdAt);
    expect(updated.body.data.updatedAt > created.body.data.updatedAt).toBe(true);
    const untouched = await put('acme', {});
    expect(untouched.body.data.description).toBe('Acme Corporation');
  });

  it.each([
    ['a name with a space', 'ac%20me', {}, 'organization name'],
    ['a name starting with a dash', '-acme', {}, 'organization name'],
    ['an unknown field', 'acme', { descr: 'x' }, 'descr'],
    ['a description that is not a string', 'acme', { description: 42 }, 'description'],
  ])('refuses %s with 400 naming what is wrong', async (_case, name, body, field) => {
    const res = await put(name, body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
    expect(res.body.description).toContain(field);
    expect((await ctx.request('GET', '/v3_5/admin/organizations', { token: admin })).body.data).toEqual([]);
  });

  it('refuses a body that is not JSON', async () => {
    const res = await ctx.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, rawBody: '{"description":', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.description).toMatch(/not valid JSON/);
    const text = await ctx.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, rawBody: 'description=x', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await put('acme', { description: 'x'.repeat(2 * 1024 * 1024) });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('GET of a missing organization is 404', async () => {
    const res = await ctx.request('GET', '/v3_5/admin/organizations/nope', { token: admin });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
  });

  it('pages through organizations in name order with an opaque cursor', async () => {
    const names = ['delta', 'alpha', 'echo', 'charlie', 'bravo'];
    for (const n of names) await put(n);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await ctx.request('GET', `/v3_5/admin/organizations?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: admin });
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((o: { name: string }) => o.name));
      cursor = res.body.page.next;
      pages += 1;
    } while (cursor);
    expect(seen).toEqual([...names].sort());
    expect(pages).toBe(3);
    const bad = await ctx.request('GET', '/v3_5/admin/organizations?cursor=garbage', { token: admin });
    expect(bad.status).toBe(400);
    const tooMany = await ctx.request('GET', '/v3_5/admin/organizations?limit=501', { token: admin });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.description).toContain('limit');
  });

  it('DELETE with labels is 409 unless forced, and force says what it removed', async () => {
    await put('acme');
    await ctx.request('PUT', '/v3_5/admin/labels/acme-web', { token: admin, body: { organization: 'acme' } });
    await ctx.request('PUT', '/v3_5/admin/labels/acme-app', { token: admin, body: { organization: 'acme' } });
    await ctx.userToken('acme-ops', 'viewer', 'acme');
    const refused = await ctx.request('DELETE', '/v3_5/admin/organizations/acme', { token: admin });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('HAS_DEPENDANTS');
    expect(refused.body.details.dependants).toEqual({ labels: 2, users: 1 });
    expect((await ctx.request('GET', '/v3_5/admin/labels/acme-web', { token: admin })).status).toBe(200);

    const forced = await ctx.request('DELETE', '/v3_5/admin/organizations/acme?force=true', { token: admin });
    expect(forced.status).toBe(200);
    expect(forced.body.data).toEqual({ deleted: 'acme', removed: { labels: 2, users: 1 } });
    expect((await ctx.request('GET', '/v3_5/admin/labels/acme-web', { token: admin })).status).toBe(404);
    expect(await ctx.database.db.selectFrom('apiKeys').selectAll().execute()).toEqual([]);
    expect((await ctx.request('GET', '/v3_5/admin/users/acme-ops', { token: admin })).status).toBe(404);
  });

  it('DELETE of an organization without dependants needs no force', async () => {
    await put('empty');
    const res = await ctx.request('DELETE', '/v3_5/admin/organizations/empty', { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.data.removed).toEqual({ labels: 0, users: 0 });
  });
});
