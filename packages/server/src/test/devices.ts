import { DeviceClient, MemoryDeviceStore, type DeviceClientOptions, type DeviceKeyType } from '@ds/shared';
import type { TestContext } from './harness.js';

/** A fetch that sends requests straight into the app (no port). */
export function appFetch(ctx: TestContext): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const { signal: _signal, ...rest } = init ?? {};
    return ctx.app.request(String(input), rest);
  }) as typeof fetch;
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
