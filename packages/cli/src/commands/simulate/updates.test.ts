import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { appFetch } from '../../../../server/src/test/devices.js';
import { createTestContext, type TestContext } from '../../../../server/src/test/harness.js';
import { removeTempDirs, runDs, tempDir } from '../../test/harness.js';
import type { DailyDeviceVersion } from './engine.js';

// Simulated devices that update: `ds simulate` against a real DS app in the same process (fresh
// database, the DS's fake clock shared with the devices), with installers that are real files DS
// streams, so an update really downloads its installer through DS's download URL.

const URL = 'https://ds.example.test';
const OSES = ['win32', 'win64', 'macos', 'macosarm', 'linux32', 'linux64'] as const;
let ds: TestContext;
let admin: string;
let installationKey: string;

/** A fetch that sends requests straight into the app (no port). */
/** Writes an installer of random bytes per OS under DS's installer root; answers the version's installers. */
async function installers(version: string) {
  const list = [];
  for (const os of OSES) {
    const bytes = randomBytes(3000 + OSES.indexOf(os));
    const path = join(ds.installerRoot, `t1c-${version}-${os}.bin`);
    await writeFile(path, bytes);
    list.push({ os, uri: pathToFileURL(path).href, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return list;
}

async function putVersion(id: string, body: Record<string, unknown>) {
  const r = await ds.request('PUT', `/v3_5/admin/versions/${id}`, { token: admin, body: { installers: await installers(id), ...body } });
  if (r.status !== 201 && r.status !== 200) throw new Error(JSON.stringify(r.body));
  return r.body.data;
}

beforeEach(async () => {
  ds = await createTestContext();
  admin = await ds.login();
  await ds.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} });
  await ds.request('PUT', '/v3_5/admin/labels/acme-web', { token: admin, body: { organization: 'acme' } });
  installationKey = (await putVersion('3.8.1', { recommended: true })).installationApiKey;
});

afterEach(async () => {
  await ds.close();
  await removeTempDirs();
});

function simulate(args: string[], clock: { now(): Date; advance?(ms: number): void | Promise<void> } = ds.clock) {
  return runDs(['simulate', '--url', URL, '--installation-key', installationKey, '--key-type', 'ec', '--labels', 'acme-web', ...args], {
    env: { DS_TOKEN: admin },
    overrides: { fetch: appFetch(ds), clock, stderrTerminal: false },
  });
}

async function devices() {
  return ds.database.db.selectFrom('devices').select(['id', 'version', 'status', 'lastSyncAt']).execute();
}

async function readLog(path: string): Promise<DailyDeviceVersion[]> {
  return (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as DailyDeviceVersion);
}

describe('ds simulate: devices install the updates DS offers', () => {
  it('downloads the recommended version through DS, checks it, and reports it from the next sync on', async () => {
    await putVersion('3.9.0', { recommended: true });
    const downloads: string[] = [];
    const base = appFetch(ds);
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const response = await base(input, init);
      if (String(input).includes('/downloads/')) downloads.push(`${new globalThis.URL(String(input)).pathname} ${response.status}`);
      return response;
    }) as typeof globalThis.fetch;
    const r = await runDs(['simulate', '--url', URL, '--installation-key', installationKey, '--key-type', 'ec', '--labels', 'acme-web', '--devices', '6', '--syncs', '2', '--seed', '3', '--json'], {
      env: { DS_TOKEN: admin },
      overrides: { fetch, clock: ds.clock, stderrTerminal: false },
    });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ version: '3.8.1', registrations: 6, updatesInstalled: 6, updateFailures: 0, versions: { '3.9.0': 6 }, syncsOk: 12, failures: 0 });
    // At start and before the second sync: one check a sync.
    expect(summary.versionChecks).toBe(12);
    // Each device fetched its own OS's installer of 3.9.0 from DS, once.
    expect(downloads).toHaveLength(6);
    for (const d of downloads) expect(d).toMatch(/^\/v3_5\/downloads\/installers\/(win32|win64|macos|macosarm|linux32|linux64)\/versions\/3\.9\.0 200$/);
    // DS saw every device on 3.9.0 (its first sync already reported it), and counted the downloads:
    // each is recorded once DS has seen its response end, which may come after the device has
    // read the last byte and the simulation has finished: waited for (a condition).
    for (const device of await devices()) expect(device.version).toBe('3.9.0');
    const completed = async () =>
      (await ds.database.db.selectFrom('downloadEvents').select(['version', 'complete']).execute()).filter((e) => e.version === '3.9.0' && Number(e.complete) === 1);
    await vi.waitFor(async () => expect(await completed()).toHaveLength(6), { timeout: 30_000, interval: 20 });
    await ds.app.services.background.drain(15_000);
    expect(await completed()).toHaveLength(6);
  });

  it('installs a mandatory version and keeps running instead of stopping', async () => {
    await putVersion('3.9.0', { mandatory: true });
    const r = await simulate(['--devices', '3', '--syncs', '2', '--seed', '4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ updatesInstalled: 3, stoppedDevices: 0, syncsOk: 6, versions: { '3.9.0': 3 } });
  });

  describe.each([
    { name: 'other bytes of the same size', corrupt: (b: Uint8Array) => b.map((x, i) => (i === 7 ? x ^ 0xff : x)) },
    { name: 'fewer bytes than Content-Length', corrupt: (b: Uint8Array) => b.slice(0, b.length - 10) },
  ])('an installer that arrives as $name', ({ corrupt }) => {
    it('is refused: the device stays on its version and reports it', async () => {
      await putVersion('3.9.0', { recommended: true });
      // Something between DS and the device changes the bytes; DS's headers say what they were.
      const base = appFetch(ds);
      const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
        const response = await base(input, init);
        if (!String(input).includes('/downloads/')) return response;
        const bytes = corrupt(new Uint8Array(await response.arrayBuffer()));
        return new Response(bytes, { status: response.status, headers: response.headers });
      }) as typeof globalThis.fetch;
      const r = await runDs(['simulate', '--url', URL, '--installation-key', installationKey, '--key-type', 'ec', '--labels', 'acme-web', '--devices', '3', '--syncs', '2', '--seed', '5', '--json'], {
        env: { DS_TOKEN: admin },
        overrides: { fetch, clock: ds.clock, stderrTerminal: false },
      });
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout);
      expect(summary).toMatchObject({ updatesInstalled: 0, updateFailures: 6, versions: { '3.8.1': 3 }, syncsOk: 6 });
      expect(summary.errors).toEqual({ BAD_RESPONSE: 6 });
      for (const device of await devices()) expect(device.version).toBe('3.8.1');
    });
  });

  it('an installer DS refuses to serve (changed on disk since it was saved) is not installed', async () => {
    await putVersion('3.9.0', { recommended: true });
    for (const os of OSES) await writeFile(join(ds.installerRoot, `t1c-3.9.0-${os}.bin`), randomBytes(3000 + OSES.indexOf(os)));
    const r = await simulate(['--devices', '3', '--syncs', '2', '--seed', '5', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ updatesInstalled: 0, updateFailures: 6, versions: { '3.8.1': 3 } });
    expect(Object.keys(summary.errors)).toHaveLength(1);
    for (const device of await devices()) expect(device.version).toBe('3.8.1');
  });

  it('--no-updates: one version check at start, no download, every device stays', async () => {
    await putVersion('3.9.0', { recommended: true });
    const r = await simulate(['--devices', '3', '--syncs', '3', '--seed', '6', '--no-updates', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ versionChecks: 3, updatesInstalled: 0, versions: { '3.8.1': 3 } });
    expect(await ds.database.db.selectFrom('downloadEvents').select('id').execute()).toEqual([]);
  });

  it('nothing offered, nothing installed: devices on the recommended version stay', async () => {
    await putVersion('3.9.0', { recommended: false });
    const r = await simulate(['--devices', '3', '--syncs', '2', '--seed', '6', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ updatesInstalled: 0, versions: { '3.8.1': 3 } });
  });
});

describe('ds simulate in simulated time, with a faulty release and a log', () => {
  it('--interval passes on the shared clock; --fail-rate makes that share of updated devices report ERROR; --log has each device per day', async () => {
    const dir = await tempDir();
    const log = join(dir, 'versions.jsonl');
    const started = ds.clock.now().getTime();
    // 3.9.0 becomes recommended in the afternoon of the second day: devices are offered it then.
    const moves: number[] = [];
    const clock = {
      now: () => ds.clock.now(),
      advance: async (ms: number) => {
        moves.push(ms);
        const before = ds.clock.now();
        ds.clock.advance(ms);
        if (before.toISOString() < '2026-03-16T14:00:00.000Z' && ds.clock.now().toISOString() >= '2026-03-16T14:00:00.000Z') {
          admin = await ds.login();
          await putVersion('3.9.0', { recommended: true });
        }
      },
    };
    // 40 devices, a sync every 2 h over three days (960 syncs): the same days and offer as hourly
    // syncs, in a quarter of the work (60 hourly devices took 55 s and timed out with a core busy).
    const n = 40;
    const r = await simulate(
      ['--devices', String(n), '--syncs', '24', '--interval', '2h', '--seed', '77', '--fail-version', '3.9.0', '--fail-rate', '30%', '--error-rate', '0', '--concurrency', '16', '--log', log, '--json'],
      clock,
    );
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    // 24 syncs two hours apart from 2026-03-15T10:00: the last at 2026-03-17T08:00, 46 hours later, none waited for.
    expect(ds.clock.now().getTime() - started).toBe(46 * 3600_000);
    expect(moves.every((ms) => ms === 2 * 3600_000)).toBe(true);
    expect(summary).toMatchObject({ syncsOk: n * 24, failures: 0, updatesInstalled: n, versions: { '3.9.0': n } });

    const rows = await devices();
    for (const d of rows) {
      expect(d.version).toBe('3.9.0');
      expect(d.lastSyncAt).toBe('2026-03-17T08:00:00.000Z');
    }
    // About 30 % report ERROR (binomial, n = 40: mean 12, sd 2.9; the seed fixes which).
    const failing = rows.filter((d) => d.status === 'ERROR').length;
    expect(failing).toBeGreaterThanOrEqual(12 - 3 * 2.9);
    expect(failing).toBeLessThanOrEqual(12 + 3 * 2.9);

    const lines = await readLog(log);
    expect(new Set(lines.map((l) => l.day))).toEqual(new Set(['2026-03-15', '2026-03-16', '2026-03-17']));
    expect(lines).toHaveLength(3 * n);
    const onDay = (day: string) => lines.filter((l) => l.day === day);
    // Day one: everyone on 3.8.1 and healthy (--error-rate 0). Day two ends after the 14:00 offer.
    expect(onDay('2026-03-15').every((l) => l.version === '3.8.1' && l.status !== 'ERROR')).toBe(true);
    expect(onDay('2026-03-16').every((l) => l.version === '3.9.0')).toBe(true);
    // The log agrees with DS device by device, and ERROR only ever comes with the faulty version.
    const last = new Map(onDay('2026-03-17').map((l) => [l.device, l]));
    for (const d of rows) expect(last.get(d.id)).toMatchObject({ version: d.version, status: d.status, labels: ['acme-web'] });
    expect(lines.filter((l) => l.status === 'ERROR').every((l) => l.version === '3.9.0')).toBe(true);
    expect(onDay('2026-03-17').filter((l) => l.status === 'ERROR')).toHaveLength(failing);
  });

  it('--duration is measured on the moved clock too: 3h of hourly syncs is 3 syncs a device', async () => {
    const started = ds.clock.now().getTime();
    const clock = { now: () => ds.clock.now(), advance: (ms: number) => ds.clock.advance(ms) };
    const r = await simulate(['--devices', '4', '--duration', '3h', '--interval', '1h', '--seed', '9', '--json'], clock);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ syncsOk: 12, syncsFailed: 0 });
    expect(ds.clock.now().getTime() - started).toBe(3 * 3600_000);
  });

  it('a version check DS answers 429 is waited out, not a failure', async () => {
    // Two messages a round (check and sync) against a limit of three a minute.
    await ds.close();
    ds = await createTestContext({ configOverrides: { DS_DEVICE_MESSAGES_PER_MINUTE: '3' } });
    admin = await ds.login();
    installationKey = (await putVersion('3.8.1', { recommended: true })).installationApiKey;
    const clock = { now: () => ds.clock.now(), advance: (ms: number) => ds.clock.advance(ms) };
    const r = await simulate(['--devices', '2', '--syncs', '4', '--interval', '1s', '--seed', '9', '--json'], clock);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ syncsOk: 8, syncsFailed: 0, versionCheckFailures: 0, failures: 0, errors: {} });
    expect(summary.rateLimited).toBeGreaterThan(0);
  });

  it('the same seed fails the same devices', async () => {
    await putVersion('3.9.0', { recommended: true });
    const args = ['--devices', '20', '--syncs', '2', '--seed', '8', '--fail-version', '3.9.0', '--fail-rate', '50%', '--error-rate', '0', '--json'];
    expect((await simulate(args)).code).toBe(0);
    expect((await simulate(args)).code).toBe(0);
    // Two runs, 40 devices: each simulated machine (its seeded host name) twice, in the same state.
    const rows = await ds.database.db.selectFrom('devices').select(['hostname', 'status']).execute();
    const byHost = new Map<string, string[]>();
    for (const d of rows) byHost.set(d.hostname!, [...(byHost.get(d.hostname!) ?? []), d.status]);
    expect(byHost.size).toBe(20);
    for (const statuses of byHost.values()) expect(statuses).toEqual([statuses[0], statuses[0]]);
    const failing = [...byHost.values()].filter((s) => s[0] === 'ERROR').length;
    expect(failing).toBeGreaterThan(0);
    expect(failing).toBeLessThan(20);
  });

  describe.each([
    { name: '--fail-rate without --fail-version', args: ['--fail-rate', '30%'], message: 'error: --fail-rate needs --fail-version' },
    { name: 'a rate above 100%', args: ['--fail-version', '3.9.0', '--fail-rate', '130%'], message: "error: option '--fail-rate <percent>' argument '130%' is invalid. expected a percentage from 0% to 100%, such as 30%" },
    { name: 'a rate that is no number', args: ['--error-rate', 'many'], message: "error: option '--error-rate <percent>' argument 'many' is invalid. expected a percentage" },
  ])('refuses $name', ({ args, message }) => {
    it('before any device request', async () => {
      const r = await simulate(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(message);
      expect(await devices()).toEqual([]);
    });
  });
});
