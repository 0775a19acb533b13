import { AdminClient } from '@ds/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appFetch } from '../../../../server/src/test/devices.js';
import { createTestContext, type TestContext } from '../../../../server/src/test/harness.js';
import type { ContextOptions } from '../../lib/context.js';
import { removeTempDirs, runDs } from '../../test/harness.js';
import { runSimulation, type SimulationOptions } from './engine.js';
import { verifySimulation } from './verify.js';

// `ds simulate` against a real DS app in the same process (fresh SQLite database, fake clock):
// the device clients and the admin client all go through `app.request`, no port.

const URL = 'https://ds.example.test';
let ds: TestContext;
let admin: string;
let installationKey: string;

beforeEach(async () => {
  ds = await createTestContext();
  admin = await ds.login();
  ({ installationKey } = await seed(ds, admin));
});

afterEach(async () => {
  await ds.close();
  await removeTempDirs();
});

/** A fetch that sends requests straight into the app (as the server's device tests do). */
/** Organization acme, label acme-web and version 3.8.1; answers the installation key. */
async function seed(context: TestContext, token: string): Promise<{ installationKey: string }> {
  await context.request('PUT', '/v3_5/admin/organizations/acme', { token, body: {} });
  await context.request('PUT', '/v3_5/admin/labels/acme-web', { token, body: { organization: 'acme' } });
  const version = await context.request('PUT', '/v3_5/admin/versions/3.8.1', {
    token,
    body: { installers: [{ os: 'win64', uri: 'https://cdn.example.test/t1c-win64.exe' }] },
  });
  if (version.status !== 201) throw new Error(JSON.stringify(version.body));
  return { installationKey: version.body.data.installationApiKey as string };
}

interface SimulateRun {
  fetch?: typeof fetch;
  env?: NodeJS.ProcessEnv;
  stderrTerminal?: boolean;
  onSignal?: ContextOptions['onSignal'];
}

function simulate(args: string[], options: SimulateRun = {}) {
  return runDs(['simulate', '--url', URL, ...args], {
    env: { DS_TOKEN: admin, ...options.env },
    overrides: {
      fetch: options.fetch ?? appFetch(ds),
      clock: ds.clock,
      stderrTerminal: options.stderrTerminal ?? false,
      ...(options.onSignal ? { onSignal: options.onSignal } : {}),
    },
  });
}

/** The appFetch, calling `after` with every sync DS answered. */
function countingSyncs(after: (answered: number) => void): typeof fetch {
  const base = appFetch(ds);
  let answered = 0;
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const response = await base(input, init);
    if (String(input).endsWith('/sync') && response.ok) after(++answered);
    return response;
  }) as typeof globalThis.fetch;
}

const simulationOptions = (): SimulationOptions => ({
  baseUrl: URL,
  installationKey,
  devices: 3,
  syncs: 2,
  concurrency: 4,
  keyType: 'ec',
  intervalMs: 0,
  labels: ['acme-web'],
  seed: 21,
  fetch: appFetch(ds),
  clock: ds.clock,
});

/** What the database holds, independent of the code under test. */
async function database() {
  const db = ds.database.db;
  const devices = await db.selectFrom('devices').select(['id', 'status', 'osName', 'version', 'lastSyncAt']).execute();
  const deviceCounters = (await db.selectFrom('deviceCounters').select(['deviceId', 'label', 'module', 'useCase', 'month', 'counter']).execute()).map((r) => ({
    ...r,
    counter: Number(r.counter),
  }));
  const daily = (await db.selectFrom('labelDailyCounters').select(['label', 'day', 'counter']).execute()).map((r) => ({ ...r, counter: Number(r.counter) }));
  const labels = await db.selectFrom('deviceLabels').select(['deviceId', 'label']).execute();
  const userAgents = await db.selectFrom('deviceUserAgents').select(['deviceId', 'browserName']).execute();
  const sum = (rows: { counter: number }[]) => rows.reduce((total, r) => total + r.counter, 0);
  return { devices, deviceCounters, daily, labels, userAgents, deviceTotal: sum(deviceCounters), dailyTotal: sum(daily) };
}

/** The per-device counters as a device-id-free, order-free picture: equal for equal seeds. */
function counterPicture(rows: { deviceId: string; label: string; module: string; useCase: string; counter: number }[]): string[] {
  const byDevice = new Map<string, string[]>();
  for (const r of rows) byDevice.set(r.deviceId, [...(byDevice.get(r.deviceId) ?? []), `${r.label}/${r.module}/${r.useCase}=${r.counter}`]);
  return [...byDevice.values()].map((list) => list.sort().join(' ')).sort();
}

describe('ds simulate against a real DS', () => {
  it('--devices 5 --syncs 3 --verify --json: every device registers, syncs 3 times, and DS counted exactly what was acknowledged', async () => {
    const r = await simulate(['--installation-key', installationKey, '--devices', '5', '--syncs', '3', '--verify', '--seed', '7', '--json']);
    expect(r.stderr).toMatch(/^verify: 5 devices, \d+ transactions, all counted exactly\n$/);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({
      url: URL,
      version: '3.8.1',
      seed: 7,
      devices: 5,
      registrations: 5,
      registrationFailures: 0,
      // At start, and before each later sync (as T1C checks at each sync).
      versionChecks: 15,
      versionCheckFailures: 0,
      syncsOk: 15,
      syncsFailed: 0,
      failures: 0,
      errors: {},
      stoppedDevices: 0,
      unacknowledgedEntries: 0,
    });
    expect(Object.values(summary.keyTypes as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(5);
    expect(summary.syncsPerSecond).toBeGreaterThan(0);
    expect(summary.syncLatencyMs.p50).toBeGreaterThan(0);
    expect(summary.syncLatencyMs.p99).toBeGreaterThanOrEqual(summary.syncLatencyMs.p50);
    // 1-6 entries per sync, each with a count from 1 to 50.
    expect(summary.transactionEntries).toBeGreaterThanOrEqual(15);
    expect(summary.transactionEntries).toBeLessThanOrEqual(90);
    expect(summary.transactionsSent).toBeGreaterThanOrEqual(summary.transactionEntries);
    expect(summary.transactionsSent).toBeLessThanOrEqual(summary.transactionEntries * 50);
    expect(summary.verify).toEqual({ ok: true, month: '2026-03', devices: 5, transactions: summary.transactionsSent, differences: [] });
    expect(r.stderr).toBe(`verify: 5 devices, ${summary.transactionsSent} transactions, all counted exactly\n`);

    const db = await database();
    expect(db.devices).toHaveLength(5);
    expect(db.deviceTotal).toBe(summary.transactionsSent);
    expect(db.dailyTotal).toBe(summary.transactionsSent);
    expect(new Set(db.daily.map((d) => d.day))).toEqual(new Set(['2026-03-15']));
    expect(new Set(db.deviceCounters.map((c) => c.month))).toEqual(new Set(['2026-03']));
    // Without --labels the web apps are the labels the admin API lists: the seed made one.
    expect(new Set(db.labels.map((l) => l.label))).toEqual(new Set(['acme-web']));
    expect(new Set(db.userAgents.map((u) => u.deviceId)).size).toBe(5);
    for (const device of db.devices) {
      expect(device.version).toBe('3.8.1');
      expect(['Windows', 'macOS', 'Linux']).toContain(device.osName);
      expect(['ACTIVE', 'UPDATABLE', 'ERROR', 'INACTIVE']).toContain(device.status);
      expect(device.lastSyncAt).toBe('2026-03-15T10:00:00.000Z');
    }
  });

  it('--days 120: DS refuses the entries of months it no longer counts one by one; they are not acknowledged, and --verify is still exact', async () => {
    const r = await simulate(['--installation-key', installationKey, '--devices', '4', '--syncs', '3', '--days', '120', '--verify', '--seed', '5', '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    // 120 days back from 2026-03-15 reaches November: what is older than January is refused.
    expect(summary.rejectedEntries.DATE_TOO_OLD).toBeGreaterThan(0);
    expect(Object.keys(summary.rejectedEntries)).toEqual(['DATE_TOO_OLD']);
    expect(summary).toMatchObject({ syncsFailed: 0, failures: 0, errors: {}, unacknowledgedEntries: 0, rateLimited: 0 });
    expect(summary.verify).toMatchObject({ ok: true, differences: [] });
    // What DS counted, month by month, is exactly what the devices had acknowledged: no refused entry.
    const months = new Map<string, number>();
    for (const a of summary.acknowledged as { month: string; transactions: number }[]) months.set(a.month, (months.get(a.month) ?? 0) + a.transactions);
    expect([...months.keys()].every((m) => m >= '2026-01')).toBe(true);
    const report = await ds.request('GET', '/v3_5/admin/reports/transactions?from=2025-01&by=month', { token: admin });
    expect(report.body.data).toEqual([...months].sort().map(([month, transactions]) => ({ month, transactions })));
  });

  it('prints the summary as a table and the verify line on stdout; no progress without a terminal', async () => {
    const r = await simulate(['--installation-key', installationKey, '--devices', '3', '--syncs', '2', '--verify', '--seed', '3', '--key-type', 'ec']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/registrations\s+│ 3 /);
    expect(r.stdout).toMatch(/version checks\s+│ 6 /);
    expect(r.stdout).toMatch(/syncs ok\s+│ 6 /);
    expect(r.stdout).toMatch(/versions\s+│ 3\.8\.1 3 /);
    expect(r.stdout).toMatch(/key types\s+│ ec 3 /);
    expect(r.stdout).toMatch(/sync latency p99 \(ms\)\s+│ [\d.]+ /);
    const sent = Number(/transactions sent\s+│ (\d+)/.exec(r.stdout)![1]);
    expect(r.stdout.endsWith(`verify: 3 devices, ${sent} transactions, all counted exactly\n`)).toBe(true);
    expect((await database()).deviceTotal).toBe(sent);
    expect(r.stderr).toBe('');
  });

  it('draws a progress line in place on a terminal and clears it at the end', async () => {
    const r = await simulate(['--installation-key', installationKey, '--devices', '2', '--syncs', '2', '--seed', '1', '--key-type', 'ec'], { stderrTerminal: true });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^\r\x1b\[2Ksimulate: \d\/2 devices registered, syncs \d ok, 0 failed, [\d.]+ sync\/s/);
    expect(r.stderr.endsWith('\r\x1b[2K')).toBe(true);
    expect(r.stdout).not.toContain('\r');
  });

  it('is repeatable with --seed: the same transactions per device, whatever order the devices ran in', async () => {
    const args = ['--installation-key', installationKey, '--devices', '4', '--syncs', '3', '--seed', '11', '--concurrency', '3', '--json'];
    const first = JSON.parse((await simulate(args)).stdout);
    const firstCounters = counterPicture((await database()).deviceCounters);
    await ds.close();
    ds = await createTestContext();
    admin = await ds.login();
    ({ installationKey } = await seed(ds, admin));
    args[1] = installationKey;
    const second = JSON.parse((await simulate([...args.slice(0, -3), '--concurrency', '1', '--json'])).stdout);
    expect(second.transactionsSent).toBe(first.transactionsSent);
    expect(second.transactionEntries).toBe(first.transactionEntries);
    expect(second.keyTypes).toEqual(first.keyTypes);
    expect(counterPicture((await database()).deviceCounters)).toEqual(firstCounters);
  });

  it('fails verify (exit 1) and lists the difference when DS counts something else than was acknowledged', async () => {
    // Tamper with one counter between the run and the verify: the first admin read of a device.
    const base = appFetch(ds);
    let expectedLine = '';
    let tampered: string | undefined;
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const match = /\/v3_5\/admin\/devices\/([^/?]+)$/.exec(new globalThis.URL(String(input)).pathname);
      if (match && !tampered) {
        tampered = match[1]!;
        const db = ds.database.db;
        const row = await db.selectFrom('deviceCounters').selectAll().where('deviceId', '=', tampered).orderBy('label').orderBy('module').orderBy('useCase').executeTakeFirstOrThrow();
        const before = Number(row.counter);
        await db
          .updateTable('deviceCounters')
          .set({ counter: before + 5 })
          .where('deviceId', '=', tampered)
          .where('label', '=', row.label)
          .where('module', '=', row.module)
          .where('useCase', '=', row.useCase)
          .execute();
        expectedLine = `  ${tampered}  ${row.label} / ${row.module} / ${row.useCase}: DS counted ${before + 5}, the device had ${before} acknowledged\n`;
      }
      return base(input, init);
    }) as typeof globalThis.fetch;
    const r = await simulate(['--installation-key', installationKey, '--devices', '5', '--syncs', '3', '--verify', '--seed', '7', '--json'], { fetch });
    expect(r.code).toBe(1);
    expect(tampered).toBeDefined();
    // --json: the error is the envelope, one line, after the differences.
    expect(r.stderr).toBe(`${expectedLine}{"success":false,"code":"FAILED","description":"verify: 1 difference on 1 of 5 devices","requestId":null}\n`);
    const summary = JSON.parse(r.stdout);
    expect(summary.syncsOk).toBe(15);
    expect(summary.verify.ok).toBe(false);
    expect(summary.verify.differences).toEqual([
      expect.objectContaining({ device: tampered, label: 'acme-web', actual: expect.any(Number), expected: expect.any(Number) }),
    ]);
    const [difference] = summary.verify.differences;
    expect(difference.actual - difference.expected).toBe(5);
  });

  it('counts a batch once when its answer was lost: the retry under the same jti is acknowledged, verify passes', async () => {
    const base = appFetch(ds);
    const lost = new Set<string>();
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const response = await base(input, init);
      const match = /\/devices\/([^/]+)\/sync$/.exec(String(input));
      // DS processed the first sync of each device, but its answer never arrives.
      if (match && !lost.has(match[1]!)) {
        lost.add(match[1]!);
        throw new TypeError('fetch failed: connection reset');
      }
      return response;
    }) as typeof globalThis.fetch;
    const r = await simulate(['--installation-key', installationKey, '--devices', '3', '--syncs', '3', '--verify', '--seed', '5', '--json'], { fetch });
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ syncsOk: 6, syncsFailed: 3, failures: 3, errors: { NETWORK_ERROR: 3 }, unacknowledgedEntries: 0 });
    expect(summary.verify).toMatchObject({ ok: true, devices: 3, transactions: summary.transactionsSent });
    expect((await database()).deviceTotal).toBe(summary.transactionsSent);
  });

  it('--urls spreads the devices over the nodes and moves them on when a node fails, even after it counted a sync it could not answer', async () => {
    const base = appFetch(ds);
    const perNode = new Map<string, number>();
    let bDown = false;
    let lostAnswers = 0;
    // Node b counts its first syncs, then dies while answering one (the sync is counted, the
    // answer never arrives) and refuses connections from then on.
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new globalThis.URL(String(input));
      const node = url.hostname;
      if (node === 'b.ds.test' && bDown) throw new TypeError('fetch failed: connect ECONNREFUSED');
      const response = await base(`${URL}${url.pathname}${url.search}`, init);
      perNode.set(node, (perNode.get(node) ?? 0) + 1);
      if (node === 'b.ds.test' && url.pathname.endsWith('/sync') && response.ok && (perNode.get(node) ?? 0) >= 8) {
        bDown = true;
        lostAnswers++;
        throw new TypeError('fetch failed: socket hang up');
      }
      return response;
    }) as typeof globalThis.fetch;
    const r = await simulate(
      ['--installation-key', installationKey, '--urls', 'https://a.ds.test,https://b.ds.test/', '--urls', 'https://c.ds.test', '--devices', '6', '--syncs', '4', '--verify', '--seed', '3', '--json'],
      { fetch },
    );
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.url).toBe('https://a.ds.test,https://b.ds.test,https://c.ds.test');
    // Every node served devices; the failure of b cost no sync: each request went on to the next node.
    // (The admin calls, labels and verify, go to --url.)
    expect([...perNode.keys()].sort()).toEqual(['a.ds.test', 'b.ds.test', 'c.ds.test', 'ds.example.test']);
    expect(lostAnswers).toBe(1);
    expect(summary.failovers).toBeGreaterThanOrEqual(1);
    expect(summary).toMatchObject({ registrations: 6, syncsOk: 24, syncsFailed: 0, failures: 0, unacknowledgedEntries: 0 });
    // The sync b counted without answering was sent again to c under its jti: counted once.
    expect(summary.verify).toMatchObject({ ok: true, devices: 6, transactions: summary.transactionsSent });
    expect((await database()).deviceTotal).toBe(summary.transactionsSent);
  });

  it('--urls names what is not an http(s) URL', async () => {
    const notUrl = await simulate(['--installation-key', installationKey, '--urls', 'https://a.ds.test,node-b:3000']);
    expect(notUrl.code).toBe(1);
    expect(notUrl.stderr).toMatch(/"node-b:3000" is not an http or https URL/);
    const garbage = await simulate(['--installation-key', installationKey, '--urls', 'not a url']);
    expect(garbage.stderr).toMatch(/"not a url" is not a URL/);
  });

  it('stops a device after syncFailureLimit failed syncs in a row and exits 1 when every sync failed', async () => {
    const put = await ds.request('PUT', '/v3_5/admin/defaults/context-config', { token: admin, body: { config: { syncFailureLimit: 2 } } });
    expect(put.status).toBe(200);
    const base = appFetch(ds);
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      if (String(input).endsWith('/sync')) {
        return new Response(JSON.stringify({ success: false, code: 'DATABASE_UNAVAILABLE', description: 'down', requestId: 'r' }), { status: 503 });
      }
      return base(input, init);
    }) as typeof globalThis.fetch;
    const r = await simulate(['--installation-key', installationKey, '--devices', '3', '--syncs', '5', '--seed', '2', '--json'], { fetch });
    expect(r.code).toBe(1);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ registrations: 3, syncsOk: 0, syncsFailed: 6, stoppedDevices: 3, errors: { DATABASE_UNAVAILABLE: 6 }, transactionsSent: 0 });
    const error = JSON.parse(r.stderr.trim().split('\n').at(-1)!);
    expect(error).toMatchObject({ success: false, code: 'FAILED', description: 'all 6 syncs failed (6 DATABASE_UNAVAILABLE)' });
    expect(error.hint).toContain('devices stopped: 2 syncs failed in a row (limit 2)');
  });

  it('stops every device whose version is not allowed any more (exit 1: no device got to sync)', async () => {
    const put = await ds.request('PUT', '/v3_5/admin/versions/3.8.1', { token: admin, body: { allowed: false } });
    expect(put.status).toBe(200);
    const r = await simulate(['--installation-key', installationKey, '--devices', '2', '--seed', '2']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/version checks\s+│ 2 /);
    expect(r.stdout).toMatch(/stopped devices\s+│ 2 /);
    expect(r.stderr).toContain('error: no device got to sync');
    expect(r.stderr).toContain('hint: devices stopped: version 3.8.1 is no longer allowed');
  });

  it('uses demo-label when not logged in, and takes the key from DS_INSTALLATION_KEY', async () => {
    const r = await simulate(['--devices', '2', '--syncs', '1', '--seed', '4'], { env: { DS_TOKEN: undefined, DS_INSTALLATION_KEY: installationKey } });
    expect(r.code).toBe(0);
    expect(new Set((await database()).labels.map((l) => l.label))).toEqual(new Set(['demo-label']));
  });

  it('--labels and --key-type choose the web apps and the device keys', async () => {
    const r = await simulate(['--installation-key', installationKey, '--devices', '4', '--syncs', '2', '--seed', '9', '--labels', 'shop,bank', '--labels', 'tax', '--key-type', 'rsa', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).keyTypes).toEqual({ rsa: 4 });
    const used = new Set((await database()).labels.map((l) => l.label));
    for (const label of used) expect(['shop', 'bank', 'tax']).toContain(label);
    const keyAlgs = await ds.database.db.selectFrom('devices').select('keyAlg').execute();
    for (const { keyAlg } of keyAlgs) expect(keyAlg).toContain('RS256');
  });

  it('--duration syncs on past the --syncs default until interrupted (SIGINT): devices finish their request and the summary follows', async () => {
    // Ended by a condition, not by the wall clock: the signal comes once DS has answered 8 syncs,
    // more than the 2 devices would make with --syncs (default 3) instead of --duration.
    let interrupt: ((signal: NodeJS.Signals) => void) | undefined;
    const fetch = countingSyncs((answered) => {
      if (answered === 8) interrupt?.('SIGINT');
    });
    const onSignal: ContextOptions['onSignal'] = (handler) => {
      interrupt = handler;
      return () => {};
    };
    const r = await simulate(['--installation-key', installationKey, '--devices', '2', '--duration', '1h', '--key-type', 'ec', '--seed', '1', '--json'], { fetch, onSignal });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('\nSIGINT: stopping; devices finish the request they are in\n');
    const summary = JSON.parse(r.stdout);
    // The other device may have had a sync in flight when the signal came.
    expect(summary.syncsOk).toBeGreaterThanOrEqual(8);
    expect(summary.syncsOk).toBeLessThanOrEqual(9);
    expect(summary.syncsFailed).toBe(0);
    expect((await database()).deviceTotal).toBe(summary.transactionsSent);
  });

  describe.each([
    { name: 'no installation key', args: [], env: {}, message: 'error: missing --installation-key (or DS_INSTALLATION_KEY)' },
    { name: 'a refused installation key', args: ['--installation-key', 'ds_ins_wrong'], env: {}, message: `error: the installation key was refused by DS at ${URL}: INVALID_API_KEY` },
    { name: '--syncs with --duration', args: ['--installation-key', 'k', '--syncs', '2', '--duration', '5s'], env: {}, message: "error: option '--syncs <n>' cannot be used with option '--duration <duration>'" },
    { name: '--verify without a login', args: ['--installation-key', 'k', '--verify'], env: { DS_TOKEN: undefined }, message: 'error: not logged in', code: 4 },
  ])('refuses $name before any device request', ({ args, env, message, code }) => {
    it('and exits with an error', async () => {
      const seen: string[] = [];
      const base = appFetch(ds);
      const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
        seen.push(new globalThis.URL(String(input)).pathname);
        return base(input, init);
      }) as typeof globalThis.fetch;
      const r = await simulate(args, { env, fetch });
      expect(r.code).toBe(code ?? 1);
      expect(r.stderr).toContain(message);
      expect(seen.filter((path) => path.startsWith('/v3_5/devices'))).toEqual([]);
      expect((await database()).devices).toEqual([]);
    });
  });
});

describe('runSimulation', () => {
  it('with durationMs, syncs until that much time has passed on its elapsed function', async () => {
    // Time moves only when DS answers a sync, 100 ms each: the 1 s deadline is the 10th answer
    // however fast or busy the machine is.
    let now = 0;
    const fetch = countingSyncs(() => (now += 100));
    const { summary } = await runSimulation({ ...simulationOptions(), devices: 2, durationMs: 1000, fetch, elapsed: () => now });
    // Each device stops at its first look at the time after the deadline; the other may have had
    // a sync in flight then.
    expect(summary.syncsOk).toBeGreaterThanOrEqual(10);
    expect(summary.syncsOk).toBeLessThanOrEqual(11);
    expect(summary.elapsedSeconds).toBe(summary.syncsOk / 10);
    expect(summary.syncsFailed).toBe(0);
    expect((await database()).deviceTotal).toBe(summary.transactionsSent);
  });
});

describe('verifySimulation', () => {
  it('reports every difference when compared with an unrelated set of devices', async () => {
    const { devices } = await runSimulation(simulationOptions());
    const client = new AdminClient({ baseUrl: URL, token: admin, fetch: appFetch(ds) });
    expect((await verifySimulation(client, devices, '2026-03')).ok).toBe(true);

    // The same acknowledgements, attributed to other devices (ids rotated), plus one DS never saw.
    const ids = devices.map((d) => d.id);
    const unrelated = devices.map((d, i) => ({ ...d, id: ids[(i + 1) % ids.length]! }));
    unrelated.push({ ...devices[0]!, id: '00000000-0000-4000-8000-000000000000' });
    const result = await verifySimulation(client, unrelated, '2026-03');
    expect(result.ok).toBe(false);
    expect(result.devices).toBe(4);
    expect(new Set(result.differences.map((d) => d.device))).toEqual(new Set([...ids, '00000000-0000-4000-8000-000000000000']));
    expect(result.differences).toContainEqual({ device: '00000000-0000-4000-8000-000000000000', problem: 'DS does not know this device' });
  });

  it('compares only the month asked for', async () => {
    const { devices } = await runSimulation(simulationOptions());
    const client = new AdminClient({ baseUrl: URL, token: admin, fetch: appFetch(ds) });
    const other = await verifySimulation(client, devices, '2026-02');
    // Nothing was acknowledged for February, and DS has only March counters: nothing to compare.
    expect(other).toMatchObject({ ok: true, transactions: 0, differences: [] });
  });
});
