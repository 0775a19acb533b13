import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { DS_MESSAGE_ISSUER, SYNC_LIMITS, type SyncResponse } from '../schemas/device.js';
import { DeviceCallError, DeviceClient, exchangeInstallationKey, installationTokenVersion, isRateLimited, type DeviceClientOptions, type RejectedTransaction, type SyncOutcome } from './client.js';
import { sealMessage } from './message.js';

// The device client against a scripted DS (no server): what it makes of DS's answers, and when
// its sync loop stops.

const BASE = 'https://ds.example.test';
const DEVICE_ID = '6f1c0a52-8d3e-4b7a-9c55-0e2f4a1b9d10';
const clock = { now: () => new Date('2026-03-15T10:00:00Z') };

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const refusal = (status: number, code: string, description: string) => json(status, { success: false, code, description, requestId: 'req-1' });

/** An answer DS gives a sync: `ok` (a sealed SyncResponse), a sealed SyncResponse with these fields, or a plain HTTP answer. */
type SyncAnswer = 'ok' | Response | Partial<SyncResponse>;

/**
 * A DS that registers any device and answers its syncs from a script (`ok` once the script is
 * used up). Sealing an answer needs the device's key: set `device` after creating the client.
 */
async function fakeDs(script: SyncAnswer[] = [], registrationScript: Response[] = []) {
  const sign = await generateKeyPair('ES256', { extractable: true });
  const enc = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
  const jwks = {
    keys: [
      { ...(await exportJWK(sign.publicKey)), kid: 'sig-1', use: 'sig', alg: 'ES256' },
      { ...(await exportJWK(enc.publicKey)), kid: 'enc-1', use: 'enc', alg: 'ECDH-ES+A256KW' },
    ],
  };
  const ds = {
    device: undefined as DeviceClient | undefined,
    syncs: 0,
    registrations: 0,
    token: await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setSubject('3.8.1').sign(sign.privateKey),
    fetch: (async (input: string | URL | Request) => {
      const path = new URL(String(input)).pathname.replace(/^\/v3_5/, '');
      if (path === '/tokens/installation') return json(200, { success: true, data: ds.token });
      if (path === '/devices') {
        ds.registrations++;
        const refused = registrationScript.shift();
        if (refused) return refused;
        return json(201, { success: true, data: { id: DEVICE_ID, jwks, syncIntervalSeconds: 60, syncFailureLimit: 3 } });
      }
      if (path !== `/devices/${DEVICE_ID}/sync`) return refusal(404, 'ROUTE_NOT_FOUND', path);
      ds.syncs++;
      const answer = script.shift() ?? 'ok';
      if (answer instanceof Response) return answer;
      const response: SyncResponse = {
        digests: { contextConfig: 'digest', sslKeystoreConfig: null },
        syncIntervalSeconds: 60,
        syncFailureLimit: 3,
        accepted: { transactions: 0 },
        ...(answer === 'ok' ? {} : answer),
      };
      const sealed = await sealMessage(response, {
        issuer: DS_MESSAGE_ISSUER,
        signingKey: sign.privateKey,
        signingAlg: 'ES256',
        signingKid: 'sig-1',
        encryptionKey: (await importJWK(ds.device!.snapshot().publicJwk, 'ECDH-ES+A256KW')) as CryptoKey,
        encryptionAlg: 'ECDH-ES+A256KW',
        now: Math.floor(clock.now().getTime() / 1000),
        jti: crypto.randomUUID(),
      });
      return new Response(sealed, { status: 200, headers: { 'content-type': 'application/jose' } });
    }) as typeof fetch,
  };
  return ds;
}

async function registered(script: SyncAnswer[], options: Partial<DeviceClientOptions> = {}) {
  const ds = await fakeDs(script);
  const client = await DeviceClient.create({
    baseUrl: BASE,
    installationKey: 'ds_ins_test',
    version: '3.8.1',
    os: { name: 'Linux', version: '6.8', architecture: 'x86_64' },
    clock,
    fetch: ds.fetch,
    ...options,
  });
  ds.device = client;
  await client.register();
  return { ds, client };
}

const down = () => refusal(503, 'DATABASE_UNAVAILABLE', 'down');

describe('DeviceClient.syncOnce', () => {
  it('answers DS’s response and keeps running', async () => {
    const { client } = await registered([]);
    const outcome = await client.syncOnce();
    expect(outcome).toMatchObject({ ok: true, stopped: false, response: { accepted: { transactions: 0 } } });
    expect(client.failures).toBe(0);
  });

  it('stops after syncFailureLimit failures in a row (a success starts the count again), says why once, and then sends nothing', async () => {
    const stops: string[] = [];
    const { ds, client } = await registered([down(), down(), 'ok', down(), down(), down()], { onStop: (reason) => stops.push(reason) });
    const outcomes: SyncOutcome[] = [];
    for (let i = 0; i < 6; i++) outcomes.push(await client.syncOnce());
    expect(outcomes.map((o) => [o.ok, o.stopped])).toEqual([
      [false, false],
      [false, false],
      [true, false],
      [false, false],
      [false, false],
      [false, true],
    ]);
    const reason = '3 syncs failed in a row (limit 3): DATABASE_UNAVAILABLE: down';
    expect(outcomes[5]).toMatchObject({ ok: false, stopped: true, reason });
    expect(outcomes.slice(0, 5).every((o) => !('reason' in o))).toBe(true);
    expect(stops).toEqual([reason]);
    expect(client.isStopped).toBe(true);
    await expect(client.syncOnce()).rejects.toThrow('the device client has stopped');
    expect(ds.syncs).toBe(6);
  });

  it('stops at once when DS no longer knows the device', async () => {
    const { client } = await registered([refusal(404, 'UNKNOWN_DEVICE', 'No such device; register again')]);
    const outcome = await client.syncOnce();
    expect(outcome).toMatchObject({ ok: false, stopped: true, reason: 'DS no longer knows this device; it must register again' });
    expect(outcome.ok || outcome.error).toMatchObject({ name: 'DeviceCallError', status: 404, code: 'UNKNOWN_DEVICE' });
  });

  it('reads every kind of failed answer as a DeviceCallError', async () => {
    const { client } = await registered([
      refusal(503, 'DATABASE_UNAVAILABLE', 'down'),
      json(500, { success: false, code: 'NOT_A_DS_CODE', description: 'odd' }),
      new Response('<html>Bad gateway</html>', { status: 502 }),
    ]);
    const errors = [];
    for (let i = 0; i < 3; i++) {
      const outcome = await client.syncOnce();
      errors.push(outcome.ok ? null : outcome.error);
    }
    expect(errors.map((e) => [e instanceof DeviceCallError, (e as DeviceCallError).status, (e as DeviceCallError).message])).toEqual([
      [true, 503, 'DATABASE_UNAVAILABLE: down'],
      [true, 500, 'BAD_RESPONSE: odd'],
      [true, 502, 'BAD_RESPONSE: DS answered HTTP 502'],
    ]);
  });

  it('reads an answer cut off by a DS node that died as NETWORK_ERROR, keeps the batch pending and sends it with the next sync', async () => {
    // The status line and headers arrived; the body stream then failed, as when the node is killed.
    const cutOff = new Response(new ReadableStream({ start: (controller) => controller.error(new TypeError('terminated', { cause: new Error('other side closed') })) }), {
      status: 200,
      headers: { 'content-type': 'application/jose' },
    });
    const { ds, client } = await registered([cutOff]);
    client.recordTransaction({ label: 'acme-web', module: 'sign', useCase: 'pdf', count: 2 });
    const first = await client.syncOnce();
    expect(first.ok || first.error).toMatchObject({ name: 'DeviceCallError', status: 0, code: 'NETWORK_ERROR', message: 'NETWORK_ERROR: the connection to DS at https://ds.example.test closed before its answer was read: other side closed' });
    // The batch stays pending under its jti, and the next sync sends it again.
    const pending = client.snapshot().pending;
    expect(pending?.transactions).toHaveLength(1);
    const second = await client.syncOnce();
    expect(second.ok).toBe(true);
    expect(ds.syncs).toBe(2);
    expect(client.snapshot().pending).toBeNull();
  });
});

describe('DeviceClient.tick', () => {
  it('is syncOnce with the next sync scheduled: null on a failure, nothing scheduled once stopped', async () => {
    const timers: number[] = [];
    const { client } = await registered([down(), down(), down()], { setTimer: (_fn, ms) => timers.push(ms) });
    expect(await client.tick()).toBeNull();
    expect(timers).toEqual([60_000]);
    await client.tick();
    await client.tick();
    expect(client.isStopped).toBe(true);
    expect(timers).toEqual([60_000, 60_000]);
    expect(await client.tick()).toBeNull();
  });
});

/** A clock tests move. */
const movingClock = (start = '2026-03-15T10:00:00Z') => {
  let now = Date.parse(start);
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
};
const tooMany = (retryAfter: string) =>
  new Response(JSON.stringify({ success: false, code: 'RATE_LIMITED', description: 'too many', requestId: 'req-1' }), {
    status: 429,
    headers: { 'content-type': 'application/json', 'retry-after': retryAfter },
  });

describe('DeviceClient and 429 Retry-After', () => {
  it('sends nothing before Retry-After has passed, does not count the 429 as a failed sync, and schedules the next sync after it', async () => {
    const clock = movingClock();
    const timers: number[] = [];
    const { ds, client } = await registered([tooMany('120')], { clock, setTimer: (_fn, ms) => timers.push(ms) });
    client.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 2 });
    expect(await client.tick()).toBeNull();
    expect(ds.syncs).toBe(1);
    expect(client.failures).toBe(0);
    expect(client.isStopped).toBe(false);
    expect(client.retryDelayMs).toBe(120_000);
    // The sync interval is 60 s; the next sync waits the 120 s DS asked for.
    expect(timers).toEqual([120_000]);
    clock.advance(119_000);
    const early = await client.syncOnce();
    expect(early.ok).toBe(false);
    expect(!early.ok && isRateLimited(early.error)).toBe(true);
    expect(!early.ok && (early.error as DeviceCallError).retryAfterSeconds).toBe(1);
    expect(ds.syncs).toBe(1);
    expect(client.failures).toBe(0);
    clock.advance(1000);
    expect((await client.syncOnce()).ok).toBe(true);
    expect(ds.syncs).toBe(2);
    // The batch sent before the 429 is the one acknowledged now, under its jti.
    expect(client.snapshot().pending).toBeNull();
  });

  it('many 429s in a row never stop the device', async () => {
    const clock = movingClock();
    const { client } = await registered([tooMany('5'), tooMany('5'), tooMany('5'), tooMany('5')], { clock });
    for (let i = 0; i < 4; i++) {
      expect((await client.syncOnce()).ok).toBe(false);
      clock.advance(5000);
    }
    expect(client.isStopped).toBe(false);
    expect((await client.syncOnce()).ok).toBe(true);
  });

  it('reads Retry-After as an HTTP date too, and waits 60 s when DS names no delay', async () => {
    const clock = movingClock();
    const { client } = await registered([tooMany(new Date(clock.now().getTime() + 30_000).toUTCString()), tooMany('soon')], { clock });
    await client.syncOnce();
    expect(client.retryDelayMs).toBe(30_000);
    clock.advance(30_000);
    await client.syncOnce();
    expect(client.retryDelayMs).toBe(60_000);
  });

  it('honours a 429 to a registration: no registration is sent before Retry-After', async () => {
    const clock = movingClock();
    const ds = await fakeDs([], [tooMany('600')]);
    const client = await DeviceClient.create({ baseUrl: BASE, installationKey: 'ds_ins_test', version: '3.8.1', os: { name: 'Linux', version: '6.8', architecture: 'x86_64' }, clock, fetch: ds.fetch });
    await expect(client.register()).rejects.toMatchObject({ status: 429, code: 'RATE_LIMITED', retryAfterSeconds: 600 });
    clock.advance(300_000);
    await expect(client.register()).rejects.toMatchObject({ status: 429, code: 'RATE_LIMITED', retryAfterSeconds: 300 });
    expect(ds.registrations).toBe(1);
    clock.advance(300_000);
    expect(await client.register()).toBe(DEVICE_ID);
    expect(ds.registrations).toBe(2);
  });
});

describe('DeviceClient and refused entries', () => {
  it('drops the entries DS refused with the batch, passes them to onRejected, and never sends them again', async () => {
    const rejected: RejectedTransaction[] = [];
    const { client } = await registered([{ accepted: { transactions: 1 }, rejected: [{ index: 1, code: 'DATE_TOO_OLD' }] }], { onRejected: (list) => rejected.push(...list) });
    client.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 2 });
    client.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 3, date: new Date('2025-01-10T00:00:00Z') });
    const sent = client.snapshot();
    expect(Object.keys(sent.counters)).toHaveLength(2);
    const outcome = await client.syncOnce();
    expect(outcome.ok && outcome.response.rejected).toEqual([{ index: 1, code: 'DATE_TOO_OLD' }]);
    expect(rejected).toEqual([{ code: 'DATE_TOO_OLD', transaction: { label: 'acme-web', module: 'beid', useCase: 'sign', counter: 3, txDate: '2025-01-10' } }]);
    expect(client.snapshot().pending).toBeNull();
    expect(client.snapshot().counters).toEqual({});
    // A code this client does not know (a newer DS) is read the same way.
    const next = await registered([{ accepted: { transactions: 0 }, rejected: [{ index: 0, code: 'SOMETHING_NEW' }] }]);
    next.client.recordTransaction({ label: 'l', module: 'm', useCase: 'u' });
    expect((await next.client.syncOnce()).ok).toBe(true);
  });

  it('refuses to record what no sync could carry, and sends a count above the per-entry limit over several syncs', async () => {
    const { client } = await registered([]);
    expect(() => client.recordTransaction({ label: 'x'.repeat(129), module: 'm', useCase: 'u' })).toThrow(RangeError);
    expect(() => client.recordTransaction({ label: 'l', module: '', useCase: 'u' })).toThrow(RangeError);
    expect(() => client.recordTransaction({ label: 'l', module: 'm', useCase: 'u', count: -1 })).toThrow(RangeError);
    expect(() => client.recordTransaction({ label: 'l', module: 'm', useCase: 'u', count: 1.5 })).toThrow(RangeError);
    client.recordTransaction({ label: 'l', module: 'm', useCase: 'u', count: SYNC_LIMITS.counter + 5 });
    await client.sync();
    expect(Object.values(client.snapshot().counters)).toEqual([5]);
    await client.sync();
    expect(client.snapshot().counters).toEqual({});
  });
});

describe('exchangeInstallationKey', () => {
  const exchange = (fetch: typeof globalThis.fetch) => exchangeInstallationKey({ baseUrl: `${BASE}/`, installationKey: 'ds_ins_test', fetch });

  it('answers the registration token DS gives for the key, sent in the apikey header', async () => {
    let apikey: string | null = null;
    const token = await exchange((async (input: string | URL | Request, init?: RequestInit) => {
      expect(String(input)).toBe(`${BASE}/v3_5/tokens/installation`);
      apikey = new Headers(init?.headers).get('apikey');
      return json(200, { success: true, data: 'a.b.c' });
    }) as typeof fetch);
    expect(token).toBe('a.b.c');
    expect(apikey).toBe('ds_ins_test');
  });

  it.each([
    { name: 'a refused key', answer: () => refusal(401, 'INVALID_API_KEY', 'The API key is wrong'), status: 401, message: 'INVALID_API_KEY: The API key is wrong' },
    { name: 'a success without a token', answer: () => json(200, { success: true, data: null }), status: 200, message: 'BAD_RESPONSE: DS answered HTTP 200' },
    { name: 'a body that is not JSON', answer: () => new Response('Service Unavailable', { status: 503 }), status: 503, message: 'BAD_RESPONSE: DS answered HTTP 503' },
    {
      name: 'no answer (the cause fetch wraps is named)',
      answer: () => {
        throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:3000') });
      },
      status: 0,
      message: `NETWORK_ERROR: cannot reach DS at ${BASE}: connect ECONNREFUSED 127.0.0.1:3000`,
    },
  ])('rejects $name with a DeviceCallError', async ({ answer, status, message }) => {
    const error = await exchange((async () => answer()) as typeof fetch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceCallError);
    expect(error).toMatchObject({ status, message });
  });
});

describe('installationTokenVersion', () => {
  it('is the subject of the token', async () => {
    const ds = await fakeDs();
    expect(installationTokenVersion(ds.token)).toBe('3.8.1');
  });

  it.each([
    ['a token without a subject', `${btoa('{"alg":"none"}')}.${btoa('{"iat":1}')}.`],
    ['an empty subject', `${btoa('{"alg":"none"}')}.${btoa('{"sub":""}')}.`],
    ['not a JWT', 'not-a-jwt'],
  ])('is null for %s', (_name, token) => {
    expect(installationTokenVersion(token)).toBeNull();
  });
});
