import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { registeredDevice, seed } from '../test/devices.js';
import { createTestContext, TEST_MASTER_KEY, type TestContext } from '../test/harness.js';
import { DsKeyStore } from '../keys/keystore.js';
import { MasterKey } from '../keys/master-key.js';
import { rekeyDsKeys } from '../keys/rekey.js';
import { secretName } from './webhooks.service.js';
import { closeServer, listenLocal } from '../test/local-server.js';
import { backoffMs, DISABLE_AFTER_MS, FIRST_BACKOFF_MS, LEASE_MS, MAX_ATTEMPTS, signWebhook, WebhookWorker } from './worker.js';

// Webhooks against a real HTTP receiver on 127.0.0.1 (port 0), with DS_ALLOW_PRIVATE_ORIGINS as an
// on-premises receiver needs it. The worker is ticked by the test and time moves on the fake
// clock: nothing sleeps. Signatures are checked with the specification's algorithm written out
// here (HMAC-SHA256 over "id.timestamp.body", key = the base64 after whsec_), not with DS's code.

interface Received {
  headers: Record<string, string>;
  body: string;
}

let ctx: TestContext;
let admin: string;
let receiver: { server: Server; url: string; received: Received[]; status: (r: Received) => number };

async function startReceiver() {
  const received: Received[] = [];
  const state = { server: undefined as unknown as Server, url: '', received, status: (_r: Received) => 204 };
  state.server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const r = { headers: req.headers as Record<string, string>, body };
      received.push(r);
      res.statusCode = state.status(r);
      res.end();
    });
  });
  state.url = `http://127.0.0.1:${await listenLocal(state.server)}/hooks`;
  return state;
}

async function setup(overrides: Record<string, string> = {}) {
  ctx = await createTestContext({ configOverrides: { DS_ALLOW_PRIVATE_ORIGINS: 'true', ...overrides } });
  admin = await ctx.login();
  receiver = await startReceiver();
}

afterEach(async () => {
  if (receiver) await closeServer(receiver.server);
  await ctx?.close();
});

/** The specification's check, written out: v1 signature = base64(HMAC-SHA256(key, "id.timestamp.body")). */
function verifySignature(secret: string, r: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`).digest('base64');
  return r.headers['webhook-signature']!.split(' ').some((s) => s === `v1,${expected}`);
}

const create = (body: Record<string, unknown>, token = admin) => ctx.request('POST', '/v3_5/admin/webhooks', { token, body });
const worker = () => new WebhookWorker(ctx.app.services, () => 0.5);
const deliveries = async (id: string, token = admin) => (await ctx.request('GET', `/v3_5/admin/webhooks/${id}/deliveries`, { token })).body.data as any[];

describe('signing', () => {
  it('matches the Standard Webhooks specification’s test vector', () => {
    // From the specification (standard-webhooks/standard-webhooks, spec/standard-webhooks.md and its libraries' tests).
    const secret = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64');
    const signature = signWebhook(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', new Date(1614265330 * 1000), '{"test": 2432232314}');
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('backs off exponentially with jitter, up to six hours, for about three days', () => {
    expect(backoffMs(1, () => 0.5)).toBe(FIRST_BACKOFF_MS);
    expect(backoffMs(2, () => 0.5)).toBe(2 * FIRST_BACKOFF_MS);
    expect(backoffMs(1, () => 0)).toBe(0.8 * FIRST_BACKOFF_MS);
    expect(backoffMs(1, () => 1)).toBe(1.2 * FIRST_BACKOFF_MS);
    expect(backoffMs(30, () => 0.5)).toBe(6 * 3600_000);
    let total = 0;
    for (let n = 1; n < MAX_ATTEMPTS; n++) total += backoffMs(n, () => 0);
    expect(total).toBeGreaterThan(86400_000);
  });
});

describe('webhooks', () => {
  it('answers the secret once, stores it sealed, and delivers a signed event with a stable id', async () => {
    await setup();
    const created = await create({ url: receiver.url, events: ['version.*', 'rollout.paused'], description: 'release pipeline' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const hook = created.body.data;
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(hook).toMatchObject({ url: receiver.url, events: ['version.*', 'rollout.paused'], organization: null, status: 'active' });
    const got = await ctx.request('GET', `/v3_5/admin/webhooks/${hook.id}`, { token: admin });
    expect(got.body.data.secret).toBeUndefined();
    const stored = JSON.stringify(await ctx.database.db.selectFrom('webhooks').selectAll().execute());
    expect(stored).not.toContain(hook.secret.slice(6));
    expect(JSON.stringify(await ctx.database.db.selectFrom('auditLog').selectAll().execute())).not.toContain(hook.secret.slice(6));

    const put = await ctx.request('PUT', '/v3_5/admin/versions/3.9.0', { token: admin, body: { recommended: true } });
    expect(put.status).toBe(201);
    await ctx.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} }); // not an event webhooks carry
    expect(await worker().tick()).toBe(1);
    expect(receiver.received).toHaveLength(1);
    const [r] = receiver.received;
    expect(verifySignature(hook.secret, r!)).toBe(true);
    expect(r!.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(Number(r!.headers['webhook-timestamp'])).toBe(Math.floor(ctx.clock.now().getTime() / 1000));
    expect(r!.headers['content-type']).toBe('application/json');
    const body = JSON.parse(r!.body);
    expect(body).toMatchObject({ type: 'version.created', timestamp: expect.any(String), data: { resource: { type: 'version', id: '3.9.0' }, actor: { name: 'admin' }, before: null } });
    expect(body.data.after.recommended).toBe(true);
    expect(body.data.after.installationApiKey).toBeUndefined();
    // A signature over another body does not verify.
    expect(verifySignature(hook.secret, { ...r!, body: r!.body.replace('3.9.0', '3.9.1') })).toBe(false);

    const [delivery] = await deliveries(hook.id);
    expect(delivery).toMatchObject({ id: r!.headers['webhook-id'], status: 'delivered', attempts: 1, lastStatusCode: 204, eventType: 'version.created' });
    expect(delivery.attemptLog).toEqual([expect.objectContaining({ attempt: 1, statusCode: 204, ok: true, error: null })]);
    expect(await ctx.app.services.metrics.text()).toMatch(/ds_webhook_deliveries_total\{outcome="delivered"\} 1/);
  });

  it('retries with backoff under the same id, each attempt visible, and redelivers on request', async () => {
    await setup();
    const hook = (await create({ url: receiver.url, events: ['keys.rotated'] })).body.data;
    let answers = [500, 503];
    receiver.status = () => answers.shift() ?? 200;
    await ctx.request('POST', '/v3_5/admin/keys/rotate', { token: admin, body: { use: 'sig' } });
    const w = worker();
    expect(await w.tick()).toBe(1);
    let [d] = await deliveries(hook.id);
    expect(d).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 500, lastError: 'the endpoint answered 500' });
    expect(Date.parse(d.nextAttemptAt) - ctx.clock.now().getTime()).toBe(FIRST_BACKOFF_MS);
    expect(await w.tick()).toBe(0); // not due yet
    ctx.clock.advance(FIRST_BACKOFF_MS);
    expect(await w.tick()).toBe(1);
    ctx.clock.advance(2 * FIRST_BACKOFF_MS);
    expect(await w.tick()).toBe(1);
    [d] = await deliveries(hook.id);
    expect(d).toMatchObject({ status: 'delivered', attempts: 3, lastStatusCode: 200, nextAttemptAt: null });
    expect(d.attemptLog.map((a: any) => a.statusCode)).toEqual([500, 503, 200]);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([d.id]));
    expect(receiver.received.every((r) => verifySignature(hook.secret, r))).toBe(true);
    expect((await ctx.request('GET', `/v3_5/admin/webhooks/${hook.id}`, { token: admin })).body.data).toMatchObject({ failingSince: null, lastSuccessAt: expect.any(String) });

    const again = await ctx.request('POST', `/v3_5/admin/webhooks/${hook.id}/deliveries/${d.id}/redeliver`, { token: admin, body: {} });
    expect(again.body.data).toMatchObject({ id: d.id, status: 'pending' });
    expect(await w.tick()).toBe(1);
    expect(receiver.received.at(-1)!.headers['webhook-id']).toBe(d.id);
    expect((await deliveries(hook.id))[0]).toMatchObject({ status: 'delivered', attempts: 4 });
    const unknown = await ctx.request('POST', `/v3_5/admin/webhooks/${hook.id}/deliveries/msg_nope/redeliver`, { token: admin, body: {} });
    expect(unknown.status).toBe(404);
  });

  it('a connection refused or a redirect is a failed attempt with its error', async () => {
    await setup();
    receiver.status = () => 302;
    const hook = (await create({ url: receiver.url, events: ['keys.rotated'] })).body.data;
    const closed = await startReceiver();
    await closeServer(closed.server);
    const gone = (await create({ url: closed.url, events: ['keys.rotated'] })).body.data;
    await ctx.request('POST', '/v3_5/admin/keys/rotate', { token: admin, body: { use: 'enc' } });
    expect(await worker().tick()).toBe(2);
    expect((await deliveries(hook.id))[0]).toMatchObject({ status: 'pending', lastStatusCode: 302, lastError: 'the endpoint answered 302' });
    const [refused] = await deliveries(gone.id);
    expect(refused).toMatchObject({ status: 'pending', lastStatusCode: null });
    expect(refused.lastError).toContain('ECONNREFUSED');
  });

  it('disables an endpoint that failed for days, says so, and sends again once enabled', async () => {
    await setup();
    receiver.status = () => 500;
    const hook = (await create({ url: receiver.url, events: ['keys.rotated'] })).body.data;
    await ctx.request('POST', '/v3_5/admin/keys/rotate', { token: admin, body: { use: 'sig' } });
    const w = worker();
    const start = ctx.clock.now().getTime();
    while (ctx.clock.now().getTime() - start <= DISABLE_AFTER_MS) {
      await w.tick();
      ctx.clock.advance(6 * 3600_000);
    }
    await w.tick();
    admin = await ctx.login(); // days went by: the session of before has expired
    const listed = (await ctx.request('GET', '/v3_5/admin/webhooks', { token: admin })).body.data;
    expect(listed[0]).toMatchObject({ id: hook.id, status: 'disabled', disabledReason: expect.stringContaining('the endpoint answered 500') });
    const attempts = receiver.received.length;
    expect(attempts).toBeGreaterThan(5);
    ctx.clock.advance(86400_000);
    expect(await w.tick()).toBe(0);
    expect(receiver.received).toHaveLength(attempts);
    admin = await ctx.login();
    const [audit] = (await ctx.request('GET', '/v3_5/admin/audit?action=webhook.disabled', { token: admin })).body.data;
    expect(audit).toMatchObject({ actor: { type: 'system' }, resource: { id: hook.id } });

    receiver.status = () => 200;
    const enabled = await ctx.request('POST', `/v3_5/admin/webhooks/${hook.id}/enable`, { token: admin, body: {} });
    expect(enabled.body.data).toMatchObject({ status: 'active', disabledAt: null });
    expect(await w.tick()).toBe(1);
    expect((await deliveries(hook.id))[0]).toMatchObject({ status: 'delivered' });
  });

  it('gives a delivery up after its last attempt', async () => {
    await setup();
    receiver.status = () => 500;
    const hook = (await create({ url: receiver.url, events: ['keys.rotated'] })).body.data;
    await ctx.request('POST', '/v3_5/admin/keys/rotate', { token: admin, body: { use: 'sig' } });
    // Keep the endpoint from being disabled first: a success of another delivery resets its failure streak.
    await ctx.database.db.updateTable('webhookDeliveries').set({ attempts: MAX_ATTEMPTS - 1 }).execute();
    expect(await worker().tick()).toBe(1);
    expect((await deliveries(hook.id))[0]).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, nextAttemptAt: null });
    expect(await ctx.app.services.metrics.text()).toMatch(/ds_webhook_deliveries_total\{outcome="abandoned"\} 1/);
  });
});

describe('the secret at rest', () => {
  it('moves to a new master key with ds keys rekey and still signs the same', async () => {
    await setup();
    const hook = (await create({ url: receiver.url, events: ['*'] })).body.data;
    const next = MasterKey.fromText(Buffer.alloc(32, 9).toString('base64'), 'a new master key');
    await rekeyDsKeys(ctx.database.db, TEST_MASTER_KEY, next);
    const row = await ctx.database.db.selectFrom('webhooks').selectAll().executeTakeFirstOrThrow();
    expect(row.masterKeyId).toBe(next.id);
    const keys = await DsKeyStore.load(ctx.database.db, ctx.clock, next);
    expect(`whsec_${keys.openSecret(secretName(hook.id), row.secretEncrypted).toString('base64')}`).toBe(hook.secret);
    // Bound to its row: the sealed secret of one webhook does not open as another's.
    expect(() => keys.openSecret(secretName('another'), row.secretEncrypted)).toThrow();
    // The rekey is a security event of the audit log.
    const [rekeyed] = (await ctx.request('GET', '/v3_5/admin/audit?action=keys.master_rekeyed', { token: admin })).body.data;
    expect(rekeyed).toMatchObject({ actor: { type: 'system', name: 'ds keys rekey' }, after: { masterKeyId: next.id, webhookSecrets: 1 } });
  });
});

describe('rotating the secret', () => {
  it('signs with the old secret too during the grace period, then with the new one only', async () => {
    await setup();
    const hook = (await create({ url: receiver.url, events: ['keys.rotated'] })).body.data;
    const rotated = await ctx.request('POST', `/v3_5/admin/webhooks/${hook.id}/rotate-secret`, { token: admin, body: { graceSeconds: 3600 } });
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const fresh = rotated.body.data.secret as string;
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(hook.secret);
    expect((await ctx.request('GET', `/v3_5/admin/webhooks/${hook.id}`, { token: admin })).body.data.secret).toBeUndefined();

    await ctx.request('POST', '/v3_5/admin/keys/rotate', { token: admin, body: { use: 'sig' } });
    await worker().tick();
    const during = receiver.received.at(-1)!;
    expect(during.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verifySignature(fresh, during)).toBe(true);
    expect(verifySignature(hook.secret, during)).toBe(true);

    ctx.clock.advance(3600_000);
    admin = await ctx.login();
    await ctx.request('POST', '/v3_5/admin/keys/rotate', { token: admin, body: { use: 'sig' } });
    await worker().tick();
    const after = receiver.received.at(-1)!;
    expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(verifySignature(fresh, after)).toBe(true);
    expect(verifySignature(hook.secret, after)).toBe(false);

    // Without grace, a leaked secret stops signing at once.
    const now = (await ctx.request('POST', `/v3_5/admin/webhooks/${hook.id}/rotate-secret`, { token: admin, body: { graceSeconds: 0 } })).body.data.secret;
    await ctx.request('POST', '/v3_5/admin/keys/rotate', { token: admin, body: { use: 'sig' } });
    await worker().tick();
    const last = receiver.received.at(-1)!;
    expect(verifySignature(now, last)).toBe(true);
    expect(verifySignature(fresh, last)).toBe(false);
    const [entry] = (await ctx.request('GET', '/v3_5/admin/audit?action=webhook.secret_rotated', { token: admin })).body.data;
    expect(entry).toMatchObject({ resource: { id: hook.id }, after: { previousSecretValidUntil: null } });
    expect(JSON.stringify(await ctx.database.db.selectFrom('auditLog').selectAll().execute())).not.toContain(now.slice(6));
  });
});

describe('exactly one node sends a delivery', () => {
  it('two workers ticking together send each delivery once', async () => {
    await setup();
    const hook = (await create({ url: receiver.url, events: ['version.*'] })).body.data;
    for (let i = 0; i < 12; i++) await ctx.request('PUT', `/v3_5/admin/versions/3.${i}.0`, { token: admin, body: {} });
    const a = new WebhookWorker(ctx.app.services);
    const b = new WebhookWorker({ ...ctx.app.services, instanceId: 'other-node' });
    const [sentA, sentB] = await Promise.all([a.tick(), b.tick()]);
    expect(sentA + sentB).toBe(12);
    const ids = receiver.received.map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(12);
    expect(ids).toHaveLength(12);
    expect((await deliveries(hook.id)).every((d) => d.status === 'delivered')).toBe(true);
  });

  it('a delivery claimed by a node that died is sent by another once the lease ends', async () => {
    await setup();
    const hook = (await create({ url: receiver.url, events: ['version.*'] })).body.data;
    await ctx.request('PUT', '/v3_5/admin/versions/3.9.0', { token: admin, body: {} });
    // The dead node's claim, as its UPDATE left it.
    await ctx.database.db.updateTable('webhookDeliveries').set({ leaseHolder: 'dead-node', leaseUntil: new Date(ctx.clock.now().getTime() + LEASE_MS).toISOString() }).execute();
    const w = worker();
    expect(await w.tick()).toBe(0);
    ctx.clock.advance(LEASE_MS - 1000);
    expect(await w.tick()).toBe(0);
    ctx.clock.advance(1000);
    expect(await w.tick()).toBe(1);
    expect(receiver.received).toHaveLength(1);
    expect((await deliveries(hook.id))[0]).toMatchObject({ status: 'delivered', attempts: 1 });
  });
});

describe('organizations', () => {
  it('an organization’s webhook gets only its events; a DS-wide one every event', async () => {
    await setup({ DS_DEVICE_DAILY_TRANSACTION_LIMIT: '5' });
    const { installationKey } = await seed(ctx, admin);
    await ctx.request('PUT', '/v3_5/admin/organizations/globex', { token: admin, body: {} });
    await ctx.request('PUT', '/v3_5/admin/labels/globex-web', { token: admin, body: { organization: 'globex' } });
    const everything = (await create({ url: `${receiver.url}/all`, events: ['*'] })).body.data;
    const acme = (await create({ url: `${receiver.url}/acme`, events: ['*'], organization: 'acme' })).body.data;
    const globex = (await create({ url: `${receiver.url}/globex`, events: ['*'], organization: 'globex' })).body.data;

    await ctx.request('PUT', '/v3_5/admin/versions/3.9.0', { token: admin, body: {} });
    const device = await registeredDevice(ctx, installationKey);
    device.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 9 });
    const synced = await device.sync();
    expect(synced.rejected?.[0]?.code).toBe('DAILY_LIMIT');
    // A second refusal the same day is not a second event.
    device.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 9 });
    await device.sync();
    await worker().tick();

    const types = async (id: string) => (await deliveries(id)).map((d) => d.eventType).sort();
    expect(await types(everything.id)).toEqual(['device.rejected', 'version.created']);
    expect(await types(acme.id)).toEqual(['device.rejected']);
    expect(await types(globex.id)).toEqual([]);
    const [toAcme] = await deliveries(acme.id);
    const received = receiver.received.find((r) => r.headers['webhook-id'] === toAcme.id)!;
    expect(JSON.parse(received.body).data).toMatchObject({ resource: { type: 'device', id: device.deviceId }, organization: 'acme', after: { reason: 'DAILY_LIMIT', limit: 5 } });
    // Each endpoint's deliveries are signed with its own secret.
    expect(verifySignature(acme.secret, received)).toBe(true);
    expect(verifySignature(everything.secret, received)).toBe(false);
  });

  it('a user limited to an organization manages only its webhooks', async () => {
    await setup();
    for (const org of ['acme', 'globex']) await ctx.request('PUT', `/v3_5/admin/organizations/${org}`, { token: admin, body: {} });
    const acmeAdmin = await ctx.userToken('acme-admin', 'admin', 'acme');
    const theirs = (await create({ url: receiver.url, events: ['*'], organization: 'globex' })).body.data;
    const wide = (await create({ url: receiver.url, events: ['*'] })).body.data;

    // DS_ALLOW_PRIVATE_ORIGINS is on here, but it is not the organization's to use: DS would call,
    // and report back on, whatever internal address the organization names.
    for (const url of [receiver.url, receiver.url.replace('http:', 'https:'), 'https://localhost/ds', 'https://169.254.169.254/latest/meta-data/']) {
      const internal = await create({ url, events: ['device.rejected'], organization: 'acme' }, acmeAdmin);
      expect(internal.status, url).toBe(400);
      expect(internal.body.description, url).toContain('for users who see all of DS');
    }
    const mine = await create({ url: 'https://93.184.215.14/ds', events: ['device.rejected'], organization: 'acme' }, acmeAdmin);
    expect(mine.status, JSON.stringify(mine.body)).toBe(201);
    const everyEvent = await create({ url: receiver.url, events: ['*'] }, acmeAdmin);
    expect(everyEvent.status).toBe(403);
    expect(everyEvent.body.description).toContain('acme');
    expect((await create({ url: receiver.url, events: ['*'], organization: 'globex' }, acmeAdmin)).status).toBe(403);

    const listed = (await ctx.request('GET', '/v3_5/admin/webhooks', { token: acmeAdmin })).body.data;
    expect(listed.map((w: any) => w.id)).toEqual([mine.body.data.id]);
    for (const other of [theirs.id, wide.id, 'no-such-webhook']) {
      expect((await ctx.request('GET', `/v3_5/admin/webhooks/${other}`, { token: acmeAdmin })).status).toBe(403);
      expect((await ctx.request('DELETE', `/v3_5/admin/webhooks/${other}`, { token: acmeAdmin })).status).toBe(403);
      expect((await ctx.request('GET', `/v3_5/admin/webhooks/${other}/deliveries`, { token: acmeAdmin })).status).toBe(403);
      expect((await ctx.request('POST', `/v3_5/admin/webhooks/${other}/enable`, { token: acmeAdmin, body: {} })).status).toBe(403);
    }
    expect(await ctx.database.db.selectFrom('webhooks').select('id').execute()).toHaveLength(3);
    const deleted = await ctx.request('DELETE', `/v3_5/admin/webhooks/${mine.body.data.id}`, { token: acmeAdmin });
    expect(deleted.status).toBe(200);
    // Viewers neither read nor write webhooks.
    const viewer = await ctx.userToken('viewer', 'viewer');
    expect((await ctx.request('GET', '/v3_5/admin/webhooks', { token: viewer })).status).toBe(403);
  });
});

describe('what a webhook may be', () => {
  it('refuses unknown events and bad URLs, naming them', async () => {
    await setup();
    const typo = await create({ url: receiver.url, events: ['versoin.created'] });
    expect(typo.status).toBe(400);
    expect(typo.body.description).toContain('versoin.created names no event');
    expect((await create({ url: receiver.url, events: [] })).body.description).toContain('at least one event');
    expect((await create({ url: 'ftp://hooks.example.com/', events: ['*'] })).status).toBe(400);
    const withPassword = await create({ url: 'https://user:pw@hooks.example.com/', events: ['*'] });
    expect(withPassword.body.description).toContain('password');
  });

  it('delivers to a private address only for a webhook made by a user who sees all of DS', async () => {
    await setup();
    const hook = (await create({ url: receiver.url, events: ['version.*'] })).body.data;
    expect((await ctx.database.db.selectFrom('webhooks').select('allowPrivate').where('id', '=', hook.id).executeTakeFirstOrThrow()).allowPrivate).toBe(1);
    // A webhook without that right (an organization's, made to a public name that now resolves to
    // this host, say): the address is checked again at delivery, against the webhook's own right.
    await ctx.database.db.updateTable('webhooks').set({ allowPrivate: 0 }).where('id', '=', hook.id).execute();
    expect((await ctx.request('PUT', '/v3_5/admin/versions/3.9.0', { token: admin, body: { recommended: true } })).status).toBe(201);
    expect(await worker().tick()).toBe(1);
    expect(receiver.received).toEqual([]);
    const [delivery] = await deliveries(hook.id);
    expect(delivery.status).toBe('pending');
    expect(delivery.lastError).toMatch(/loopback/);
  });

  it('keeps to the origin rules of installers: no private address unless allowed', async () => {
    ctx = await createTestContext();
    admin = await ctx.login();
    receiver = await startReceiver();
    const loopback = await create({ url: receiver.url.replace('http:', 'https:'), events: ['*'] });
    expect(loopback.status).toBe(400);
    expect(loopback.body.description).toMatch(/url: .*loopback/);
    const http = await create({ url: 'http://hooks.example.com/ds', events: ['*'] });
    expect(http.status).toBe(400);
    expect(http.body.description).toContain('must be https');
    expect(await ctx.database.db.selectFrom('webhooks').select('id').execute()).toEqual([]);
  });
});
