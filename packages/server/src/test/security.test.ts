import {
  API,
  API_PREFIX,
  API_ROUTES,
  OPERATIONS_PREFIX,
  OPERATIONS_ROUTES,
  SCOPES,
  renderPath,
  type DeviceClient,
  type RouteDefinition,
  type Scope,
} from '@ds/shared';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretDigest, secretHint } from '../lib/secrets.js';
import { DASHBOARD_PREFIX, DASHBOARD_ROUTES } from '../dashboard/dashboard.routes.js';
import { SESSION_COOKIE } from '../dashboard/session.js';
import { roleScopes } from '../users/principal.js';
import { device as deviceClient, sealMessageAs, seed } from './devices.js';
import { createTestContext, type TestContext, type TestResponse } from './harness.js';

// The security table, generated from the route definitions: every route is called with each
// credential that must be refused for it, and each refusal must change nothing. A route added
// to shared's API gets these cases without anyone writing them.

const admin_routes = API_ROUTES.filter((r) => r.auth.kind === 'admin');
const routesOf = (kind: RouteDefinition['auth']['kind']) => API_ROUTES.filter((r) => r.auth.kind === kind);

/** The device and API token the definitions' examples name; the fixture makes them. */
const EXAMPLE_DEVICE = API.getDevice.example.params.id;
const EXAMPLE_TOKEN = API.revokeToken.example.params.id;

let ctx: TestContext;
let admin: string;
let expiredSession: string;
let revokedToken: string;
let otherOrgAdmin: string;
let otherOrgViewer: string;
let installationKey: string;
let labelKey: string;
let realDevice: DeviceClient;
/** Per scope: an API token carrying every scope except that one. */
const tokensWithout = new Map<Scope, string>();

beforeAll(async () => {
  ctx = await createTestContext();
  // A session that is past its lifetime; everything else is made after the clock moved.
  expiredSession = await ctx.login();
  ctx.clock.advance((ctx.config.sessionTtlSeconds + 1) * 1000);
  admin = await ctx.login();
  ({ installationKey, labelKey } = await seed(ctx, admin));
  const put = (path: string, body: unknown) => ctx.request('PUT', path, { token: admin, body });
  expect((await put('/v3_5/admin/organizations/globex', {})).status).toBe(201);
  expect((await ctx.request('POST', '/v3_5/admin/users', { token: admin, body: { username: 'alice', password: 'alice-password-1', role: 'viewer', organization: 'acme' } })).status).toBe(201);

  otherOrgAdmin = await ctx.userToken('globex-admin', 'admin', 'globex');
  otherOrgViewer = await ctx.userToken('globex-viewer', 'viewer', 'globex');

  const create = async (scopes: string[]) => {
    const res = await ctx.request('POST', '/v3_5/admin/tokens', { token: admin, body: { name: 'ci', scopes } });
    expect(res.status).toBe(201);
    return res.body.data as { id: string; token: string };
  };
  for (const route of admin_routes) {
    const scope = route.auth.kind === 'admin' ? route.auth.scope : null;
    if (scope && !tokensWithout.has(scope)) tokensWithout.set(scope, (await create(SCOPES.filter((s) => s !== scope))).token);
  }
  const revoked = await create([...SCOPES]);
  expect((await ctx.request('DELETE', `/v3_5/admin/tokens/${revoked.id}`, { token: admin })).status).toBe(200);
  revokedToken = revoked.token;

  // The admin's API token and the acme device the examples name.
  const db = ctx.database.db;
  const adminId = (await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow()).id;
  const now = ctx.clock.now().toISOString();
  await db
    .insertInto('adminTokens')
    .values({ id: EXAMPLE_TOKEN, userId: adminId, kind: 'api', name: 'example', tokenHash: secretDigest('ds_adm_example'), prefix: secretHint('ds_adm_example'), scopes: '["versions:read"]', createdAt: now, expiresAt: null, revokedAt: null, lastUsedAt: null })
    .execute();
  realDevice = await deviceClient(ctx, installationKey);
  await realDevice.register();
  realDevice.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign' });
  await realDevice.sync();
  const row = await db.selectFrom('devices').selectAll().where('id', '=', realDevice.deviceId!).executeTakeFirstOrThrow();
  await db.insertInto('devices').values({ ...row, id: EXAMPLE_DEVICE, certFingerprint: `example-${row.certFingerprint}` }).execute();
  await db.insertInto('deviceLabels').values({ deviceId: EXAMPLE_DEVICE, label: 'acme-web', firstSeenAt: now, lastSeenAt: now }).execute();
  await db.insertInto('deviceCounters').values({ deviceId: EXAMPLE_DEVICE, label: 'acme-web', module: 'beid', useCase: 'sign', month: now.slice(0, 7), counter: 7, updatedAt: now }).execute();
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
    installers: await db.selectFrom('installers').selectAll().orderBy('versionId').orderBy('os').execute(),
    keys: await db.selectFrom('apiKeys').select(['id', 'revokedAt', 'expiresAt']).orderBy('id').execute(),
    users: await db.selectFrom('users').select(['username', 'role', 'organizationId', 'passwordHash']).orderBy('username').execute(),
    tokens: await db.selectFrom('adminTokens').select(['id', 'revokedAt', 'expiresAt']).orderBy('id').execute(),
    settings: await db.selectFrom('settings').selectAll().orderBy('key').execute(),
    dsKeys: await db.selectFrom('dsKeys').select(['kid', 'retiredAt']).orderBy('kid').execute(),
    devices: await db.selectFrom('devices').select(['id', 'status', 'version', 'lastSyncAt']).orderBy('id').execute(),
    deviceCounters: await db.selectFrom('deviceCounters').selectAll().orderBy('deviceId').orderBy('label').execute(),
    daily: await db.selectFrom('labelDailyCounters').selectAll().orderBy('label').orderBy('day').execute(),
    messages: await db.selectFrom('deviceMessages').select(['deviceId', 'jti']).orderBy('jti').execute(),
  };
}

/** Sends a route's example request with the given headers. */
function send(route: RouteDefinition, headers: Record<string, string>, body?: string): Promise<TestResponse> {
  const query = new URLSearchParams(route.example?.query ?? {}).toString();
  const path = `${API_PREFIX}${renderPath(route.path, route.example?.params)}${query ? `?${query}` : ''}`;
  const exampleBody = route.example?.body ?? (route.body ? {} : undefined);
  return ctx.request(route.method, path, {
    headers,
    ...(body !== undefined ? { rawBody: body } : exampleBody !== undefined ? { body: exampleBody } : {}),
  });
}

/** Runs `call` and checks it was refused with `status` and one of `codes`, and changed nothing. */
async function refused(call: () => Promise<TestResponse>, status: number, codes: string[]) {
  const before = await stateSnapshot();
  const res = await call();
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.success).toBe(false);
  expect(codes).toContain(res.body.code);
  expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
  expect(await stateSnapshot()).toEqual(before);
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The one code a limited user of another organization gets: their role lacks the scope, or the route refuses them. */
function tenancyCode(route: RouteDefinition, role: 'admin' | 'viewer'): string {
  const scope = route.auth.kind === 'admin' ? route.auth.scope : null;
  return scope && !roleScopes(role, true).has(scope) ? 'INSUFFICIENT_SCOPE' : 'FORBIDDEN';
}

describe.each(admin_routes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s', (_, route) => {
  const auth = route.auth.kind === 'admin' ? route.auth : undefined!;
  const cases: { name: string; headers: () => Record<string, string>; status: number; code: string }[] = [
    { name: 'no credential', headers: () => ({}), status: 401, code: 'UNAUTHENTICATED' },
    { name: 'a malformed header', headers: () => ({ authorization: 'Basic YWRtaW46YWRtaW4=' }), status: 401, code: 'UNAUTHENTICATED' },
    { name: 'a wrong token', headers: () => bearer('ds_adm_not-a-real-token'), status: 401, code: 'UNAUTHENTICATED' },
    { name: 'an expired session', headers: () => bearer(expiredSession), status: 401, code: 'TOKEN_EXPIRED' },
    { name: 'a revoked API token', headers: () => bearer(revokedToken), status: 401, code: 'TOKEN_REVOKED' },
  ];
  if (auth.scope) cases.push({ name: `a token without ${auth.scope}`, headers: () => bearer(tokensWithout.get(auth.scope!)!), status: 403, code: 'INSUFFICIENT_SCOPE' });
  const targetsAcme = auth.tenancy === 'unrestricted' || auth.tenancy === 'organization' || (auth.tenancy === 'filtered' && route.example?.query !== undefined);
  if (targetsAcme) {
    cases.push(
      { name: "another organization's admin", headers: () => bearer(otherOrgAdmin), status: 403, code: tenancyCode(route, 'admin') },
      { name: "another organization's viewer", headers: () => bearer(otherOrgViewer), status: 403, code: tenancyCode(route, 'viewer') },
    );
  }
  it.each(cases)('refuses $name and changes nothing', async (c) => {
    await refused(() => send(route, c.headers()), c.status, [c.code]);
  });

  if (auth.tenancy === 'filtered') {
    it("answers another organization's users nothing of acme", async () => {
      // Each of them whose role may read the route at all (viewers do not read the audit log, say).
      const scope = auth.scope;
      const readers = (['admin', 'viewer'] as const).filter((role) => scope === null || roleScopes(role, true).has(scope));
      expect(readers).toContain('admin');
      for (const token of readers.map((role) => (role === 'admin' ? otherOrgAdmin : otherOrgViewer))) {
        const path = `${API_PREFIX}${route.path}`;
        const res = await ctx.request('GET', path, { token });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const text = JSON.stringify(res.body.data);
        for (const secret of ['acme', EXAMPLE_DEVICE, realDevice.deviceId!]) expect(text).not.toContain(secret);
      }
    });
  }
});

describe.each(routesOf('application-token').map((r) => [`${r.method} ${r.path}`, r] as const))('%s', (_, route) => {
  it('refuses a missing, foreign, expired or wrong-kind token and changes nothing', async () => {
    const foreign = await generateKeyPair('ES256');
    const forged = await new SignJWT({ org: 'x', label: 'x' })
      .setProtectedHeader({ alg: 'ES256', kid: ctx.keys.current('sig').kid })
      .setIssuer(ctx.config.tokenIssuer)
      .setSubject('acme-web')
      .setJti('x')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(foreign.privateKey);
    const installation = (await ctx.request('GET', '/v3_5/tokens/installation', { headers: { apikey: installationKey } })).body.data as string;
    const application = (await ctx.request('GET', '/v3_5/tokens/application', { headers: { apikey: labelKey } })).body.data as string;
    await refused(() => send(route, {}), 401, ['INVALID_TOKEN']);
    await refused(() => send(route, bearer('not.a.jwt')), 401, ['INVALID_TOKEN']);
    await refused(() => send(route, bearer(forged)), 401, ['INVALID_TOKEN']);
    await refused(() => send(route, bearer(installation)), 401, ['INVALID_TOKEN']);
    ctx.clock.advance((ctx.config.applicationTokenTtlSeconds + 10) * 1000);
    await refused(() => send(route, bearer(application)), 401, ['INVALID_TOKEN']);
  });
});

describe.each(routesOf('installation-token').map((r) => [`${r.method} ${r.path}`, r] as const))('%s', (_, route) => {
  it('refuses a missing, expired or wrong-kind token and changes nothing', async () => {
    const installation = (await ctx.request('GET', '/v3_5/tokens/installation', { headers: { apikey: installationKey } })).body.data as string;
    const application = (await ctx.request('GET', '/v3_5/tokens/application', { headers: { apikey: labelKey } })).body.data as string;
    await refused(() => send(route, {}), 401, ['INVALID_TOKEN']);
    await refused(() => send(route, bearer(application)), 401, ['INVALID_TOKEN']);
    ctx.clock.advance((ctx.config.installationTokenTtlSeconds + 10) * 1000);
    await refused(() => send(route, bearer(installation)), 401, ['INVALID_TOKEN']);
  });
});

describe.each(routesOf('api-key').map((r) => [`${r.method} ${r.path}`, r] as const))('%s', (_, route) => {
  it('refuses a missing, wrong or other-kind key and changes nothing', async () => {
    const otherKind = route.auth.kind === 'api-key' && route.auth.key === 'label' ? installationKey : labelKey;
    await refused(() => send(route, {}), 401, ['INVALID_API_KEY']);
    await refused(() => send(route, { apikey: 'ds_lbl_not-a-real-key' }), 401, ['INVALID_API_KEY']);
    await refused(() => send(route, { apikey: otherKind }), 401, ['INVALID_API_KEY']);
  });
});

describe.each(routesOf('device-message').map((r) => [`${r.method} ${r.path}`, r] as const))('%s', (_, route) => {
  /** A message for the real device, sealed to DS; `signer` signs it (another device: a forgery). */
  const message = (signer: DeviceClient, payload: object) => sealMessageAs(ctx, signer, payload, { issuer: realDevice.deviceId! });
  const path = () => `${API_PREFIX}${renderPath(route.path, { id: realDevice.deviceId! })}`;
  const payload = route.example?.body ?? (route.name === 'sync' ? { version: '3.8.1', status: 'ACTIVE', digests: { contextConfig: null, sslKeystoreConfig: null }, labels: [], userAgents: [], transactions: [] } : { version: '3.8.1' });

  it('refuses plain JSON, an unknown device and a message signed by another device, and changes nothing', async () => {
    const other = await deviceClient(ctx, installationKey);
    await other.register();
    const forged = await message(other, payload);
    await refused(() => ctx.request('POST', path(), { body: payload }), 415, ['UNSUPPORTED_MEDIA_TYPE']);
    await refused(
      () => ctx.request('POST', `${API_PREFIX}${renderPath(route.path, { id: crypto.randomUUID() })}`, { rawBody: forged, headers: { 'content-type': 'application/jose' } }),
      404,
      ['UNKNOWN_DEVICE'],
    );
    await refused(() => ctx.request('POST', path(), { rawBody: forged, headers: { 'content-type': 'application/jose' } }), 401, ['MESSAGE_SIGNATURE_INVALID']);
    await refused(() => ctx.request('POST', path(), { rawBody: 'not-a-jwe', headers: { 'content-type': 'application/jose' } }), 400, ['INVALID_MESSAGE']);
  });
});

describe.each(DASHBOARD_ROUTES.filter((r) => r.auth.kind === 'dashboard-session').map((r) => [`${r.method} ${DASHBOARD_PREFIX}${r.path}`, r] as const))(
  '%s',
  (_, route) => {
    it('sends a browser without a live session to the login form, and changes nothing', async () => {
      const path = `${DASHBOARD_PREFIX}${route.path}`.replace(/\/$/, '');
      for (const cookie of [undefined, `${SESSION_COOKIE}=ds_ses_not-a-session`, `${SESSION_COOKIE}=${expiredSession}`, `${SESSION_COOKIE}=${revokedToken}`]) {
        const before = await stateSnapshot();
        const res = await ctx.app.request(path, { method: route.method, headers: { ...(cookie ? { cookie } : {}), origin: 'https://ds.example.test' } });
        expect(res.status).toBe(303);
        expect(res.headers.get('location')).toMatch(/^\/dashboard\/login\?/);
        expect(await stateSnapshot()).toEqual(before);
      }
    });
  },
);

describe.each(OPERATIONS_ROUTES.filter((r) => r.auth.kind === 'metrics-token').map((r) => [`${r.method} ${OPERATIONS_PREFIX}${r.path}`, r] as const))(
  '%s with DS_METRICS_TOKEN',
  (_, route) => {
    const token = 'security-test-metrics-token-0123456789';
    let metricsCtx: TestContext;
    beforeAll(async () => {
      metricsCtx = await createTestContext({ configOverrides: { DS_METRICS_TOKEN: token } });
    });
    afterAll(async () => metricsCtx?.close());

    const cases: { name: string; headers: () => Promise<Record<string, string>> }[] = [
      { name: 'no credential', headers: async () => ({}) },
      { name: 'a malformed header', headers: async () => ({ authorization: `Basic ${Buffer.from(`metrics:${token}`).toString('base64')}` }) },
      { name: 'a wrong token', headers: async () => bearer(`${token.slice(0, -1)}x`) },
      { name: 'a prefix of the token', headers: async () => bearer(token.slice(0, 8)) },
      { name: "an admin's session", headers: async () => bearer(await metricsCtx.login()) },
    ];
    it.each(cases)('refuses $name', async (c) => {
      const headers = await c.headers();
      const res = await metricsCtx.request(route.method, `${OPERATIONS_PREFIX}${route.path}`, { headers });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
      expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    });

    it('answers the token', async () => {
      expect((await metricsCtx.request(route.method, `${OPERATIONS_PREFIX}${route.path}`, { headers: bearer(token) })).status).toBe(200);
    });
  },
);

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
