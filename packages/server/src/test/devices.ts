import { DEVICE_ALGORITHMS, DeviceClient, MemoryDeviceStore, deviceKeys, sealMessage, type DeviceClientOptions, type DeviceKeyType } from '@ds/shared';
import { importJWK, type CryptoKey } from 'jose';
import type { TestContext } from './harness.js';

/** A fetch that sends requests straight into the app (no port). */
export function appFetch(ctx: TestContext): typeof fetch {
  return (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const { signal: _signal, ...rest } = init ?? {};
    return ctx.app.request(String(input), rest);
  }) as typeof fetch;
}

/** Creates each organization with its label: acme with acme-web and globex with globex-web unless told. */
export async function seedOrganizations(ctx: TestContext, admin: string, pairs: readonly (readonly [string, string])[] = [['acme', 'acme-web'], ['globex', 'globex-web']]) {
  for (const [org, label] of pairs) {
    await ctx.request('PUT', `/v3_5/admin/organizations/${org}`, { token: admin, body: {} });
    await ctx.request('PUT', `/v3_5/admin/labels/${label}`, { token: admin, body: { organization: org } });
  }
}

/** Creates org, label and version 3.8.1 (with a win64 installer) and answers their keys. */
export async function seed(ctx: TestContext, admin: string, options: { version?: string; body?: Record<string, unknown> } = {}) {
  await ctx.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} });
  const label = await ctx.request('PUT', '/v3_5/admin/labels/acme-web', { token: admin, body: { organization: 'acme' } });
  const version = await ctx.request('PUT', `/v3_5/admin/versions/${options.version ?? '3.8.1'}`, {
    token: admin,
    body: { installers: [{ os: 'win64', uri: 'https://cdn.example.test/t1c-win64.exe' }, { os: 'linux64', uri: 'https://cdn.example.test/t1c-linux64.deb' }], ...options.body },
  });
  if (version.status !== 201) throw new Error(JSON.stringify(version.body));
  return { labelKey: label.body.data.apiKey as string, installationKey: version.body.data.installationApiKey as string };
}

/** A device client of `device()` that has registered. */
export async function registeredDevice(ctx: TestContext, installationKey: string, options: Parameters<typeof device>[2] = {}) {
  const client = await device(ctx, installationKey, options);
  await client.register();
  return client;
}

/** A device client talking to the test app with the test clock. */
export function device(ctx: TestContext, installationKey: string, options: Partial<DeviceClientOptions> & { keyType?: DeviceKeyType } = {}) {
  return DeviceClient.create({
    baseUrl: 'https://ds.example.test',
    installationKey,
    version: '3.8.1',
    os: { name: 'Windows', version: '11', architecture: 'x64' },
    keyType: 'ec',
    store: new MemoryDeviceStore(),
    clock: ctx.clock,
    fetch: appFetch(ctx),
    ...options,
  });
}

/**
 * A device message sealed to DS's current encryption key and signed with `signer`'s key, as the
 * device client would send it; `options` bend it (another issuer, a reused jti, another time).
 */
export async function sealMessageAs(
  ctx: TestContext,
  signer: DeviceClient,
  payload: object,
  options: { issuer?: string; now?: number; lifetime?: number; jti?: string; audience?: string } = {},
): Promise<string> {
  const state = signer.snapshot();
  const enc = ctx.keys.current('enc');
  return sealMessage(payload, {
    issuer: options.issuer ?? state.deviceId!,
    signingKey: (await deviceKeys(state)).sign,
    signingAlg: DEVICE_ALGORITHMS[state.keyType].sig,
    encryptionKey: (await importJWK(enc.publicJwk, enc.alg)) as CryptoKey,
    encryptionAlg: enc.alg,
    encryptionKid: enc.kid,
    now: options.now ?? Math.floor(ctx.clock.now().getTime() / 1000),
    lifetimeSeconds: options.lifetime ?? 300,
    jti: options.jti ?? crypto.randomUUID(),
    audience: options.audience,
  });
}
