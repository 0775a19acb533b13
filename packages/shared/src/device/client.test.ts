import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { DS_MESSAGE_ISSUER, type SyncResponse } from '../schemas/device.js';
import { DeviceCallError, DeviceClient, exchangeInstallationKey, installationTokenVersion, type SyncOutcome } from './client.js';
import { sealMessage } from './message.js';

// The device client against a scripted DS (no server): what it makes of DS's answers, and when
// its sync loop stops.

const BASE = 'https://ds.example.test';
const DEVICE_ID = '6f1c0a52-8d3e-4b7a-9c55-0e2f4a1b9d10';
const clock = { now: () => new Date('2026-03-15T10:00:00Z') };

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const refusal = (status: number, code: string, description: string) => json(status, { success: false, code, description, requestId: 'req-1' });

/** An answer DS gives a sync: `ok` (a sealed SyncResponse), or a plain HTTP answer. */
type SyncAnswer = 'ok' | Response;

/**
 * A DS that registers any device and answers its syncs from a script (`ok` once the script is
 * used up). Sealing an answer needs the device's key: set `device` after creating the client.
 */
async function fakeDs(script: SyncAnswer[] = []) {
  const sign = await generateKeyPair('ES256');
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
    token: await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setSubject('3.8.1').sign(sign.privateKey),
    fetch: (async (input: string | URL | Request) => {
      const path = new URL(String(input)).pathname.replace(/^\/v3_5/, '');
      if (path === '/tokens/installation') return json(200, { success: true, data: ds.token });
      if (path === '/devices') return json(201, { success: true, data: { id: DEVICE_ID, jwks, syncIntervalSeconds: 60, syncFailureLimit: 3 } });
      if (path !== `/devices/${DEVICE_ID}/sync`) return refusal(404, 'ROUTE_NOT_FOUND', path);
      ds.syncs++;
      const answer = script.shift() ?? 'ok';
      if (answer !== 'ok') return answer;
      const response: SyncResponse = {
        digests: { contextConfig: 'digest', sslKeystoreConfig: null },
        syncIntervalSeconds: 60,
        syncFailureLimit: 3,
        accepted: { transactions: 0 },
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

async function registered(script: SyncAnswer[], options: { onStop?: (reason: string) => void; setTimer?: (fn: () => void, ms: number) => unknown } = {}) {
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
