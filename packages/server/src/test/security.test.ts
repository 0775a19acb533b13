import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from './harness.js';

// The same security table for every admin route family: no credential, a wrong one, an expired
// session, a revoked API token, a token without the route's scope, and a user limited to another
// organization. None of them may read or change anything.

interface Route {
  family: string;
  method: string;
  path: string;
  body?: unknown;
  scope: string;
  /** True when an organization-limited user of another organization must be refused. */
  orgScoped: boolean;
}

const ROUTES: Route[] = [
  { family: 'organizations', method: 'GET', path: '/v3_5/admin/organizations', scope: 'orgs:read', orgScoped: false },
  { family: 'organizations', method: 'GET', path: '/v3_5/admin/organizations/acme', scope: 'orgs:read', orgScoped: true },
  { family: 'organizations', method: 'PUT', path: '/v3_5/admin/organizations/acme', body: { description: 'x' }, scope: 'orgs:write', orgScoped: true },
  { family: 'organizations', method: 'DELETE', path: '/v3_5/admin/organizations/acme', scope: 'orgs:write', orgScoped: true },
  { family: 'labels', method: 'GET', path: '/v3_5/admin/labels?organization=acme', scope: 'labels:read', orgScoped: true },
  { family: 'labels', method: 'GET', path: '/v3_5/admin/labels/acme-web', scope: 'labels:read', orgScoped: true },
  { family: 'labels', method: 'PUT', path: '/v3_5/admin/labels/acme-web', body: { organization: 'acme' }, scope: 'labels:write', orgScoped: true },
  { family: 'labels', method: 'DELETE', path: '/v3_5/admin/labels/acme-web', scope: 'labels:write', orgScoped: true },
  { family: 'labels', method: 'POST', path: '/v3_5/admin/labels/acme-web/rotate-key', body: {}, scope: 'labels:write', orgScoped: true },
  { family: 'labels', method: 'POST', path: '/v3_5/admin/labels/acme-web/revoke-key', body: {}, scope: 'labels:write', orgScoped: true },
  { family: 'versions', method: 'GET', path: '/v3_5/admin/versions', scope: 'versions:read', orgScoped: false },
  { family: 'versions', method: 'GET', path: '/v3_5/admin/versions/3.8.1/verify', scope: 'versions:read', orgScoped: false },
  { family: 'versions', method: 'PUT', path: '/v3_5/admin/versions/9.9.9', body: {}, scope: 'versions:write', orgScoped: true },
  { family: 'versions', method: 'DELETE', path: '/v3_5/admin/versions/3.8.1', scope: 'versions:write', orgScoped: true },
  { family: 'versions', method: 'POST', path: '/v3_5/admin/versions/3.8.1/rotate-key', body: {}, scope: 'versions:write', orgScoped: true },
  { family: 'versions', method: 'PUT', path: '/v3_5/admin/versions/3.8.1/context-config', body: { config: null }, scope: 'versions:write', orgScoped: true },
  { family: 'defaults', method: 'PUT', path: '/v3_5/admin/defaults/context-config', body: { config: null }, scope: 'versions:write', orgScoped: true },
  { family: 'users', method: 'GET', path: '/v3_5/admin/users', scope: 'users:read', orgScoped: true },
  { family: 'users', method: 'POST', path: '/v3_5/admin/users', body: { username: 'mallory', password: 'mallory-password-1', role: 'admin' }, scope: 'users:write', orgScoped: true },
  { family: 'users', method: 'DELETE', path: '/v3_5/admin/users/admin', scope: 'users:write', orgScoped: true },
  { family: 'tokens', method: 'GET', path: '/v3_5/admin/tokens?all=true', scope: 'tokens:read', orgScoped: true },
  { family: 'system', method: 'GET', path: '/v3_5/admin/system/info', scope: 'system:read', orgScoped: true },
  { family: 'reports', method: 'GET', path: '/v3_5/admin/reports/transactions?organization=acme', scope: 'reports:read', orgScoped: true },
  { family: 'reports', method: 'GET', path: '/v3_5/admin/reports/devices?organization=acme', scope: 'reports:read', orgScoped: true },
  { family: 'reports', method: 'GET', path: '/v3_5/admin/reports/downloads', scope: 'reports:read', orgScoped: true },
  { family: 'counters', method: 'POST', path: '/v3_5/admin/counters/rollover', body: {}, scope: 'counters:write', orgScoped: true },
];

let ctx: TestContext;
let admin: string;
let expiredSession: string;
let revokedToken: string;
let otherOrgAdmin: string;
let otherOrgViewer: string;
/** Per scope: an API token carrying every scope except that one. */
const tokensWithout = new Map<string, string>();

beforeAll(async () => {
  ctx = await createTestContext();
  // A session that is past its lifetime; everything else is made after the clock moved.
  expiredSession = await ctx.login();
  ctx.clock.advance((ctx.config.sessionTtlSeconds + 1) * 1000);
  admin = await ctx.login();
  const put = (path: string, body: unknown) => ctx.request('PUT', path, { token: admin, body });
  expect((await put('/v3_5/admin/organizations/acme', {})).status).toBe(201);
  expect((await put('/v3_5/admin/organizations/globex', {})).status).toBe(201);
  expect((await put('/v3_5/admin/labels/acme-web', { organization: 'acme' })).status).toBe(201);
  expect((await put('/v3_5/admin/versions/3.8.1', {})).status).toBe(201);

  otherOrgAdmin = await ctx.userToken('globex-admin', 'admin', 'globex');
  otherOrgViewer = await ctx.userToken('globex-viewer', 'viewer', 'globex');

  const create = async (scopes: string[]) => {
    const res = await ctx.request('POST', '/v3_5/admin/tokens', { token: admin, body: { name: 'ci', scopes } });
    expect(res.status).toBe(201);
    return res.body.data as { id: string; token: string };
  };
  const all = (await import('@ds/shared')).SCOPES;
  for (const scope of new Set(ROUTES.map((r) => r.scope))) tokensWithout.set(scope, (await create(all.filter((s) => s !== scope))).token);
  const revoked = await create([...all]);
  expect((await ctx.request('DELETE', `/v3_5/admin/tokens/${revoked.id}`, { token: admin })).status).toBe(200);
  revokedToken = revoked.token;
});

afterAll(async () => {
  await ctx?.close();
});

async function stateSnapshot() {
  const db = ctx.database.db;
  return {
    orgs: await db.selectFrom('organizations').selectAll().orderBy('name').execute(),
    labels: await db.selectFrom('labels').selectAll().orderBy('name').execute(),
    versions: await db.selectFrom('versions').selectAll().orderBy('id').execute(),
    keys: await db.selectFrom('apiKeys').select(['id', 'revokedAt', 'expiresAt']).orderBy('id').execute(),
    users: await db.selectFrom('users').select(['username', 'role']).orderBy('username').execute(),
    settings: await db.selectFrom('settings').selectAll().execute(),
  };
}

const CASES: { name: string; token: () => string | undefined; header?: string; status: number; code: string | string[]; applies?: (r: Route) => boolean }[] = [
  { name: 'no credential', token: () => undefined, status: 401, code: 'UNAUTHENTICATED' },
  { name: 'malformed header', token: () => undefined, header: 'Basic YWRtaW46YWRtaW4=', status: 401, code: 'UNAUTHENTICATED' },
  { name: 'wrong token', token: () => 'ds_adm_not-a-real-token', status: 401, code: 'UNAUTHENTICATED' },
  { name: 'expired session', token: () => expiredSession, status: 401, code: 'TOKEN_EXPIRED' },
  { name: 'revoked API token', token: () => revokedToken, status: 401, code: 'TOKEN_REVOKED' },
  { name: 'token without the scope', token: () => undefined, status: 403, code: 'INSUFFICIENT_SCOPE' },
  { name: "another organization's admin", token: () => otherOrgAdmin, status: 403, code: ['FORBIDDEN', 'INSUFFICIENT_SCOPE'], applies: (r) => r.orgScoped },
  { name: "another organization's viewer", token: () => otherOrgViewer, status: 403, code: ['FORBIDDEN', 'INSUFFICIENT_SCOPE'], applies: (r) => r.orgScoped },
];

describe.each(ROUTES)('$method $path', (route) => {
  it.each(CASES.filter((c) => !c.applies || c.applies(route)))('refuses $name and changes nothing', async (c) => {
    const before = await stateSnapshot();
    const token = c.name === 'token without the scope' ? tokensWithout.get(route.scope) : c.token();
    const res = await ctx.request(route.method, route.path, {
      ...(token ? { token } : {}),
      ...(c.header ? { headers: { authorization: c.header } } : {}),
      ...(route.body !== undefined ? { body: route.body } : {}),
    });
    expect(res.status).toBe(c.status);
    expect(res.body.success).toBe(false);
    expect([c.code].flat()).toContain(res.body.code);
    expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
    expect(await stateSnapshot()).toEqual(before);
  });
});

describe('organization-limited users', () => {
  it('answers 403 alike for another organization’s label and a label that does not exist', async () => {
    const existing = await ctx.request('GET', '/v3_5/admin/labels/acme-web', { token: otherOrgAdmin });
    const missing = await ctx.request('GET', '/v3_5/admin/labels/no-such-label', { token: otherOrgAdmin });
    expect(existing.status).toBe(403);
    expect(missing.status).toBe(403);
    expect(existing.body.code).toBe(missing.body.code);
    expect(existing.body.description).toBe(missing.body.description);
  });

  it('sees only its own organization and labels in lists', async () => {
    const put = await ctx.request('PUT', '/v3_5/admin/labels/globex-web', { token: otherOrgAdmin, body: { organization: 'globex' } });
    expect(put.status).toBe(201);
    const orgs = await ctx.request('GET', '/v3_5/admin/organizations', { token: otherOrgViewer });
    expect(orgs.body.data.map((o: { name: string }) => o.name)).toEqual(['globex']);
    const labels = await ctx.request('GET', '/v3_5/admin/labels', { token: otherOrgViewer });
    expect(labels.body.data.map((l: { name: string }) => l.name)).toEqual(['globex-web']);
    const adminLabels = await ctx.request('GET', '/v3_5/admin/labels', { token: admin });
    expect(adminLabels.body.data.map((l: { name: string }) => l.name)).toEqual(['acme-web', 'globex-web']);
  });

  it('cannot move its label into another organization', async () => {
    const res = await ctx.request('PUT', '/v3_5/admin/labels/globex-web', { token: otherOrgAdmin, body: { organization: 'acme' } });
    expect(res.status).toBe(403);
    const label = await ctx.request('GET', '/v3_5/admin/labels/globex-web', { token: admin });
    expect(label.body.data.organization).toBe('globex');
  });

  it('a viewer reads but cannot write its own organization’s labels', async () => {
    expect((await ctx.request('GET', '/v3_5/admin/labels/globex-web', { token: otherOrgViewer })).status).toBe(200);
    const res = await ctx.request('POST', '/v3_5/admin/labels/globex-web/rotate-key', { token: otherOrgViewer, body: {} });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('INSUFFICIENT_SCOPE');
  });
});
