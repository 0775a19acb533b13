import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../test/harness.js';

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(async () => ctx.close());

describe('system', () => {
  it('status is public and names the latest allowed version by semver', async () => {
    const admin = await ctx.login();
    for (const [id, allowed] of [['1.9.0', true], ['1.10.0', true], ['2.0.0', false]] as const) {
      await ctx.request('PUT', `/v3_5/admin/versions/${id}`, { token: admin, body: { allowed } });
    }
    const res = await ctx.request('GET', '/v3_5/system/status');
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ isAlive: true, version: '0.0.0-test', latestVersion: '1.10.0', time: ctx.clock.now().toISOString() });
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('status is 503 with isAlive false when the database is gone', async () => {
    await ctx.database.close();
    const res = await ctx.request('GET', '/v3_5/system/status');
    expect(res.status).toBe(503);
    expect(res.body.data.isAlive).toBe(false);
  });

  it('info counts objects and devices by status', async () => {
    const admin = await ctx.login();
    await ctx.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} });
    await ctx.request('PUT', '/v3_5/admin/labels/acme-web', { token: admin, body: { organization: 'acme' } });
    const now = ctx.clock.now();
    const device = (id: string, status: string, lastSyncAt: string | null) => ({
      id,
      certFingerprint: `fp-${id}`,
      certificate: 'pem',
      publicJwk: '{}',
      keyAlg: 'ES256',
      version: '1.0.0',
      status,
      registeredAt: now.toISOString(),
      lastSyncAt,
      updatedAt: now.toISOString(),
    });
    await ctx.database.db
      .insertInto('devices')
      .values([
        device('d1', 'ACTIVE', now.toISOString()),
        device('d2', 'ACTIVE', new Date(now.getTime() - 2 * 86400_000).toISOString()),
        device('d3', 'ERROR', new Date(now.getTime() - 40 * 86400_000).toISOString()),
      ])
      .execute();
    ctx.clock.advance(5000);
    const res = await ctx.request('GET', '/v3_5/admin/system/info', { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      version: '0.0.0-test',
      uptimeSeconds: 5,
      database: { kind: ctx.database.kind },
      counts: {
        organizations: 1,
        labels: 1,
        versions: 0,
        users: 1,
        devices: { total: 3, byStatus: { ACTIVE: 2, ERROR: 1, UPDATABLE: 0, INACTIVE: 0 }, active24h: 1, active30d: 2 },
      },
    });
    expect(res.body.data.database.sizeBytes).toBeGreaterThan(0);
  });

  it('unknown routes answer the error envelope', async () => {
    const res = await ctx.request('GET', '/v3_5/nope');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ success: false, code: 'ROUTE_NOT_FOUND' });
  });

  it('serves an OpenAPI document that covers every admin route with the shared schemas', async () => {
    const res = await ctx.request('GET', '/v3_5/admin/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.0.3');
    const put = res.body.paths['/v3_5/admin/versions/{id}'].put;
    expect(put['x-required-scope']).toBe('versions:write');
    const body = put.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties)).toEqual(
      expect.arrayContaining(['recommended', 'mandatory', 'allowed', 'installers', 'contextConfig', 'sslKeystoreConfig']),
    );
    expect(body.additionalProperties).toBe(false);
    // Every route the app answers under /admin is documented, with its method.
    const routes = ctx.app.routes
      .filter((r) => r.method !== 'ALL' && r.path.startsWith('/v3_5/admin/') && r.path !== '/v3_5/admin/openapi.json')
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}').replace(/\/$/, '')}`);
    expect(routes.length).toBeGreaterThan(30);
    const documented = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(routes.filter((r) => !documented.includes(r))).toEqual([]);
  });
});

describe('NUL characters', () => {
  // PostgreSQL cannot store NUL in text: without a guard these were 500s on PostgreSQL only.
  it.each([
    ['a path parameter', 'GET', '/v3_5/admin/versions/3.8.1%00', undefined, 'path'],
    ['a query value', 'GET', '/v3_5/admin/reports/transactions?module=be%00id', undefined, 'query'],
    ['a JSON string', 'PUT', '/v3_5/admin/organizations/acme', { description: 'a\u0000b' }, 'body: description'],
    ['a JSON key', 'PUT', '/v3_5/admin/organizations/acme', { ['a\u0000']: 1 }, 'body'],
  ])('in %s is a 400 naming where it is', async (_case, method, path, body, where) => {
    const admin = await ctx.login();
    const res = await ctx.request(method, path, { token: admin, ...(body !== undefined ? { body } : {}) });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
    expect(res.body.description).toContain(`invalid ${where}`);
    expect(res.body.description).toContain('NUL');
  });

  it('in a login username is refused, not looked up', async () => {
    const res = await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'ad\u0000min', password: 'x' } });
    expect(res.status).toBe(400);
  });

  it('in a cursor is a cursor DS did not issue', async () => {
    const admin = await ctx.login();
    const cursor = Buffer.from(JSON.stringify({ k: 'a\u0000' })).toString('base64url');
    const res = await ctx.request('GET', `/v3_5/admin/organizations?cursor=${cursor}`, { token: admin });
    expect(res.status).toBe(400);
    expect(res.body.description).toMatch(/cursor/);
  });
});
