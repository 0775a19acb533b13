import { API, API_PREFIX, API_ROUTES, renderPath, type RouteDefinition } from '@ds/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { secretDigest, secretHint } from '../lib/secrets.js';
import { device as deviceClient, seed } from '../test/devices.js';
import { ADMIN_PASSWORD, createTestContext, type TestContext } from '../test/harness.js';
import { applyAuditRetention, recordEvent, verifyAudit } from './audit.service.js';

let ctx: TestContext;
afterEach(async () => ctx?.close());

const EXAMPLE_DEVICE = API.getDevice.example.params.id;
const EXAMPLE_TOKEN = API.revokeToken.example.params.id;

async function entries(query = '', token?: string) {
  const res = await ctx.request('GET', `/v3_5/admin/audit${query}`, { token: token ?? (await ctx.login()) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data as any[];
}

async function lastSeq(): Promise<number> {
  const row = await ctx.database.db.selectFrom('auditChain').select('lastSeq').executeTakeFirstOrThrow();
  return Number(row.lastSeq);
}

/**
 * Makes what a route's example names exist (org acme, label acme-web, version 3.8.1, user alice,
 * the example API token and device), so that the example request succeeds.
 */
async function exampleFixture(route: RouteDefinition): Promise<string> {
  const admin = await ctx.login();
  const { installationKey } = await seed(ctx, admin);
  if (route.name !== 'createUser') {
    const res = await ctx.request('POST', '/v3_5/admin/users', { token: admin, body: { username: 'alice', password: 'alice-password-1', role: 'viewer', organization: 'acme' } });
    expect(res.status).toBe(201);
  }
  const db = ctx.database.db;
  const now = ctx.clock.now().toISOString();
  const adminId = (await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow()).id;
  await db
    .insertInto('adminTokens')
    .values({ id: EXAMPLE_TOKEN, userId: adminId, kind: 'api', name: 'example', tokenHash: secretDigest('ds_adm_example'), prefix: secretHint('ds_adm_example'), scopes: '["versions:read"]', createdAt: now, expiresAt: null, revokedAt: null, lastUsedAt: null })
    .execute();
  if (route.name === 'deleteDevice') {
    const real = await deviceClient(ctx, installationKey);
    await real.register();
    const row = await db.selectFrom('devices').selectAll().where('id', '=', real.deviceId!).executeTakeFirstOrThrow();
    await db.insertInto('devices').values({ ...row, id: EXAMPLE_DEVICE, certFingerprint: `example-${row.certFingerprint}` }).execute();
    await db.insertInto('deviceLabels').values({ deviceId: EXAMPLE_DEVICE, label: 'acme-web', firstSeenAt: now, lastSeenAt: now }).execute();
  }
  if (route.path.startsWith('/admin/webhooks/{id}')) {
    // The webhook and delivery the examples name.
    const id = API.getWebhook.example.params.id;
    const { sealed, masterKeyId } = ctx.keys.sealSecret(`webhook:${id}`, Buffer.alloc(32, 1));
    await db
      .insertInto('webhooks')
      .values({ id, url: 'https://hooks.example.com/ds', events: '["*"]', organizationId: null, description: null, secretEncrypted: sealed, masterKeyId, createdAt: now, createdBy: 'admin', disabledAt: null, disabledReason: null, failingSince: null, lastSuccessAt: null, lastFailureAt: null, allowPrivate: 0 })
      .execute();
    await db
      .insertInto('webhookDeliveries')
      .values({ id: API.redeliverWebhook.example.params.deliveryId, webhookId: id, eventId: 'e', eventType: 'version.created', payload: '{}', createdAt: now, status: 'delivered', attempts: 1, nextAttemptAt: null, leaseUntil: null, leaseHolder: null, deliveredAt: now, lastStatusCode: 200, lastError: null })
      .execute();
  }
  if (route.path.includes('/rollout')) {
    const version = await ctx.request('PUT', '/v3_5/admin/versions/3.10.0', { token: admin, body: { installers: [{ os: 'win64', uri: 'https://cdn.example.test/t1c-3.10.0.exe' }] } });
    expect(version.status).toBe(201);
    if (route.name !== 'putRollout') {
      const put = API_ROUTES.find((r) => r.name === 'putRollout')!;
      const res = await ctx.request('PUT', `${API_PREFIX}${renderPath(put.path, put.example!.params)}`, { token: admin, body: put.example!.body });
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
      if (route.name === 'resumeRollout') {
        const pause = API_ROUTES.find((r) => r.name === 'pauseRollout')!;
        await ctx.request('POST', `${API_PREFIX}${renderPath(pause.path, pause.example!.params)}`, { token: admin, body: {} });
      }
    }
  }
  if (route.name === 'putVersionSslKeystoreConfig' || route.name === 'putDefaultSslKeystoreConfig') {
    // The example clears the config: give it one to clear (a PUT that changes nothing records nothing).
    const path = route.name === 'putDefaultSslKeystoreConfig' ? '/v3_5/admin/defaults/ssl-keystore-config' : '/v3_5/admin/versions/3.8.1/ssl-keystore-config';
    const res = await ctx.request('PUT', path, { token: admin, body: { config: { uri: 'https://keys.example.com/ks.p12', sha256: 'b'.repeat(64) } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  if (route.name === 'deleteOrganizationPolicy') {
    const put = API_ROUTES.find((r) => r.name === 'putOrganizationPolicy')!;
    await ctx.request('PUT', `${API_PREFIX}${renderPath(put.path, put.example!.params)}`, { token: admin, body: put.example!.body });
  }
  // A fresh session, so the fixture's own entries are all before the request under test.
  return ctx.login();
}

const ADMIN_WRITES = API_ROUTES.filter((r) => r.auth.kind === 'admin' && r.method !== 'GET');

describe('every admin change leaves an audit entry (generated from the route definitions)', () => {
  it.each(ADMIN_WRITES.map((r) => [r.name, r] as const))('%s', async (_name, route) => {
    ctx = await createTestContext();
    const token = await exampleFixture(route);
    const before = await lastSeq();
    const query = new URLSearchParams({ ...(route.example?.query ?? {}), ...(route.name.startsWith('delete') ? { force: 'true' } : {}) }).toString();
    const path = `${API_PREFIX}${renderPath(route.path, route.example?.params)}${query && route.query ? `?${query}` : ''}`;
    const res = await ctx.request(route.method, path, { token, ...(route.body ? { body: route.example?.body ?? {} } : {}) });
    expect(res.status, `${route.name}: the example must succeed on the fixture: ${JSON.stringify(res.body)}`).toBeLessThan(300);
    const recorded = await ctx.database.db.selectFrom('auditLog').selectAll().where('seq', '>', before).orderBy('seq').execute();
    expect(recorded.length, `${route.name} recorded no audit entry`).toBeGreaterThan(0);
    const own = recorded.find((e) => e.requestId === res.headers.get('x-request-id'));
    expect(own, `${route.name}: no entry carries the request id`).toBeDefined();
    expect(own!.actorName).toBe('admin');
    expect(own!.actorType).toBe('user');
    expect(own!.tokenId).not.toBeNull();
    expect((await verifyAudit(ctx.app.services)).ok).toBe(true);
  });
});

describe('audit log', () => {
  it('starts with the first start: the admin user and the DS keys it made', async () => {
    ctx = await createTestContext();
    const rows = await ctx.database.db.selectFrom('auditLog').selectAll().orderBy('seq').execute();
    expect(rows.map((r) => [r.action, r.actorName])).toEqual([
      ['ds.initialized', 'first start'],
      // The test harness copies a database made once and makes new DS keys for each test.
      ['keys.created', 'first start'],
    ]);
    expect((await verifyAudit(ctx.app.services)).ok).toBe(true);
  });

  it('records who, when, from where, what, and the before and after, without secrets', async () => {
    ctx = await createTestContext();
    const admin = await ctx.login();
    await ctx.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} });
    const created = await ctx.request('PUT', '/v3_5/admin/labels/acme-web', { token: admin, body: { organization: 'acme', description: 'shop' } });
    const apiKey: string = created.body.data.apiKey;
    ctx.clock.advance(60_000);
    const res = await ctx.request('PUT', '/v3_5/admin/labels/acme-web', { token: admin, body: { organization: 'acme', description: 'web shop' } });
    expect(res.status).toBe(200);

    const [latest, first] = await entries('?resource=label:acme-web');
    expect(latest).toMatchObject({
      action: 'label.updated',
      at: ctx.clock.now().toISOString(),
      actor: { type: 'user', name: 'admin', credential: 'session' },
      requestId: res.headers.get('x-request-id'),
      organization: 'acme',
      resource: { type: 'label', id: 'acme-web' },
      before: { description: 'shop' },
      after: { description: 'web shop' },
    });
    expect(latest.actor.tokenId).toEqual(expect.any(String));
    // The label as it was, its time of change included; the after has the new one.
    expect(latest.before.updatedAt).toBe(created.body.data.updatedAt);
    expect(latest.after.updatedAt).toBe(res.body.data.updatedAt);
    expect(latest.before.updatedAt).not.toBe(latest.after.updatedAt);
    expect(latest.prevHash).toBe(first.hash);
    expect(first).toMatchObject({ action: 'label.created', before: null });
    // The key was answered once; the log never holds it.
    const all = await ctx.database.db.selectFrom('auditLog').selectAll().execute();
    expect(JSON.stringify(all)).not.toContain(apiKey);
    expect(first.after.apiKey).toBeUndefined();

    // An unchanged PUT records nothing.
    const count = all.length;
    await ctx.request('PUT', '/v3_5/admin/labels/acme-web', { token: admin, body: { organization: 'acme', description: 'web shop' } });
    expect(await ctx.database.db.selectFrom('auditLog').select('seq').execute()).toHaveLength(count);
  });

  it('records the client address: the peer, or the client a trusted proxy names in X-Forwarded-For', async () => {
    ctx = await createTestContext({ configOverrides: { DS_TRUSTED_PROXIES: '10.0.0.1' } });
    const admin = await ctx.login();
    const put = (org: string, peer: string) =>
      ctx.app.request(
        `/v3_5/admin/organizations/${org}`,
        { method: 'PUT', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' }, body: '{}' },
        { incoming: { socket: { remoteAddress: peer } } },
      );
    expect((await put('via-proxy', '10.0.0.1')).status).toBe(201);
    expect((await put('direct', '198.51.100.7')).status).toBe(201);
    const byOrg = Object.fromEntries((await entries('?resource=organization')).map((e) => [e.resource.id, e.address]));
    expect(byOrg).toEqual({ 'via-proxy': '203.0.113.9', direct: '198.51.100.7' });
  });

  it('records failed logins and the lockout, under the user’s organization', async () => {
    ctx = await createTestContext();
    const admin = await ctx.login();
    await ctx.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} });
    await ctx.userToken('acme-admin', 'admin', 'acme');
    for (let i = 0; i < 10; i++) {
      const res = await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'acme-admin', password: 'wrong-password-1' } });
      expect(res.status).toBe(401);
    }
    const failed = await entries('?action=auth.login_failed');
    expect(failed).toHaveLength(10);
    expect(failed[0]).toMatchObject({ actor: { type: 'anonymous', name: 'acme-admin', userId: null }, organization: 'acme', resource: { type: 'user', id: 'acme-admin' } });
    const locked = await entries('?action=auth.locked_out');
    expect(locked).toHaveLength(1);
    expect(locked[0].after.retryAfterSeconds).toBeGreaterThan(0);
    // A login refused while locked out is not another lockout entry.
    expect((await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'acme-admin', password: 'wrong-password-1' } })).status).toBe(429);
    expect(await entries('?action=auth.locked_out')).toHaveLength(1);
    expect((await entries('?action=auth.*&actor=acme-admin')).map((e) => e.action)).toContain('auth.login');
  });

  it('records token creation and revocation and key rotation', async () => {
    ctx = await createTestContext();
    const admin = await ctx.login();
    const token = await ctx.request('POST', '/v3_5/admin/tokens', { token: admin, body: { name: 'ci', scopes: ['versions:read'] } });
    await ctx.request('DELETE', `/v3_5/admin/tokens/${token.body.data.id}`, { token: admin });
    await ctx.request('POST', '/v3_5/admin/keys/rotate', { token: admin, body: { use: 'sig' } });
    const list = await entries('?order=asc&action=token.*');
    expect(list.map((e) => e.action)).toEqual(['token.created', 'token.revoked']);
    expect(list[1].after.revokedAt).toEqual(expect.any(String));
    expect(JSON.stringify(list)).not.toContain(token.body.data.token);
    const [rotated] = await entries('?action=keys.rotated');
    expect(rotated.after.current[0].use).toBe('sig');
  });

  it('filters by time, actor, resource and organization, and pages', async () => {
    ctx = await createTestContext();
    const admin = await ctx.login();
    const start = ctx.clock.now().toISOString();
    for (const org of ['acme', 'globex', 'initech']) {
      ctx.clock.advance(1000);
      await ctx.request('PUT', `/v3_5/admin/organizations/${org}`, { token: admin, body: {} });
    }
    expect((await entries(`?resource=organization&since=${ctx.clock.now().toISOString()}`)).map((e) => e.resource.id)).toEqual(['initech']);
    expect((await entries(`?resource=organization&until=${new Date(Date.parse(start) + 1500).toISOString()}`)).map((e) => e.resource.id)).toEqual(['acme']);
    expect(await entries('?actor=nobody')).toEqual([]);
    expect((await entries('?organization=globex')).map((e) => e.action)).toEqual(['organization.created']);
    const page1 = await ctx.request('GET', '/v3_5/admin/audit?resource=organization&limit=2', { token: admin });
    expect(page1.body.data.map((e: any) => e.resource.id)).toEqual(['initech', 'globex']);
    const page2 = await ctx.request('GET', `/v3_5/admin/audit?resource=organization&limit=2&cursor=${page1.body.page.next}`, { token: admin });
    expect(page2.body.data.map((e: any) => e.resource.id)).toEqual(['acme']);
    expect(page2.body.page.next).toBeNull();
    const bad = await ctx.request('GET', '/v3_5/admin/audit?since=yesterday', { token: admin });
    expect(bad.status).toBe(400);
    expect(bad.body.description).toContain('since');
  });

  it('a user limited to an organization sees only its entries, and cannot verify', async () => {
    ctx = await createTestContext();
    const admin = await ctx.login();
    for (const org of ['acme', 'globex']) {
      await ctx.request('PUT', `/v3_5/admin/organizations/${org}`, { token: admin, body: {} });
      await ctx.request('PUT', `/v3_5/admin/labels/${org}-web`, { token: admin, body: { organization: org } });
    }
    await ctx.request('PUT', '/v3_5/admin/versions/3.8.1', { token: admin, body: {} });
    const acme = await ctx.userToken('acme-admin', 'admin', 'acme');
    await ctx.request('PUT', '/v3_5/admin/labels/acme-web', { token: acme, body: { organization: 'acme', description: 'mine' } });

    const seen = await entries('?limit=500', acme);
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen.map((e) => e.organization))).toEqual(new Set(['acme']));
    expect(seen.some((e) => e.resource.id === 'globex-web' || e.resource.type === 'version')).toBe(false);
    const other = await ctx.request('GET', '/v3_5/admin/audit?organization=globex', { token: acme });
    expect(other.status).toBe(403);
    const verify = await ctx.request('GET', '/v3_5/admin/audit/verify', { token: acme });
    expect(verify.status).toBe(403);
    expect(verify.body.description).toContain('acme');
    // A viewer does not read the audit log at all.
    const viewer = await ctx.userToken('viewer', 'viewer');
    expect((await ctx.request('GET', '/v3_5/admin/audit', { token: viewer })).status).toBe(403);
    // An admin who sees all of DS verifies the chain, including the organization's entries.
    const ok = await ctx.request('GET', '/v3_5/admin/audit/verify', { token: admin });
    expect(ok.body.data).toMatchObject({ ok: true, broken: null, firstSeq: 1, lastSeq: await lastSeq() });
  });
});

describe('the chain', () => {
  async function withEntries(n: number) {
    ctx = await createTestContext();
    const admin = await ctx.login();
    for (let i = 0; i < n; i++) await ctx.request('PUT', `/v3_5/admin/organizations/org-${i}`, { token: admin, body: {} });
    return admin;
  }

  it('names the first changed entry', async () => {
    const admin = await withEntries(4);
    await ctx.database.db.updateTable('auditLog').set({ after: '{"name":"evil"}' }).where('seq', '=', 3).execute();
    await ctx.database.db.updateTable('auditLog').set({ actorName: 'someone' }).where('seq', '=', 4).execute();
    const res = await ctx.request('GET', '/v3_5/admin/audit/verify', { token: admin });
    expect(res.body.data).toMatchObject({ ok: false, broken: { seq: 3, reason: expect.stringContaining('changed') } });
  });

  it('names a removed entry, a rewritten link and a removed newest entry', async () => {
    await withEntries(4);
    const db = ctx.database.db;
    await db.deleteFrom('auditLog').where('seq', '=', 2).execute();
    expect((await verifyAudit(ctx.app.services)).broken).toMatchObject({ seq: 2, reason: expect.stringContaining('missing') });

    await ctx.close();
    await withEntries(4);
    // Recomputing one entry's hash to hide a change breaks the link to the next one.
    const { entryHash } = await import('./audit.service.js');
    const row = await ctx.database.db.selectFrom('auditLog').selectAll().where('seq', '=', 2).executeTakeFirstOrThrow();
    const forged = { ...row, seq: Number(row.seq), after: '{"name":"evil"}' };
    const { hash: _h, ...fields } = forged;
    await ctx.database.db.updateTable('auditLog').set({ after: forged.after, hash: entryHash(fields) }).where('seq', '=', 2).execute();
    expect((await verifyAudit(ctx.app.services)).broken).toMatchObject({ seq: 3, reason: expect.stringContaining('does not follow entry 2') });

    await ctx.close();
    await withEntries(3);
    const last = await lastSeq();
    await ctx.database.db.deleteFrom('auditLog').where('seq', '=', last).execute();
    expect((await verifyAudit(ctx.app.services)).broken).toMatchObject({ seq: last, reason: expect.stringContaining('missing') });
  });

  it('retention removes the oldest entries and the chain stays verifiable from the anchor', async () => {
    await withEntries(3);
    const oldLast = await lastSeq();
    ctx.clock.advance(40 * 86400_000);
    const admin = await ctx.login();
    await ctx.request('PUT', '/v3_5/admin/organizations/late', { token: admin, body: {} });
    expect(await applyAuditRetention(ctx.app.services, 0)).toBe(0);
    expect(await applyAuditRetention(ctx.app.services, 30, 2)).toBe(oldLast);
    const result = await verifyAudit(ctx.app.services);
    expect(result).toMatchObject({ ok: true, firstSeq: oldLast + 1, lastSeq: await lastSeq() });
    const removedLast = result.anchorHash;
    expect(removedLast).not.toBe('0'.repeat(64));
    // Removing one more entry by hand (not by retention) is a break.
    await ctx.database.db.deleteFrom('auditLog').where('seq', '=', oldLast + 1).execute();
    expect((await verifyAudit(ctx.app.services)).ok).toBe(false);
  });

  it('a check that retention overtakes midway starts again from the new anchor instead of reporting a break', async () => {
    await withEntries(6);
    const oldLast = await lastSeq();
    ctx.clock.advance(40 * 86400_000);
    await ctx.request('PUT', '/v3_5/admin/organizations/late', { token: await ctx.login(), body: {} });
    // Pages of two entries; before the second page is read, retention removes every old entry
    // (more than a page), so the second page starts past a gap retention made.
    let pages = 0;
    const services = ctx.app.services;
    const db = new Proxy(services.db, {
      get(target, prop, receiver) {
        if (prop !== 'selectFrom') return Reflect.get(target, prop, receiver);
        return (table: string) => {
          const builder = target.selectFrom(table as 'auditLog');
          return table === 'auditLog' ? beforeExecute(builder, async () => (++pages === 2 ? applyAuditRetention(services, 30) : 0)) : builder;
        };
      },
    });
    const result = await verifyAudit({ db }, 2);
    expect(result).toMatchObject({ ok: true, firstSeq: oldLast + 1, lastSeq: await lastSeq(), broken: null });
    expect(pages).toBeGreaterThan(2);
  });

  it('the scheduler applies DS_AUDIT_RETENTION_DAYS under its retention lease', async () => {
    ctx = await createTestContext({ configOverrides: { DS_AUDIT_RETENTION_DAYS: '30' } });
    const admin = await ctx.login();
    await ctx.request('PUT', '/v3_5/admin/organizations/old', { token: admin, body: {} });
    const old = await lastSeq();
    ctx.clock.advance(31 * 86400_000);
    await ctx.request('PUT', '/v3_5/admin/organizations/new', { token: await ctx.login(), body: {} });
    const { CounterScheduler } = await import('../counters/scheduler.js');
    await new CounterScheduler(ctx.app.services).tick();
    const kept = await ctx.database.db.selectFrom('auditLog').select('seq').orderBy('seq').execute();
    expect(Number(kept[0]!.seq)).toBe(old + 1);
    expect(await verifyAudit(ctx.app.services)).toMatchObject({ ok: true, firstSeq: old + 1 });
  });

  it('stays one line with concurrent appends', async () => {
    ctx = await createTestContext();
    const services = ctx.app.services;
    const initial = await lastSeq(); // the first start's entries
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        services.db.transaction().execute((trx) => recordEvent(services, trx, { action: 'test.event', resourceType: 'test', resourceId: String(i), always: true })),
      ),
    );
    const result = await verifyAudit(services);
    expect(result.ok).toBe(true);
    expect(result.checked).toBe(initial + 20);
  });

  it('a password is never recorded', async () => {
    ctx = await createTestContext();
    const admin = await ctx.login();
    await ctx.request('POST', '/v3_5/admin/users', { token: admin, body: { username: 'bob', password: 'bob-secret-password', role: 'viewer' } });
    await ctx.request('PUT', '/v3_5/admin/users/bob/password', { token: admin, body: { password: 'another-secret-pass' } });
    await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'admin', password: `${ADMIN_PASSWORD}-wrong` } });
    const text = JSON.stringify(await ctx.database.db.selectFrom('auditLog').selectAll().execute());
    expect(text).not.toContain('bob-secret-password');
    expect(text).not.toContain('another-secret-pass');
    expect(text).not.toContain(`${ADMIN_PASSWORD}-wrong`);
    expect(text).toContain('user.password_set');
  });
});

/** A query builder whose `execute` first awaits `first` (whatever chain of builder calls leads to it). */
function beforeExecute<B extends object>(builder: B, first: () => Promise<unknown>): B {
  return new Proxy(builder, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'execute') return async (...args: unknown[]) => (await first(), (value as (...a: unknown[]) => unknown).apply(target, args));
      return (...args: unknown[]) => {
        const out = (value as (...a: unknown[]) => unknown).apply(target, args);
        return out !== null && typeof out === 'object' && 'execute' in out ? beforeExecute(out, first) : out;
      };
    },
  });
}
