import {
  createDeviceIdentity,
  deviceKeys,
  configDigest,
  sealMessage,
  openMessage,
  DEVICE_ALGORITHMS,
  DS_MESSAGE_ISSUER,
  type DeviceClient,
  type SyncRequest,
} from '@ds/shared';
import { SignJWT, decodeJwt, decodeProtectedHeader, importJWK, type CryptoKey, type JWK } from 'jose';
import { loadConfig } from '../config.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../app.js';
import { deviceMessageWindow } from '../lib/rate-limit.js';
import { silentLogger } from '../lib/logger.js';
import { createTestContext, type TestContext } from '../test/harness.js';
import { appFetch, device, registeredDevice, sealMessageAs, seed } from '../test/devices.js';

let ctx: TestContext;
let admin: string;
let keys: { labelKey: string; installationKey: string };

beforeEach(async () => {
  ctx = await createTestContext();
  admin = await ctx.login();
  keys = await seed(ctx, admin);
});
afterEach(async () => ctx.close());

const counters = async () =>
  ctx.database.db.selectFrom('labelDailyCounters').select(['label', 'module', 'useCase', 'day', 'counter']).orderBy('label').orderBy('module').orderBy('useCase').orderBy('day').execute();
const deviceCounters = async (id: string) =>
  ctx.database.db.selectFrom('deviceCounters').select(['label', 'module', 'useCase', 'month', 'counter']).where('deviceId', '=', id).orderBy('label').orderBy('module').orderBy('useCase').execute();

/** A sync payload DS accepts. */
const valid = (overrides: Partial<SyncRequest> = {}): SyncRequest => ({
  version: '3.8.1',
  status: 'ACTIVE',
  digests: { contextConfig: null, sslKeystoreConfig: null },
  labels: ['acme-web'],
  userAgents: [],
  transactions: [{ label: 'acme-web', module: 'beid', useCase: 'sign', counter: 1, txDate: '2026-03-15' }],
  ...overrides,
});

/** Seals `payload` as `client` would, to the current DS encryption key; `opts` bend it for the refusal cases. */
const seal = (client: DeviceClient, payload: object, opts: Parameters<typeof sealMessageAs>[3] = {}) => sealMessageAs(ctx, client, payload, opts);

describe('token exchange', () => {
  it('gives an application JWT with the claims of API.md for a label key', async () => {
    const res = await ctx.request('GET', '/v3_5/tokens/application', { headers: { apikey: keys.labelKey } });
    expect(res.status).toBe(200);
    const token = res.body.data as string;
    const header = decodeProtectedHeader(token);
    const sig = ctx.keys.current('sig');
    expect(header).toMatchObject({ alg: 'ES256', kid: sig.kid });
    const claims = decodeJwt(token);
    const iat = Math.floor(ctx.clock.now().getTime() / 1000);
    const label = await ctx.request('GET', '/v3_5/admin/labels/acme-web', { token: admin });
    expect(claims).toMatchObject({ iss: 't1cds-app', sub: 'acme-web', org: 'acme', label: label.body.data.id, iat, nbf: iat - 5, exp: iat + 1200 });
    expect(typeof claims.jti).toBe('string');
  });

  it('gives an installation JWT scoped to registration for an installation key', async () => {
    const res = await ctx.request('GET', '/v3_5/tokens/installation', { headers: { apikey: keys.installationKey } });
    expect(res.status).toBe(200);
    const claims = decodeJwt(res.body.data);
    expect(claims).toMatchObject({ sub: '3.8.1', scope: 'device:register' });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(300);
  });

  it('tells its JWTs apart by an explicit kind: a DS-signed JWT of another kind, or none, is refused', async () => {
    const sig = ctx.keys.current('sig');
    const label = (await ctx.request('GET', '/v3_5/admin/labels/acme-web', { token: admin })).body.data;
    const signed = (claims: Record<string, unknown>, subject: string) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: sig.alg, kid: sig.kid, typ: 'JWT' })
        .setIssuer(ctx.config.tokenIssuer)
        .setSubject(subject)
        .setJti(crypto.randomUUID())
        .setIssuedAt(Math.floor(ctx.clock.now().getTime() / 1000))
        .setExpirationTime(Math.floor(ctx.clock.now().getTime() / 1000) + 600)
        .sign(sig.privateKey);
    const application = decodeJwt((await ctx.request('GET', '/v3_5/tokens/application', { headers: { apikey: keys.labelKey } })).body.data);
    expect(application.kind).toBe('application');
    // The same claims without a kind (what a token made before kinds, or another DS-signed JWT, looks like).
    const noKind = await signed({ org: 'acme', label: label.id }, 'acme-web');
    const res = await ctx.request('GET', '/v3_5/versions/latest', { token: noKind });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('INVALID_TOKEN');
    // An installation-kind token with an application's claims registers nothing and reads nothing.
    const mixed = await signed({ kind: 'installation', org: 'acme', label: label.id }, 'acme-web');
    expect((await ctx.request('GET', '/v3_5/versions/latest', { token: mixed })).status).toBe(401);
    const registration = await signed({ scope: 'device:register' }, '3.8.1');
    const identity = await createDeviceIdentity('ec', { now: ctx.clock.now() });
    const body = { certificate: identity.certificatePem, version: '3.8.1', os: { name: 'Linux', version: '6', architecture: 'x64' } };
    expect((await ctx.request('POST', '/v3_5/devices', { token: registration, body })).status).toBe(401);
    expect(await ctx.database.db.selectFrom('devices').selectAll().execute()).toHaveLength(0);
  });

  it('refuses a token issuer equal to the issuer of device answers, so the two can never be confused', () => {
    expect(() => loadConfig({ DS_TOKEN_ISSUER: DS_MESSAGE_ISSUER })).toThrow(/DS_TOKEN_ISSUER: must differ from t1cds/);
  });

  it.each([
    ['no key', undefined],
    ['an unknown key', 'ds_lbl_unknownunknownunknownunknownun'],
    ['an installation key for an application token', 'INSTALLATION'],
  ])('answers 401 INVALID_API_KEY for %s', async (_c, key) => {
    const apikey = key === 'INSTALLATION' ? keys.installationKey : key;
    const res = await ctx.request('GET', '/v3_5/tokens/application', { headers: apikey ? { apikey } : {} });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('INVALID_API_KEY');
  });

  it('refuses rotated-out and revoked keys', async () => {
    await ctx.request('POST', '/v3_5/admin/labels/acme-web/rotate-key', { token: admin, body: {} });
    expect((await ctx.request('GET', '/v3_5/tokens/application', { headers: { apikey: keys.labelKey } })).status).toBe(401);
    await ctx.request('POST', '/v3_5/admin/versions/3.8.1/revoke-key', { token: admin, body: {} });
    expect((await ctx.request('GET', '/v3_5/tokens/installation', { headers: { apikey: keys.installationKey } })).status).toBe(401);
  });

  it('rate limits an address after repeated failures, with Retry-After', async () => {
    for (let i = 0; i < 20; i++) await ctx.request('GET', '/v3_5/tokens/application', { headers: { apikey: `ds_lbl_wrong${i}` } });
    const res = await ctx.request('GET', '/v3_5/tokens/application', { headers: { apikey: keys.labelKey } });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    ctx.clock.advance(5 * 60_000 + 1000);
    expect((await ctx.request('GET', '/v3_5/tokens/application', { headers: { apikey: keys.labelKey } })).status).toBe(200);
  });
});

describe('version information', () => {
  it('answers the latest allowed version by semver with DS download URLs, for an application JWT', async () => {
    await ctx.request('PUT', '/v3_5/admin/versions/3.10.0', { token: admin, body: { installers: [{ os: 'macosarm', uri: 'https://cdn.example.test/x.pkg' }] } });
    await ctx.request('PUT', '/v3_5/admin/versions/4.0.0', { token: admin, body: { allowed: false } });
    const token = (await ctx.request('GET', '/v3_5/tokens/application', { headers: { apikey: keys.labelKey } })).body.data;
    const latest = await ctx.request('GET', '/v3_5/versions/latest', { token });
    expect(latest.status).toBe(200);
    expect(latest.body.data).toMatchObject({
      id: '3.10.0',
      allowed: true,
      // Each os's latest installer: 3.10.0 has only macosarm, 3.8.1 the others.
      uris: [
        { os: 'LINUX64', uri: 'https://ds.example.test/v3_5/downloads/installers/linux64/versions/3.8.1' },
        { os: 'MACOSARM', uri: 'https://ds.example.test/v3_5/downloads/installers/macosarm/versions/3.10.0' },
        { os: 'WIN64', uri: 'https://ds.example.test/v3_5/downloads/installers/win64/versions/3.8.1' },
      ],
    });
    expect(JSON.stringify(latest.body)).not.toContain('cdn.example.test');
    const one = await ctx.request('GET', '/v3_5/versions/3.8.1', { token });
    expect(one.body.data.uris.map((u: { os: string }) => u.os).sort()).toEqual(['LINUX64', 'WIN64']);
    expect((await ctx.request('GET', '/v3_5/versions/9.9.9', { token })).status).toBe(404);
  });

  it.each([
    ['no token', undefined],
    ['a garbage token', 'abc.def.ghi'],
    ['an installation token', 'INSTALLATION'],
  ])('refuses %s with 401', async (_c, token) => {
    const t = token === 'INSTALLATION' ? (await ctx.request('GET', '/v3_5/tokens/installation', { headers: { apikey: keys.installationKey } })).body.data : token;
    const res = await ctx.request('GET', '/v3_5/versions/latest', t ? { token: t } : {});
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('INVALID_TOKEN');
  });

  it('refuses an expired application JWT', async () => {
    const token = (await ctx.request('GET', '/v3_5/tokens/application', { headers: { apikey: keys.labelKey } })).body.data;
    ctx.clock.advance(1206 * 1000);
    const res = await ctx.request('GET', '/v3_5/versions/latest', { token });
    expect(res.status).toBe(401);
    expect(res.body.description).toMatch(/expired/);
  });

  it('publishes the DS keys in the JWKS, and a rotation keeps the old signing key published', async () => {
    const before = await ctx.request('GET', '/v3_5/.well-known/jwks.json');
    expect(before.body.keys.map((k: JWK) => k.use).sort()).toEqual(['enc', 'sig']);
    for (const k of before.body.keys) {
      expect(k.d).toBeUndefined();
      expect(k.kid).toBeTruthy();
      expect(k.alg).toBeTruthy();
    }
    const token = (await ctx.request('GET', '/v3_5/tokens/application', { headers: { apikey: keys.labelKey } })).body.data;
    const rotated = await ctx.request('POST', '/v3_5/admin/keys/rotate', { token: admin, body: {} });
    expect(rotated.status).toBe(200);
    const after = await ctx.request('GET', '/v3_5/.well-known/jwks.json');
    expect(after.body.keys).toHaveLength(4);
    // A token signed before the rotation still verifies.
    expect((await ctx.request('GET', '/v3_5/versions/latest', { token })).status).toBe(200);
    ctx.clock.advance(25 * 3600 * 1000);
    const later = await ctx.request('GET', '/v3_5/.well-known/jwks.json');
    expect(later.body.keys.map((k: JWK) => k.use).sort()).toEqual(['enc', 'enc', 'sig']);
  });
});

describe('registration', () => {
  it('registers RSA, EC P-256 and EC P-384 devices and syncs each', async () => {
    for (const keyType of ['rsa', 'ec', 'ec-p384'] as const) {
      const d = await device(ctx, keys.installationKey, { keyType });
      const id = await d.register();
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      d.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 3 });
      const res = await d.sync();
      expect(res.accepted.transactions).toBe(1);
      expect(await deviceCounters(id)).toEqual([{ label: 'acme-web', module: 'beid', useCase: 'sign', month: '2026-03', counter: 3 }]);
    }
    expect(await counters()).toEqual([{ label: 'acme-web', module: 'beid', useCase: 'sign', day: '2026-03-15', counter: 9 }]);
  });

  it('speaks with devices of either JOSE engine on either engine of its own (DS_MESSAGE_ENGINE), for every key type', async () => {
    for (const dsEngine of ['node', 'jose'] as const) {
      const other = await createTestContext({ configOverrides: { DS_MESSAGE_ENGINE: dsEngine } });
      try {
        expect(other.app.services.config.messageEngine).toBe(dsEngine);
        const otherKeys = await seed(other, await other.login());
        for (const deviceEngine of ['node', 'jose'] as const) {
          for (const keyType of ['rsa', 'ec', 'ec-p384'] as const) {
            const d = await device(other, otherKeys.installationKey, { keyType, messageEngine: deviceEngine });
            await d.register();
            expect((await d.versionCheck()).action, `${dsEngine}/${deviceEngine}/${keyType}`).toBe('NONE');
            d.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 2 });
            expect((await d.sync()).accepted.transactions, `${dsEngine}/${deviceEngine}/${keyType}`).toBe(1);
          }
        }
        const total = await other.database.db.selectFrom('labelDailyCounters').select((eb) => eb.fn.sum<number>('counter').as('n')).executeTakeFirstOrThrow();
        expect(Number(total.n)).toBe(12);
      } finally {
        await other.close();
      }
    }
  });

  it('registering the same certificate again answers the same id with 200', async () => {
    const identity = await createDeviceIdentity('ec', { now: ctx.clock.now() });
    const token = async () => (await ctx.request('GET', '/v3_5/tokens/installation', { headers: { apikey: keys.installationKey } })).body.data;
    const body = { certificate: identity.certificatePem, version: '3.8.1', os: { name: 'Linux', version: '6.1', architecture: 'x86_64' } };
    const first = await ctx.request('POST', '/v3_5/devices', { token: await token(), body });
    const second = await ctx.request('POST', '/v3_5/devices', { token: await token(), body });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.data.id).toBe(first.body.data.id);
    expect(first.body.data).toMatchObject({ syncIntervalSeconds: 3600, syncFailureLimit: 10 });
    expect(first.body.data.jwks.keys).toHaveLength(2);
    expect(await ctx.database.db.selectFrom('devices').selectAll().execute()).toHaveLength(1);
  });

  it.each([
    ['garbage', 'not a certificate', /not a PEM/],
    ['a truncated PEM', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----', /cannot be parsed/],
  ])('refuses %s as certificate', async (_c, certificate, message) => {
    const token = (await ctx.request('GET', '/v3_5/tokens/installation', { headers: { apikey: keys.installationKey } })).body.data;
    const res = await ctx.request('POST', '/v3_5/devices', { token, body: { certificate, version: '3.8.1', os: { name: 'Linux', version: '6', architecture: 'x64' } } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_CERTIFICATE');
    expect(res.body.description).toMatch(message);
  });

  it('refuses registration without an installation token, or with an application token', async () => {
    const identity = await createDeviceIdentity('ec', { now: ctx.clock.now() });
    const body = { certificate: identity.certificatePem, version: '3.8.1', os: { name: 'Linux', version: '6', architecture: 'x64' } };
    expect((await ctx.request('POST', '/v3_5/devices', { body })).status).toBe(401);
    const appToken = (await ctx.request('GET', '/v3_5/tokens/application', { headers: { apikey: keys.labelKey } })).body.data;
    expect((await ctx.request('POST', '/v3_5/devices', { token: appToken, body })).status).toBe(401);
    expect(await ctx.database.db.selectFrom('devices').selectAll().execute()).toHaveLength(0);
  });

  it('registers the version of the installation token: another version in the body is a 400 naming both', async () => {
    const identity = await createDeviceIdentity('ec', { now: ctx.clock.now() });
    const token = (await ctx.request('GET', '/v3_5/tokens/installation', { headers: { apikey: keys.installationKey } })).body.data;
    for (const version of ['9.9.9', '3.9.0']) {
      const body = { certificate: identity.certificatePem, version, os: { name: 'Linux', version: '6', architecture: 'x64' } };
      const res = await ctx.request('POST', '/v3_5/devices', { token, body });
      expect(res.status).toBe(400);
      expect(res.body.description).toContain(version);
      expect(res.body.description).toContain('3.8.1');
    }
    expect(await ctx.database.db.selectFrom('devices').selectAll().execute()).toHaveLength(0);
    const ok = await ctx.request('POST', '/v3_5/devices', { token, body: { certificate: identity.certificatePem, version: '3.8.1', os: { name: 'Linux', version: '6', architecture: 'x64' } } });
    expect(ok.status).toBe(201);
  });
});

describe('version check', () => {
  /**
   * A device of `deviceVersion` registered with that version's installation key (a version that
   * is not published is published for the registration, then deleted) checks its version.
   */
  const check = async (deviceVersion: string) => {
    let key = keys.installationKey;
    const published = (await ctx.request('GET', `/v3_5/admin/versions/${deviceVersion}`, { token: admin })).status === 200;
    if (deviceVersion !== '3.8.1') {
      const put = await ctx.request('PUT', `/v3_5/admin/versions/${deviceVersion}`, { token: admin, body: {} });
      key = put.body.data.installationApiKey ?? (await ctx.request('POST', `/v3_5/admin/versions/${deviceVersion}/rotate-key`, { token: admin, body: {} })).body.data.installationApiKey;
    }
    const d = await device(ctx, key, { version: deviceVersion });
    await d.register();
    if (!published) expect((await ctx.request('DELETE', `/v3_5/admin/versions/${deviceVersion}?force=true`, { token: admin })).status).toBe(200);
    return d.versionCheck();
  };

  it.each([
    ['on the latest', [], '3.8.1', 'NONE'],
    ['a newer plain version', [['3.9.0', {}]], '3.8.1', 'UPDATE_AVAILABLE'],
    ['a newer recommended version', [['3.9.0', { recommended: true }]], '3.8.1', 'RECOMMENDED'],
    ['a newer mandatory version', [['3.9.0', { mandatory: true, recommended: true }]], '3.8.1', 'MANDATORY'],
    ['its own version withdrawn', [['3.9.0', { recommended: true }], ['3.8.1', { allowed: false }]], '3.8.1', 'NOT_ALLOWED'],
    ['a newer version that is not allowed', [['3.9.0', { allowed: false, mandatory: true }]], '3.8.1', 'NONE'],
    ['newer than every published version', [], '4.0.0', 'NONE'],
  ] as const)('%s', async (_c, versions, deviceVersion, action) => {
    for (const [id, flags] of versions) await ctx.request('PUT', `/v3_5/admin/versions/${id}`, { token: admin, body: { ...flags, installers: [{ os: 'win64', uri: 'https://cdn.example.test/a.exe' }] } });
    const res = await check(deviceVersion);
    expect(res.action).toBe(action);
    if (action === 'NONE') expect(res.downloadUri).toBeNull();
    else expect(res.downloadUri).toBe(`https://ds.example.test/v3_5/downloads/installers/win64/versions/${res.latest?.id}`);
  });

  it('stops the client on MANDATORY and NOT_ALLOWED', async () => {
    // With an installer for the device's os: a version without one is never offered (version-check.ts).
    await ctx.request('PUT', '/v3_5/admin/versions/3.9.0', { token: admin, body: { mandatory: true, installers: [{ os: 'win64', uri: 'https://cdn.example.test/a.exe' }] } });
    let reason = '';
    const d = await device(ctx, keys.installationKey, { onStop: (r) => (reason = r) });
    await d.register();
    await d.versionCheck();
    expect(d.isStopped).toBe(true);
    expect(reason).toMatch(/mandatory/);
  });
});

describe('sync', () => {
  let d: DeviceClient;
  beforeEach(async () => {
    d = await registeredDevice(ctx, keys.installationKey);
  });

  it('sends configs only when the digests differ, and the device applies them', async () => {
    await ctx.request('PUT', '/v3_5/admin/versions/3.8.1/context-config', { token: admin, body: { config: { corsAllowlist: ['https://*.acme.com'], syncIntervalSeconds: 900, extra: { a: 1 } } } });
    await ctx.request('PUT', '/v3_5/admin/versions/3.8.1/ssl-keystore-config', { token: admin, body: { config: { uri: 'https://cdn.example.test/ks.p12', sha256: 'ab'.repeat(32) } } });
    const first = await d.sync();
    expect(first.contextConfig).toEqual({ corsAllowlist: ['https://*.acme.com'], syncIntervalSeconds: 900, syncFailureLimit: 10, extra: { a: 1 } });
    expect(first.sslKeystoreConfig).toEqual({ uri: 'https://cdn.example.test/ks.p12', sha256: 'ab'.repeat(32) });
    expect(first.digests.contextConfig).toBe(configDigest(first.contextConfig));
    expect(first.syncIntervalSeconds).toBe(900);
    expect(d.snapshot().contextConfig).toEqual(first.contextConfig);
    expect(d.syncIntervalSeconds).toBe(900);

    const second = await d.sync();
    expect(second.contextConfig).toBeUndefined();
    expect(second.sslKeystoreConfig).toBeUndefined();

    await ctx.request('PUT', '/v3_5/admin/versions/3.8.1/ssl-keystore-config', { token: admin, body: { config: null } });
    const third = await d.sync();
    expect(third.contextConfig).toBeUndefined();
    expect(third.sslKeystoreConfig).toBeNull();
    expect(d.snapshot().sslKeystoreConfigDigest).toBeNull();
  });

  it('records status, version, labels and parsed User-Agents', async () => {
    d.setStatus('UPDATABLE');
    d.recordUsage('acme-web', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36');
    d.recordUsage('acme-app', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0');
    await d.sync();
    const id = d.deviceId!;
    const row = await ctx.database.db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'UPDATABLE', version: '3.8.1', lastSyncAt: ctx.clock.now().toISOString() });
    const labels = await ctx.database.db.selectFrom('deviceLabels').select('label').where('deviceId', '=', id).orderBy('label').execute();
    expect(labels.map((l) => l.label)).toEqual(['acme-app', 'acme-web']);
    const uas = await ctx.database.db.selectFrom('deviceUserAgents').select(['browserName', 'browserMajor', 'osName']).where('deviceId', '=', id).orderBy('browserName').execute();
    expect(uas).toEqual([
      { browserName: 'Chrome', browserMajor: '131', osName: 'Windows' },
      { browserName: 'Firefox', browserMajor: '133', osName: 'macOS' },
    ]);
  });

  it('keeps at most 20 distinct User-Agents per device', async () => {
    for (let i = 0; i < 30; i++) {
      d.recordUsage('acme-web', `Mozilla/5.0 (X11; Linux x86_64) Firefox/${100 + i}.0`);
      if (i % 10 === 9) {
        await d.sync();
        ctx.clock.advance(1000);
      }
    }
    const rows = await ctx.database.db.selectFrom('deviceUserAgents').select('browserMajor').where('deviceId', '=', d.deviceId!).execute();
    expect(rows).toHaveLength(20);
    expect(rows.map((r) => Number(r.browserMajor)).sort((a, b) => a - b)[0]).toBe(110);
  });

  it('adds transactions to per-device and per-label daily counters', async () => {
    d.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 2 });
    d.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'auth', count: 1 });
    ctx.clock.advance(86_400_000);
    d.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 5 });
    const res = await d.sync();
    expect(res.accepted.transactions).toBe(3);
    expect(await counters()).toEqual([
      { label: 'acme-web', module: 'beid', useCase: 'auth', day: '2026-03-15', counter: 1 },
      { label: 'acme-web', module: 'beid', useCase: 'sign', day: '2026-03-15', counter: 2 },
      { label: 'acme-web', module: 'beid', useCase: 'sign', day: '2026-03-16', counter: 5 },
    ]);
    expect(await deviceCounters(d.deviceId!)).toEqual([
      { label: 'acme-web', module: 'beid', useCase: 'auth', month: '2026-03', counter: 1 },
      { label: 'acme-web', module: 'beid', useCase: 'sign', month: '2026-03', counter: 7 },
    ]);
  });

  it('a retry after a lost answer gets the stored answer and counts once', async () => {
    d.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 4 });
    // The first answer is lost on the way back: DS processed the sync, the device saw an error.
    let drop = true;
    const lossy = await device(ctx, keys.installationKey, {
      store: { load: async () => d.snapshot(), save: async () => {} },
      fetch: (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
        const res = await appFetch(ctx)(input, init);
        if (drop && String(input).endsWith('/sync')) {
          drop = false;
          throw new TypeError('connection reset');
        }
        return res;
      }) as typeof fetch,
    });
    expect(await lossy.tick()).toBeNull();
    expect(lossy.failures).toBe(1);
    expect(lossy.snapshot().pending?.transactions).toHaveLength(1);
    ctx.clock.advance(400_000); // later than the first message's lifetime: resealed, same jti
    const retried = await lossy.tick();
    expect(retried?.accepted.transactions).toBe(1);
    expect(lossy.snapshot().pending).toBeNull();
    expect(await counters()).toEqual([{ label: 'acme-web', module: 'beid', useCase: 'sign', day: '2026-03-15', counter: 4 }]);
    expect((await deviceCounters(d.deviceId!))[0]?.counter).toBe(4);
  });

  it('stops itself after syncFailureLimit failed syncs in a row', async () => {
    await ctx.request('PUT', '/v3_5/admin/versions/3.8.1/context-config', { token: admin, body: { config: { syncFailureLimit: 3 } } });
    await d.sync();
    let reason = '';
    const broken = await device(ctx, keys.installationKey, {
      store: { load: async () => d.snapshot(), save: async () => {} },
      fetch: (async () => {
        throw new TypeError('network down');
      }) as typeof fetch,
      onStop: (r) => (reason = r),
      setTimer: () => 0,
      clearTimer: () => {},
    });
    await broken.tick();
    await broken.tick();
    expect(broken.isStopped).toBe(false);
    await broken.tick();
    expect(broken.isStopped).toBe(true);
    expect(reason).toMatch(/3 syncs failed in a row/);
  });

  it('sends the new JWKS once after a DS key rotation', async () => {
    expect((await d.sync()).jwks).toBeUndefined();
    await ctx.request('POST', '/v3_5/admin/keys/rotate', { token: admin, body: {} });
    const after = await d.sync();
    expect(after.jwks?.keys).toHaveLength(4);
    expect((await d.sync()).jwks).toBeUndefined();
  });
});

describe('bad messages change nothing', () => {
  let d: DeviceClient;
  let other: DeviceClient;

  const post = (id: string, body: string, contentType = 'application/jose') =>
    ctx.request('POST', `/v3_5/devices/${id}/sync`, { rawBody: body, headers: { 'content-type': contentType } });

  beforeEach(async () => {
    d = await registeredDevice(ctx, keys.installationKey);
    other = await device(ctx, keys.installationKey, { keyType: 'rsa' });
    await other.register();
  });

  const snapshot = async () => ({
    devices: await ctx.database.db.selectFrom('devices').select(['id', 'status', 'lastSyncAt', 'version']).orderBy('id').execute(),
    counters: await counters(),
    deviceCounters: await ctx.database.db.selectFrom('deviceCounters').selectAll().execute(),
    messages: await ctx.database.db.selectFrom('deviceMessages').select(['deviceId', 'jti']).execute(),
  });

  const CASES: { name: string; status: number; code: string; send: () => Promise<{ status: number; body: any }> }[] = [
    { name: 'a message of another device replayed to this one', status: 401, code: 'MESSAGE_SIGNATURE_INVALID', send: async () => post(d.deviceId!, await seal(other, valid())) },
    { name: 'an iss that is not the device of the path', status: 401, code: 'MESSAGE_SIGNATURE_INVALID', send: async () => post(d.deviceId!, await seal(d, valid(), { issuer: other.deviceId! })) },
    { name: 'a body signed by a different key', status: 401, code: 'MESSAGE_SIGNATURE_INVALID', send: async () => post(d.deviceId!, await seal(other, valid(), { issuer: d.deviceId! })) },
    { name: 'an expired message', status: 401, code: 'MESSAGE_EXPIRED', send: async () => post(d.deviceId!, await seal(d, valid(), { now: Math.floor(ctx.clock.now().getTime() / 1000) - 400 })) },
    { name: 'a future-dated message', status: 401, code: 'MESSAGE_NOT_YET_VALID', send: async () => post(d.deviceId!, await seal(d, valid(), { now: Math.floor(ctx.clock.now().getTime() / 1000) + 120 })) },
    { name: 'a message living longer than 300 s', status: 400, code: 'INVALID_MESSAGE', send: async () => post(d.deviceId!, await seal(d, valid(), { lifetime: 3600 })) },
    { name: 'an aud that is not DS', status: 400, code: 'INVALID_MESSAGE', send: async () => post(d.deviceId!, await seal(d, valid(), { audience: 'https://evil.example' })) },
    { name: 'a jti with a NUL (PostgreSQL text cannot hold one)', status: 400, code: 'INVALID_MESSAGE', send: async () => post(d.deviceId!, await seal(d, valid(), { jti: 'abc\u0000def' })) },
    {
      name: 'tampered ciphertext',
      status: 400,
      code: 'MESSAGE_DECRYPTION_FAILED',
      send: async () => {
        const parts = (await seal(d, valid())).split('.');
        const ct = Buffer.from(parts[3]!, 'base64url');
        ct[0] = ct[0]! ^ 0xff;
        parts[3] = ct.toString('base64url');
        return post(d.deviceId!, parts.join('.'));
      },
    },
    { name: 'a body that is not a JWE', status: 400, code: 'INVALID_MESSAGE', send: async () => post(d.deviceId!, 'hello') },
    { name: 'a JSON body', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', send: async () => post(d.deviceId!, JSON.stringify(valid()), 'application/json') },
    { name: 'an unknown device', status: 404, code: 'UNKNOWN_DEVICE', send: async () => post('00000000-0000-4000-8000-000000000000', await seal(d, valid())) },
    { name: 'a payload that breaks the schema', status: 400, code: 'VALIDATION_ERROR', send: async () => post(d.deviceId!, await seal(d, { ...valid(), status: 'HAPPY' })) },
    { name: 'an unknown payload field', status: 400, code: 'VALIDATION_ERROR', send: async () => post(d.deviceId!, await seal(d, { ...valid(), bogus: 1 })) },
    {
      name: 'too many transactions',
      status: 400,
      code: 'VALIDATION_ERROR',
      send: async () =>
        post(d.deviceId!, await seal(d, valid({ transactions: Array.from({ length: 1001 }, (_, i) => ({ label: 'l', module: 'm', useCase: `u${i}`, counter: 1, txDate: '2026-03-15' })) }))),
    },
    // Dates and names of single entries are refused one by one (see "entries refused one by one"); types and sizes refuse the message.
    { name: 'a txDate that is not a string', status: 400, code: 'VALIDATION_ERROR', send: async () => post(d.deviceId!, await seal(d, { ...valid(), transactions: [{ label: 'l', module: 'm', useCase: 'u', counter: 1, txDate: 20260315 }] })) },
    { name: 'an empty label', status: 400, code: 'VALIDATION_ERROR', send: async () => post(d.deviceId!, await seal(d, valid({ transactions: [{ label: '', module: 'm', useCase: 'u', counter: 1, txDate: '2026-03-15' }] }))) },
    { name: 'a negative counter', status: 400, code: 'VALIDATION_ERROR', send: async () => post(d.deviceId!, await seal(d, valid({ transactions: [{ label: 'l', module: 'm', useCase: 'u', counter: -5, txDate: '2026-03-15' }] }))) },
    { name: 'an oversize body', status: 413, code: 'PAYLOAD_TOO_LARGE', send: async () => post(d.deviceId!, 'x'.repeat(2 * 1024 * 1024)) },
  ];

  it.each(CASES)('$name → $status $code', async (c) => {
    const before = await snapshot();
    const res = await c.send();
    expect(res.status).toBe(c.status);
    expect(res.body.code).toBe(c.code);
    expect(await snapshot()).toEqual(before);
  });

  it('a deleted device must register again', async () => {
    const res = await ctx.request('DELETE', `/v3_5/admin/devices/${d.deviceId}`, { token: admin });
    expect(res.status).toBe(200);
    const sent = await post(d.deviceId!, await seal(d, valid()));
    expect(sent.status).toBe(404);
    expect(sent.body.code).toBe('UNKNOWN_DEVICE');
  });
});

describe('replay per device and message kind', () => {
  let d: DeviceClient;
  let other: DeviceClient;
  beforeEach(async () => {
    d = await registeredDevice(ctx, keys.installationKey);
    other = await device(ctx, keys.installationKey, { keyType: 'rsa' });
    await other.register();
  });

  type Kind = 'sync' | 'version-check';
  const syncOf = (counter: number) => valid({ transactions: [{ label: 'acme-web', module: 'beid', useCase: 'sign', counter, txDate: '2026-03-15' }] });
  const check = { version: '3.8.1' };

  /** Posts a sealed message of `client`; answers the status and the opened answer payload, or the error. */
  async function post(client: DeviceClient, kind: Kind, body: string): Promise<{ status: number; answer?: Record<string, unknown>; error?: { code: string; description: string } }> {
    const res = await ctx.request('POST', `/v3_5/devices/${client.deviceId}/${kind}`, { rawBody: body, headers: { 'content-type': 'application/jose' } });
    if (res.status !== 200) return { status: res.status, error: res.body };
    const sig = ctx.keys.current('sig');
    const opened = await openMessage(res.body as string, {
      decryptionKey: async () => (await deviceKeys(client.snapshot())).decrypt,
      verificationKey: () => sig.publicKey,
      algorithms: [sig.alg],
      issuer: DS_MESSAGE_ISSUER,
      now: Math.floor(ctx.clock.now().getTime() / 1000),
    });
    const { iss: _i, iat: _a, exp: _e, jti: _j, ...answer } = opened.claims;
    return { status: 200, answer };
  }
  const send = async (client: DeviceClient, kind: Kind, payload: object, jti: string) => post(client, kind, await seal(client, payload, { jti }));

  const state = async () => ({
    counters: await counters(),
    deviceCounters: await ctx.database.db.selectFrom('deviceCounters').selectAll().orderBy('deviceId').execute(),
    devices: await ctx.database.db.selectFrom('devices').selectAll().orderBy('id').execute(),
    labels: await ctx.database.db.selectFrom('deviceLabels').selectAll().orderBy('deviceId').execute(),
    messages: await ctx.database.db.selectFrom('deviceMessages').select(['deviceId', 'jti', 'kind', 'response']).orderBy('deviceId').orderBy('jti').execute(),
  });

  it('refuses a sync under the jti of a version check with 409 CONFLICT, and counts nothing', async () => {
    const jti = crypto.randomUUID();
    const checked = await send(d, 'version-check', check, jti);
    expect(checked.status).toBe(200);
    const before = await state();
    const synced = await send(d, 'sync', syncOf(1), jti);
    expect(synced.status).toBe(409);
    expect(synced.error?.code).toBe('CONFLICT');
    expect(synced.error?.description).toMatch(/already used by this device for a version-check message/);
    expect(await state()).toEqual(before);
    expect(before.counters).toEqual([]);
    // Still refused when sent again; the version check still answers what it answered.
    expect((await send(d, 'sync', syncOf(1), jti)).status).toBe(409);
    expect(await send(d, 'version-check', check, jti)).toEqual(checked);
    expect(await state()).toEqual(before);
  });

  it('refuses a version check under the jti of a sync with 409 CONFLICT', async () => {
    const jti = crypto.randomUUID();
    expect((await send(d, 'sync', syncOf(2), jti)).answer?.accepted).toEqual({ transactions: 1 });
    const before = await state();
    const checked = await send(d, 'version-check', check, jti);
    expect(checked.status).toBe(409);
    expect(checked.error?.code).toBe('CONFLICT');
    expect(checked.error?.description).toMatch(/already used by this device for a sync message/);
    expect(await state()).toEqual(before);
  });

  it('answers a sync sent again with its stored answer and counts it once', async () => {
    const jti = crypto.randomUUID();
    const first = await send(d, 'sync', syncOf(4), jti);
    expect(first.answer?.contextConfig).toBeDefined();
    // A fresh answer would differ now (another config), and the retry is sealed again, later.
    await ctx.request('PUT', '/v3_5/admin/versions/3.8.1/context-config', { token: admin, body: { config: { syncIntervalSeconds: 900 } } });
    ctx.clock.advance(400_000);
    expect(await send(d, 'sync', syncOf(4), jti)).toEqual(first);
    expect(await counters()).toEqual([{ label: 'acme-web', module: 'beid', useCase: 'sign', day: '2026-03-15', counter: 4 }]);
    expect((await deviceCounters(d.deviceId!))[0]?.counter).toBe(4);
    expect((await send(d, 'sync', syncOf(4), crypto.randomUUID())).answer?.syncIntervalSeconds).toBe(900);
  });

  it('answers a version check sent again with the same answer', async () => {
    const jti = crypto.randomUUID();
    const first = await send(d, 'version-check', check, jti);
    expect(first.answer?.action).toBe('NONE');
    await ctx.request('PUT', '/v3_5/admin/versions/3.9.0', { token: admin, body: { mandatory: true, installers: [{ os: 'win64', uri: 'https://cdn.example.test/a.exe' }] } });
    expect(await send(d, 'version-check', check, jti)).toEqual(first);
    expect((await send(d, 'version-check', check, crypto.randomUUID())).answer?.action).toBe('MANDATORY');
    expect((await state()).messages.filter((m) => m.jti === jti)).toEqual([{ deviceId: d.deviceId, jti, kind: 'version-check', response: JSON.stringify(first.answer) }]);
  });

  it('keeps jtis per device: another device may use the same jti, for either kind', async () => {
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    expect((await send(d, 'sync', syncOf(1), a)).status).toBe(200);
    expect((await send(d, 'version-check', check, b)).status).toBe(200);
    expect((await send(other, 'sync', syncOf(2), a)).answer?.accepted).toEqual({ transactions: 1 });
    expect((await send(other, 'sync', syncOf(5), b)).answer?.accepted).toEqual({ transactions: 1 });
    expect((await deviceCounters(d.deviceId!))[0]?.counter).toBe(1);
    expect((await deviceCounters(other.deviceId!))[0]?.counter).toBe(7);
    expect((await counters())[0]?.counter).toBe(8);
  });

  /** Lets a twin of the next message (same device and jti, of `kind`) be recorded just after its replay check. */
  const twinRecordedFirst = (jti: string, kind: Kind, answer: object) => {
    const store = ctx.app.services.syncStore;
    vi.spyOn(store, 'findStoredResponse').mockImplementationOnce(async (deviceId) => {
      const now = ctx.clock.now();
      await store.recordMessage({ deviceId, jti, kind, receivedAt: now.toISOString(), window: deviceMessageWindow(now), decide: () => ({ response: JSON.stringify(answer) }) });
      return undefined;
    });
  };

  it('answers a version check whose twin was recorded first with the twin\'s answer', async () => {
    const jti = crypto.randomUUID();
    const twin = { action: 'UPDATE_AVAILABLE', latest: null, current: null, downloadUri: null };
    twinRecordedFirst(jti, 'version-check', twin);
    expect((await send(d, 'version-check', check, jti)).answer).toEqual(twin);
  });

  it('answers a sync whose twin was recorded first with the twin\'s answer, and counts nothing of its own', async () => {
    const jti = crypto.randomUUID();
    const twin = { ...(await send(d, 'sync', syncOf(1), crypto.randomUUID())).answer, accepted: { transactions: 0 } };
    twinRecordedFirst(jti, 'sync', twin);
    expect((await send(d, 'sync', syncOf(3), jti)).answer).toEqual(twin);
    expect((await deviceCounters(d.deviceId!))[0]?.counter).toBe(1);
  });

  it('refuses a sync whose twin of another kind was recorded first, and counts nothing', async () => {
    const jti = crypto.randomUUID();
    twinRecordedFirst(jti, 'version-check', { action: 'NONE', latest: null, current: null, downloadUri: null });
    const synced = await send(d, 'sync', syncOf(3), jti);
    expect(synced.error?.code).toBe('CONFLICT');
    expect(await counters()).toEqual([]);
    expect(await deviceCounters(d.deviceId!)).toEqual([]);
  });

  it('answers concurrent twins of a sync alike and counts once', async () => {
    const body = await seal(d, syncOf(3));
    const [one, two] = await Promise.all([post(d, 'sync', body), post(d, 'sync', body)]);
    expect(one.status).toBe(200);
    expect(two).toEqual(one);
    expect((await counters())[0]?.counter).toBe(3);
  });

  it('answers one of a concurrent sync and version check under one jti, and refuses the other', async () => {
    const jti = crypto.randomUUID();
    const [synced, checked] = await Promise.all([send(d, 'sync', syncOf(3), jti), send(d, 'version-check', check, jti)]);
    expect([synced.status, checked.status].sort()).toEqual([200, 409]);
    expect([synced.error?.code, checked.error?.code].filter(Boolean)).toEqual(['CONFLICT']);
    expect((await state()).messages.map((m) => m.kind)).toEqual([synced.status === 200 ? 'sync' : 'version-check']);
    expect(await counters()).toHaveLength(synced.status === 200 ? 1 : 0);
  });
});

describe('housekeeping', () => {
  it('drops processed messages older than their retention, and only those', async () => {
    const { pruneDeviceMessages } = await import('./devices.service.js');
    const d = await registeredDevice(ctx, keys.installationKey);
    await d.sync();
    ctx.clock.advance(ctx.config.messageRetentionSeconds * 1000 - 1000);
    await d.sync();
    ctx.clock.advance(2000);
    expect(await pruneDeviceMessages(ctx.app.services)).toBe(1);
    expect(await ctx.database.db.selectFrom('deviceMessages').selectAll().execute()).toHaveLength(1);
  });
});

// ------------------------------------------------------------------------ issue 11, items 5 and 6

/** Seals `payload` as `client` would and posts it as a sync (to `app`, default the context's); answers the status and the opened answer or the error. */
async function syncRaw(client: DeviceClient, payload: object, app: { request: TestContext['app']['request'] } = ctx.app) {
  const res = await app.request(`/v3_5/devices/${client.deviceId}/sync`, { method: 'POST', body: await seal(client, payload), headers: { 'content-type': 'application/jose' } });
  if (res.status !== 200) return { status: res.status, headers: res.headers, error: (await res.json()) as { code: string; description: string } };
  const sig = ctx.keys.current('sig');
  const opened = await openMessage(await res.text(), {
    decryptionKey: async () => (await deviceKeys(client.snapshot())).decrypt,
    verificationKey: () => sig.publicKey,
    algorithms: [sig.alg],
    issuer: DS_MESSAGE_ISSUER,
    now: Math.floor(ctx.clock.now().getTime() / 1000),
  });
  const { iss: _i, iat: _a, exp: _e, jti: _j, ...answer } = opened.claims;
  return { status: 200, headers: res.headers, answer: answer as Record<string, any> };
}

const tx = (txDate: string, counter = 1, names: { label?: string; module?: string; useCase?: string } = {}) => ({
  label: names.label ?? 'acme-web',
  module: names.module ?? 'beid',
  useCase: names.useCase ?? 'sign',
  counter,
  txDate,
});

/** Every counter row of every counter table, with its organization. */
const allCounters = async () => {
  const db = ctx.database.db;
  return {
    daily: await db.selectFrom('labelDailyCounters').selectAll().orderBy('label').orderBy('day').orderBy('module').orderBy('useCase').execute(),
    monthly: await db.selectFrom('labelMonthlyCounters').selectAll().orderBy('label').orderBy('month').execute(),
    dailyTotals: await db.selectFrom('labelDailyTotals').selectAll().orderBy('label').orderBy('day').execute(),
    monthlyTotals: await db.selectFrom('labelMonthlyTotals').selectAll().orderBy('label').orderBy('month').execute(),
    device: await db.selectFrom('deviceCounters').selectAll().orderBy('label').orderBy('module').orderBy('useCase').execute(),
  };
};

/** A context with these settings instead of the one beforeEach made (afterEach closes it). */
async function reconfigure(overrides: Record<string, string>) {
  await ctx.close();
  ctx = await createTestContext({ configOverrides: overrides });
  admin = await ctx.login();
  keys = await seed(ctx, admin);
}

const report = async (query: string, token = admin) => {
  const res = await ctx.request('GET', `/v3_5/admin/reports/transactions?${query}`, { token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data as Record<string, unknown>[];
};

describe('entries refused one by one: dates', () => {
  let d: DeviceClient;
  beforeEach(async () => {
    d = await registeredDevice(ctx, keys.installationKey);
  });

  it('counts real days of the current month and the two closed months before it, and refuses the rest with a code each', async () => {
    // Now is 2026-03-15 10:00 UTC: January and February are the closed months still counted.
    const before = await allCounters();
    const res = await syncRaw(
      d,
      valid({
        transactions: [
          tx('2026-03-15', 1),
          tx('0000-01-01', 2), // year 0000
          tx('2026-02-31', 3), // lands in March if parsed leniently
          tx('2025-12-31', 4), // a month beyond the window (invoiced)
          tx('2026-03-17', 5), // the future
          tx('2026-01-01', 6), // the first day still counted
          tx('2026-3-5', 7),
          tx('2026-03-16', 8), // tomorrow, further ahead than the clock skew DS tolerates
          tx('9999-12-31', 9),
          tx('not a day', 10),
        ],
      }),
    );
    expect(res.status).toBe(200);
    expect(res.answer!.accepted).toEqual({ transactions: 2 });
    expect(res.answer!.rejected).toEqual([
      { index: 1, code: 'DATE_TOO_OLD' },
      { index: 2, code: 'NOT_A_DATE' },
      { index: 3, code: 'DATE_TOO_OLD' },
      { index: 4, code: 'DATE_IN_FUTURE' },
      { index: 6, code: 'NOT_A_DATE' },
      { index: 7, code: 'DATE_IN_FUTURE' },
      { index: 8, code: 'DATE_IN_FUTURE' },
      { index: 9, code: 'NOT_A_DATE' },
    ]);
    const after = await allCounters();
    expect(after.daily.map((r) => [r.day, Number(r.counter)])).toEqual([['2026-03-15', 1]]);
    expect(after.monthly.map((r) => [r.month, Number(r.counter)])).toEqual([['2026-01', 6]]);
    expect(before.monthly).toEqual([]);
    // Every counter row counted 7: nothing of the refused 55.
    const sum = (rows: { counter: number }[]) => rows.reduce((n, r) => n + Number(r.counter), 0);
    expect(sum(after.daily) + sum(after.monthly)).toBe(7);
    expect(sum(after.dailyTotals) + sum(after.monthlyTotals)).toBe(7);
  });

  it('answers without `rejected` when nothing was refused', async () => {
    const res = await syncRaw(d, valid({ transactions: [tx('2026-03-15', 2), tx('2026-02-28', 1)] }));
    expect(res.answer!.accepted).toEqual({ transactions: 2 });
    expect(res.answer).not.toHaveProperty('rejected');
  });

  it('takes tomorrow within the clock skew it tolerates for messages, just before midnight', async () => {
    ctx.clock.set('2026-03-15T23:59:30.000Z');
    const res = await syncRaw(d, valid({ transactions: [tx('2026-03-16', 2)] }));
    expect(res.answer!.accepted).toEqual({ transactions: 1 });
  });

  it('follows DS_LATE_TRANSACTION_MONTHS', async () => {
    await reconfigure({ DS_LATE_TRANSACTION_MONTHS: '0' });
    d = await registeredDevice(ctx, keys.installationKey);
    const res = await syncRaw(d, valid({ transactions: [tx('2026-02-28', 1), tx('2026-03-01', 1)] }));
    expect(res.answer!.rejected).toEqual([{ index: 0, code: 'DATE_TOO_OLD' }]);
  });
});

describe('entries refused one by one: control characters', () => {
  it('refuses names with control characters (NUL among them) and writes nothing for them, under no key', async () => {
    const d = await registeredDevice(ctx, keys.installationKey);
    // Counter keys join their parts with NUL: this label would have written a daily row for label
    // "acme-web", module "beid", use case "sign" dated 2025-11-05, inside a closed month.
    const shifted = 'acme-web\u0000beid\u0000sign\u00002025-11-05';
    const res = await syncRaw(
      d,
      valid({
        labels: ['acme-web', 'evil\u0007label'],
        transactions: [
          tx('2026-03-15', 1),
          tx('2026-03-15', 100, { label: shifted }),
          tx('2026-03-15', 2, { module: 'be\u001bid' }),
          tx('2026-03-15', 3, { useCase: 'sign\u0085' }),
          tx('2026-03-15', 4, { label: 'acme-web\u202e' }),
          tx('2026-03-15', 5, { useCase: 'line\nbreak' }),
          tx('2026-03-15', 6, { useCase: 'tab\there' }),
          tx('2026-03-15', 7, { module: 'del\u007f' }),
        ],
      }),
    );
    expect(res.status).toBe(200);
    expect(res.answer!.accepted).toEqual({ transactions: 1 });
    expect(res.answer!.rejected).toEqual([1, 2, 3, 4, 5, 6, 7].map((index) => ({ index, code: 'CONTROL_CHARACTERS' })));
    const after = await allCounters();
    expect(after.daily.map((r) => [r.label, r.module, r.useCase, r.day, Number(r.counter)])).toEqual([['acme-web', 'beid', 'sign', '2026-03-15', 1]]);
    expect(after.monthly).toEqual([]);
    expect(after.device.map((r) => [r.label, r.module, r.useCase, Number(r.counter)])).toEqual([['acme-web', 'beid', 'sign', 1]]);
    expect(after.dailyTotals.map((r) => [r.label, r.day, Number(r.counter)])).toEqual([['acme-web', '2026-03-15', 1]]);
    // Nor is a label with control characters stored as one the device served.
    const labels = await ctx.database.db.selectFrom('deviceLabels').select('label').where('deviceId', '=', d.deviceId!).execute();
    expect(labels.map((l) => l.label)).toEqual(['acme-web']);
  });
});

describe('counters bound to the organization they were counted for', () => {
  let d: DeviceClient;
  beforeEach(async () => {
    d = await registeredDevice(ctx, keys.installationKey);
  });
  const sync = (transactions: ReturnType<typeof tx>[]) => syncRaw(d, valid({ labels: [...new Set(['acme-web', ...transactions.map((t) => t.label)])], transactions }));

  it('counts a label DS does not know for no one: never in an organization\'s report or export, even after it creates that label', async () => {
    await sync([tx('2026-03-15', 5, { label: 'newbrand' }), tx('2026-02-10', 7, { label: 'newbrand' }), tx('2026-03-15', 1)]);
    // globex creates a label of that name afterwards; what was counted before stays unattributed.
    await ctx.request('PUT', '/v3_5/admin/organizations/globex', { token: admin, body: {} });
    expect((await ctx.request('PUT', '/v3_5/admin/labels/newbrand', { token: admin, body: { organization: 'globex' } })).status).toBe(201);
    await sync([tx('2026-03-15', 3, { label: 'newbrand' })]);

    // Who sees all of DS sees the unattributed transactions, as organization null, and in totals.
    expect(await report('from=2026-02&by=month,organization,label')).toEqual([
      { month: '2026-02', organization: null, label: 'newbrand', transactions: 7 },
      { month: '2026-03', organization: null, label: 'newbrand', transactions: 5 },
      { month: '2026-03', organization: 'acme', label: 'acme-web', transactions: 1 },
      { month: '2026-03', organization: 'globex', label: 'newbrand', transactions: 3 },
    ]);
    expect(await report('from=2026-02&by=')).toEqual([{ transactions: 16 }]);
    // globex's billing export and a user limited to globex: only what was counted for globex.
    expect(await report('from=2026-02&organization=globex&by=month,label,module,useCase')).toEqual([
      { month: '2026-03', label: 'newbrand', module: 'beid', useCase: 'sign', transactions: 3 },
    ]);
    const globexUser = await ctx.userToken('gina', 'viewer', 'globex');
    expect(await report('from=2026-02&by=month,label', globexUser)).toEqual([{ month: '2026-03', label: 'newbrand', transactions: 3 }]);
    expect(await report('from=2026-03&to=2026-03&by=device,label', globexUser)).toEqual([{ label: 'newbrand', device: d.deviceId, transactions: 3 }]);
    expect(await report('from=2026-02&label=newbrand&by=month', globexUser)).toEqual([{ month: '2026-03', transactions: 3 }]);
    // The device as globex's user sees it: only globex's counters.
    const seen = await ctx.request('GET', `/v3_5/admin/devices/${d.deviceId}`, { token: globexUser });
    expect(seen.body.data.counters).toEqual([{ label: 'newbrand', module: 'beid', useCase: 'sign', month: '2026-03', counter: 3 }]);

    // After the month boundary, archived, the same split.
    ctx.clock.set('2026-04-02T00:00:00.000Z');
    admin = await ctx.login();
    expect((await ctx.request('POST', '/v3_5/admin/counters/rollover', { token: admin, body: {} })).status).toBe(200);
    expect(await report('from=2026-03&to=2026-03&by=organization')).toEqual([
      { organization: null, transactions: 5 },
      { organization: 'acme', transactions: 1 },
      { organization: 'globex', transactions: 3 },
    ]);
    expect(await report('from=2026-03&to=2026-03&organization=globex&by=label,module')).toEqual([{ label: 'newbrand', module: 'beid', transactions: 3 }]);
  });

  it('keeps history with the first organization when a label is deleted and its name made in another', async () => {
    await sync([tx('2026-03-15', 4), tx('2026-02-20', 10)]);
    expect((await ctx.request('DELETE', '/v3_5/admin/labels/acme-web', { token: admin })).status).toBe(200);
    await ctx.request('PUT', '/v3_5/admin/organizations/globex', { token: admin, body: {} });
    expect((await ctx.request('PUT', '/v3_5/admin/labels/acme-web', { token: admin, body: { organization: 'globex' } })).status).toBe(201);
    await sync([tx('2026-03-15', 2)]);

    const byOrganization = 'from=2026-02&by=month,organization,label';
    const expected = [
      { month: '2026-02', organization: 'acme', label: 'acme-web', transactions: 10 },
      { month: '2026-03', organization: 'acme', label: 'acme-web', transactions: 4 },
      { month: '2026-03', organization: 'globex', label: 'acme-web', transactions: 2 },
    ];
    expect(await report(byOrganization)).toEqual(expected);
    expect(await report('from=2026-02&organization=acme&by=month,module')).toEqual([
      { month: '2026-02', module: 'beid', transactions: 10 },
      { month: '2026-03', module: 'beid', transactions: 4 },
    ]);
    expect(await report('from=2026-02&organization=globex&by=month')).toEqual([{ month: '2026-03', transactions: 2 }]);
    // Moving the label to a third organization moves nothing counted before either.
    await ctx.request('PUT', '/v3_5/admin/organizations/initech', { token: admin, body: {} });
    await ctx.request('PUT', '/v3_5/admin/labels/acme-web', { token: admin, body: { organization: 'initech' } });
    expect(await report(byOrganization)).toEqual(expected);
    // Nor does the month boundary.
    ctx.clock.set('2026-04-02T00:00:00.000Z');
    admin = await ctx.login();
    await ctx.request('POST', '/v3_5/admin/counters/rollover', { token: admin, body: {} });
    expect(await report(byOrganization)).toEqual(expected);
  });
});

describe('the per-device daily limit', () => {
  beforeEach(async () => reconfigure({ DS_DEVICE_DAILY_TRANSACTION_LIMIT: '10' }));

  it('counts a device\'s transactions per day across syncs and refuses the entries beyond the limit, with their own code', async () => {
    const d = await registeredDevice(ctx, keys.installationKey);
    const first = await syncRaw(d, valid({ transactions: [tx('2026-03-15', 6, { useCase: 'a' })] }));
    expect(first.answer!).not.toHaveProperty('rejected');
    const second = await syncRaw(
      d,
      valid({
        transactions: [
          tx('2026-03-15', 3, { useCase: 'b' }), // 9
          tx('2026-03-15', 2, { useCase: 'c' }), // 11: refused
          tx('2026-03-15', 1, { useCase: 'd' }), // 10: the limit itself is fine
          tx('2026-03-14', 10, { label: 'unknown-label' }), // another day has its own limit; unknown labels count too
          tx('2026-03-14', 1), // 11 on the 14th: refused
        ],
      }),
    );
    expect(second.answer!.accepted).toEqual({ transactions: 3 });
    expect(second.answer!.rejected).toEqual([
      { index: 1, code: 'DAILY_LIMIT' },
      { index: 4, code: 'DAILY_LIMIT' },
    ]);
    const third = await syncRaw(d, valid({ transactions: [tx('2026-03-15', 1)] }));
    expect(third.answer!.rejected).toEqual([{ index: 0, code: 'DAILY_LIMIT' }]);
    const { daily } = await allCounters();
    expect(daily.filter((r) => r.day === '2026-03-15').reduce((n, r) => n + Number(r.counter), 0)).toBe(10);
    // Another device has a limit of its own.
    const other = await registeredDevice(ctx, keys.installationKey);
    expect((await syncRaw(other, valid({ transactions: [tx('2026-03-15', 10)] }))).answer!).not.toHaveProperty('rejected');

    // Operators see which devices reached it: the device view, the devices report and its filter.
    const view = await ctx.request('GET', `/v3_5/admin/devices/${d.deviceId}`, { token: admin });
    expect(view.body.data.dailyLimitReachedAt).toBe(ctx.clock.now().toISOString());
    expect((await ctx.request('GET', `/v3_5/admin/devices/${other.deviceId}`, { token: admin })).body.data.dailyLimitReachedAt).toBeNull();
    const devicesReport = async (query: string) => (await ctx.request('GET', `/v3_5/admin/reports/devices?${query}`, { token: admin })).body.data;
    expect(await devicesReport('')).toMatchObject([{ devices: 2, dailyLimited: 1 }]);
    expect(await devicesReport('dailyLimited=true&by=device')).toMatchObject([{ key: d.deviceId, devices: 1, dailyLimited: 1 }]);
    // Thirty days later it is no longer counted as such.
    ctx.clock.advance(31 * 86_400_000);
    admin = await ctx.login();
    expect(await devicesReport('dailyLimited=true&by=device')).toEqual([]);
  });

  it('holds for concurrent syncs of one device: their total never passes the limit', async () => {
    const d = await registeredDevice(ctx, keys.installationKey);
    const results = await Promise.all([0, 1, 2].map(() => syncRaw(d, valid({ transactions: [tx('2026-03-15', 6)] }))));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(results.map((r) => r.answer!.accepted.transactions).sort()).toEqual([0, 0, 1]);
    const { daily } = await allCounters();
    expect(daily.map((r) => Number(r.counter))).toEqual([6]);
  });
});

describe('the device client and refused entries', () => {
  it('drops refused entries, says which, and never sends them again', async () => {
    const refused: { code: string; label: string }[] = [];
    const d = await device(ctx, keys.installationKey, { onRejected: (list) => refused.push(...list.map((r) => ({ code: r.code, label: r.transaction.label }))) });
    await d.register();
    d.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 2 });
    d.recordTransaction({ label: 'acme\u0000web', module: 'beid', useCase: 'sign', count: 5 });
    d.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'late', count: 3, date: new Date('2025-06-01T12:00:00Z') });
    d.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'ahead', count: 4, date: new Date('2026-03-20T12:00:00Z') });
    const first = await d.syncOnce();
    expect(first.ok).toBe(true);
    expect(first.ok && first.response.accepted).toEqual({ transactions: 1 });
    expect(refused.sort((a, b) => a.code.localeCompare(b.code))).toEqual([
      { code: 'CONTROL_CHARACTERS', label: 'acme\u0000web' },
      { code: 'DATE_IN_FUTURE', label: 'acme-web' },
      { code: 'DATE_TOO_OLD', label: 'acme-web' },
    ]);
    expect(d.snapshot().pending).toBeNull();
    expect(d.snapshot().counters).toEqual({});
    expect(d.failures).toBe(0);
    // The next sync carries none of them: nothing is refused again, nothing more is counted.
    const second = await d.syncOnce();
    expect(second.ok && second.response).toMatchObject({ accepted: { transactions: 0 } });
    expect(second.ok && second.response).not.toHaveProperty('rejected');
    expect(refused).toHaveLength(3);
    expect((await counters()).map((r) => [r.useCase, Number(r.counter)])).toEqual([['sign', 2]]);
  });
});

describe('rate limits, shared by every DS process on the database', () => {
  /** A second DS app on the same database, as another worker process or node would be. */
  const secondApp = () => createApp({ database: ctx.database, clock: ctx.clock, logger: silentLogger, config: ctx.config, startedAt: ctx.clock.now(), version: '0.0.0-test', keys: ctx.keys });
  /** A fetch that sends each request to the next of `apps` in turn, from `address`. */
  const roundRobin = (apps: { request: TestContext['app']['request'] }[], address = '203.0.113.7', log: string[] = []) => {
    let next = 0;
    return (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      const { signal: _signal, ...rest } = init ?? {};
      log.push(new URL(String(input)).pathname);
      return apps[next++ % apps.length]!.request(String(input), rest, { incoming: { socket: { remoteAddress: address } } });
    }) as typeof fetch;
  };

  it('limits the messages of a device per minute across two app instances: 429 with Retry-After, then again after the window', async () => {
    await reconfigure({ DS_DEVICE_MESSAGES_PER_MINUTE: '3' });
    ctx.clock.set('2026-03-15T10:00:15.000Z');
    const apps = [ctx.app, secondApp()];
    const d = await device(ctx, keys.installationKey, { fetch: roundRobin(apps) });
    await d.register();
    expect((await syncRaw(d, valid(), apps[0])).status).toBe(200);
    expect((await syncRaw(d, valid(), apps[1])).status).toBe(200);
    expect((await syncRaw(d, valid(), apps[0])).status).toBe(200);
    for (const app of apps) {
      const refused = await syncRaw(d, valid(), app);
      expect(refused.status).toBe(429);
      expect(refused.error!.code).toBe('RATE_LIMITED');
      expect(refused.headers.get('retry-after')).toBe('45');
    }
    // Another device is not limited by this one.
    const other = await device(ctx, keys.installationKey, { fetch: roundRobin(apps, '198.51.100.9') });
    await other.register();
    expect((await syncRaw(other, valid(), apps[1])).status).toBe(200);
    // The next minute the device may send again; nothing refused was counted.
    ctx.clock.advance(45_000);
    expect((await syncRaw(d, valid(), apps[1])).status).toBe(200);
    expect((await counters()).reduce((n, r) => n + Number(r.counter), 0)).toBe(5);
  });

  it('limits registrations per address across two app instances: 429 with Retry-After; other addresses register', async () => {
    await reconfigure({ DS_REGISTRATIONS_PER_ADDRESS_PER_HOUR: '2' });
    const apps = [ctx.app, secondApp()];
    const register = async (address: string) => {
      const d = await device(ctx, keys.installationKey, { fetch: roundRobin(apps, address) });
      try {
        await d.register();
        return 'registered';
      } catch (error) {
        return error as { status: number; code: string; retryAfterSeconds?: number };
      }
    };
    expect(await register('203.0.113.7')).toBe('registered');
    expect(await register('203.0.113.7')).toBe('registered');
    const refused = await register('203.0.113.7');
    expect(refused).toMatchObject({ status: 429, code: 'RATE_LIMITED', retryAfterSeconds: 3600 });
    expect(await register('198.51.100.9')).toBe('registered');
    expect(await ctx.database.db.selectFrom('devices').select('id').execute()).toHaveLength(3);
    ctx.clock.advance(3600_000);
    expect(await register('203.0.113.7')).toBe('registered');
  });

  it('the device client waits for Retry-After before it sends again, and a 429 is not a failed sync', async () => {
    await reconfigure({ DS_DEVICE_MESSAGES_PER_MINUTE: '2' });
    ctx.clock.set('2026-03-15T10:00:00.000Z');
    const sent: string[] = [];
    const timers: number[] = [];
    // The device syncs every 30 s (as a simulation may), less than the wait DS will ask for.
    const d = await device(ctx, keys.installationKey, {
      fetch: roundRobin([ctx.app], '203.0.113.7', sent),
      syncIntervalSeconds: 30,
      setTimer: (_fn, ms) => timers.push(ms),
      clearTimer: () => {},
    });
    await d.register();
    await d.versionCheck();
    d.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 3 });
    expect(await d.tick()).not.toBeNull();
    expect(timers.at(-1)).toBe(30_000);
    d.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 4 });
    const limited = await d.tick();
    expect(limited).toBeNull();
    expect(d.failures).toBe(0);
    expect(d.isStopped).toBe(false);
    expect(d.retryDelayMs).toBe(60_000);
    // The next sync is scheduled after the Retry-After, not after the sync interval.
    expect(timers.at(-1)).toBe(60_000);
    // Before that, nothing is sent.
    const syncs = () => sent.filter((p) => p.endsWith('/sync')).length;
    const before = syncs();
    ctx.clock.advance(30_000);
    const early = await d.syncOnce();
    expect(early.ok).toBe(false);
    expect(syncs()).toBe(before);
    expect(d.failures).toBe(0);
    ctx.clock.advance(30_000);
    const after = await d.syncOnce();
    expect(after.ok && after.response.accepted).toEqual({ transactions: 1 });
    expect((await counters()).map((r) => Number(r.counter))).toEqual([7]);
  });
});
