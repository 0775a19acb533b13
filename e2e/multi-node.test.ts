import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceClient, isRateLimited, MemoryDeviceStore, type DeviceCallError } from '@ds/shared';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cleanEnv, jsonLines, killServe, requireFromServer, ROOT, runDs, startDs, startServe, transactionsByKey, waitUntil as until, type ServeProcess, type TransactionRow } from './helpers.js';

// Several DS nodes on one PostgreSQL, proven under failure (issue 14). Three `ds serve` processes
// share a database; `ds simulate --urls` spreads devices over them; one node is killed with SIGKILL
// while devices sync through it, and a month boundary passes while they sync. Then: every
// transaction a device was told was accepted is in the billing report exactly once, the month was
// rolled over by exactly one node, login lockouts and device rate limits hold across nodes, and every
// webhook delivery reaches its receiver, under one id, signed.
//
// The DS processes run at a shifted time (e2e/shifted-clock.mjs, a test-only preload that the test
// moves forward through a file): two minutes before a month ends while the devices start, then,
// once they sync through every node and one node is dead, to a few seconds before the month ends.
// Each node's scheduler checks once at start and then every 60 s, so the rollover comes about a
// minute after the nodes started: the load test takes that minute, however fast the machine.

const PASSWORD = 'multi-node-e2e-password';
const postgresBase = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);

describe('three DS nodes on one PostgreSQL, one killed midway, over a month boundary', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let schema: string;
  let pg: { connect(): Promise<void>; query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>; end(): Promise<void> };
  const nodes: ServeProcess[] = [];
  /** A webhook receiver: every request it got, as sent. */
  let receiver: Server;
  let receiverUrl: string;
  const received: { id: string; timestamp: string; signature: string; body: string }[] = [];
  let webhookSecret: string;
  /** The shift of the DS processes' clock, and the month that ends while they run and the next. */
  let offset = 0;
  let boundary: number;
  let closing: string;
  let opening: string;
  let clockFile: string;
  const dsNow = () => new Date(Date.now() + offset);
  /** Moves the DS processes' clock (and the test's idea of it) so that it reads `time` now. */
  const setDsTime = (time: number) => {
    offset = time - Date.now();
    writeFileSync(`${clockFile}.new`, String(offset));
    renameSync(`${clockFile}.new`, clockFile);
  };
  /** Resolves once every node in `of` logs at `time` or later (each follows the clock file within 50 ms). */
  const followed = (of: ServeProcess[], time: number) =>
    until(
      () => {
        for (const node of of) void fetch(`${node.url}/v3_5/system/status`).catch(() => undefined);
        return of.every((node) => jsonLines(node.stderr()).some((l) => typeof l.time === 'string' && Date.parse(l.time) >= time));
      },
      'the nodes follow the moved clock',
      10_000,
    );
  /**
   * Moves the clock forward to `time` in steps of 10 s, half a second apart, each followed by
   * `live` before the next: DS refuses a device message, and a device DS's answer, whose time is
   * more than 60 s from its own (API.md), and a request in flight during several steps would
   * otherwise see them add up. Never moves the clock back.
   */
  const advanceDsTime = async (live: ServeProcess[], time: number) => {
    while (dsNow().getTime() < time) {
      const next = Math.min(time, dsNow().getTime() + 10_000);
      setDsTime(next);
      await followed(live, next);
      if (next < time) await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  const ds = async (args: string[], timeoutMs = 60_000) => {
    const r = await runDs(args, { env, timeoutMs });
    expect(r.code, `ds ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    const today = new Date();
    boundary = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 1, 1);
    closing = monthOf(boundary - 1);
    opening = monthOf(boundary);

    receiver = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        received.push({ id: String(req.headers['webhook-id']), timestamp: String(req.headers['webhook-timestamp']), signature: String(req.headers['webhook-signature']), body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/ds-events`;

    dir = mkdtempSync(join(tmpdir(), 'ds-e2e-multi-node-'));
    clockFile = join(dir, 'clock-offset');
    setDsTime(boundary - 2 * 60_000);
    schema = `e2e_multinode_${process.pid}_${Date.now().toString(36)}`;
    const { Client } = requireFromServer('pg');
    pg = new Client({ connectionString: postgresBase });
    await pg.connect();
    await pg.query(`create schema "${schema}"`);
    await pg.query(`set search_path to "${schema}"`);
    const databaseUrl = new URL(postgresBase);
    databaseUrl.search = `?options=-c%20search_path%3D${schema}`;
    env = cleanEnv(dir, {
      XDG_CONFIG_HOME: join(dir, 'config'),
      DS_ADMIN_PASSWORD: PASSWORD,
      DATABASE_URL: databaseUrl.toString(),
      DS_INSTALLER_ROOT: dir,
      DS_LOG_LEVEL: 'info',
      // The nodes of one deployment share the master key.
      DS_MASTER_KEY: randomBytes(32).toString('base64'),
      NODE_OPTIONS: `--import=${join(ROOT, 'e2e', 'shifted-clock.mjs')}`,
      DS_E2E_CLOCK_FILE: clockFile,
      // The webhook receiver of this test listens on 127.0.0.1 over http.
      DS_ALLOW_PRIVATE_ORIGINS: 'true',
    });
    // Three nodes started at once on an empty database, as a deployment of three replicas is:
    // they migrate and initialise it together.
    nodes.push(...(await Promise.all([0, 1, 2].map(() => startServe([], env)))));
  });

  afterAll(async () => {
    for (const node of nodes) await killServe(node);
    await pg?.query(`drop schema if exists "${schema}" cascade`);
    await pg?.end();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  let installationKey: string;

  it('the nodes initialised the database once: one admin, one set of DS keys, the same JWKS everywhere', async () => {
    expect((await pg.query('select username from users')).rows).toEqual([{ username: 'admin' }]);
    const jwks = await Promise.all(nodes.map(async (n) => (await fetch(`${n.url}/v3_5/.well-known/jwks.json`)).json()));
    expect(jwks[1]).toEqual(jwks[0]);
    expect(jwks[2]).toEqual(jwks[0]);
    const login = await runDs(['login', '--url', nodes[0]!.url, '--username', 'admin', '--password-stdin'], { env, stdin: PASSWORD });
    expect(login.code, login.stderr).toBe(0);
    webhookSecret = JSON.parse(await ds(['webhook', 'create', receiverUrl, '--events', '*', '--json'])).secret as string;
    expect(webhookSecret).toMatch(/^whsec_/);
    await ds(['org', 'create', 'acme']);
    await ds(['label', 'create', 'acme-web', '--org', 'acme']);
    await ds(['label', 'create', 'acme-kiosk', '--org', 'acme']);
    installationKey = JSON.parse(await ds(['version', 'create', '3.8.1', '--json'])).installationApiKey as string;
  });

  it('devices sync through all three nodes; one is killed with SIGKILL and they move on; the month ends and is rolled over once; every acknowledged transaction is counted exactly once', async () => {
    const victim = nodes[1]!;
    const survivors = [nodes[0]!, nodes[2]!];
    // Syncs a node answered (not refused: a 429 is a request too).
    const syncsOn = (node: ServeProcess) => jsonLines(node.stderr()).filter((l) => l.msg === 'request' && typeof l.path === 'string' && l.path.endsWith('/sync') && l.status === 200).length;
    const allSyncs = () => nodes.map(syncsOn).reduce((a, b) => a + b);
    // Devices sync every 4 s (15 messages a minute, under the 20 a device may send: --no-updates,
    // so no version check before each sync; no update is offered here) and report usage of today
    // and yesterday.
    const sim = startDs(
      ['simulate', '--urls', nodes.map((n) => n.url).join(','), '--installation-key', installationKey, '--devices', '24', '--duration', '5m', '--interval', '4s', '--days', '2', '--labels', 'acme-web,acme-kiosk', '--seed', '14', '--key-type', 'ec', '--no-updates', '--verify', '--json'],
      env,
    );
    let syncsAtRollover = 0;
    try {
      // Midway: the victim has answered syncs (and is answering more) when it is killed.
      await until(() => syncsOn(victim) >= 15, 'the victim node answered 15 syncs', 60_000);
      // Events for the webhook while the nodes' workers deliver (older versions: no device updates).
      await Promise.all(['3.7.0', '3.7.1', '3.7.2'].map((v) => ds(['version', 'create', v])));
      victim.child.kill('SIGKILL');
      expect((await victim.exited).signal).toBe('SIGKILL');
      // The devices of the killed node sync on through the others (each device syncs every 4 s).
      const afterKill = survivors.map(syncsOn).reduce((a, b) => a + b);
      await until(() => survivors.map(syncsOn).reduce((a, b) => a + b) >= afterKill + 30, 'the devices synced on without the killed node', 30_000);

      // The month ends three seconds from now; the next scheduler check of the surviving nodes
      // (60 s after they started) rolls it over.
      await advanceDsTime(survivors, boundary - 3_000);
      const rolledOver = (l: Record<string, unknown>) => l.msg === 'counters rolled over' && l.month === closing;
      await Promise.any(survivors.map((n) => n.waitForLog(rolledOver, 100_000)));
      expect(monthOf(dsNow().getTime())).toBe(opening);
      // ... and the devices go on syncing after it.
      syncsAtRollover = allSyncs();
      await until(() => allSyncs() >= syncsAtRollover + 24, 'the devices synced on after the rollover', 30_000);
    } finally {
      // Ctrl-C: devices finish the request they are in; the summary follows.
      sim.child.kill('SIGINT');
    }
    const result = await sim.done;
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      registrations: number;
      failovers: number;
      unacknowledgedEntries: number;
      syncsOk: number;
      errors: Record<string, number>;
      acknowledged: TransactionRow[];
      verify: { ok: boolean; month: string; devices: number };
    };
    expect(summary.registrations).toBe(24);
    // Per device: the counters of the new month on DS are exactly what each device had acknowledged
    // (the closed month's per-device rows are reset by the rollover; its totals are checked below).
    expect(summary.verify).toMatchObject({ ok: true, month: opening, devices: 24 });
    expect(summary.syncsOk).toBeGreaterThan(syncsAtRollover);
    // The devices that were on the killed node moved to another one.
    expect(summary.failovers).toBeGreaterThanOrEqual(1);
    // Every sync sent was answered in the end: nothing is left that DS may or may not have counted.
    expect(summary.unacknowledgedEntries).toBe(0);
    expect(Object.keys(summary.errors).filter((code) => code !== 'NETWORK_ERROR')).toEqual([]);
    expect(new Set(summary.acknowledged.map((a) => a.month))).toEqual(new Set([closing, opening]));

    // The billing report (archived rows of the closed month, daily rows of the new one) equals
    // what the devices were told was accepted, to the transaction.
    const report = JSON.parse(await ds(['report', 'transactions', '--from', closing, '--to', opening, '--by', 'month,label,module,use-case', '--json'])) as TransactionRow[];
    const sum = (rows: { transactions: number }[]) => rows.reduce((s, r) => s + r.transactions, 0);
    expect(transactionsByKey(report)).toEqual(transactionsByKey(summary.acknowledged));
    expect(sum(report)).toBe(sum(summary.acknowledged));
    expect(sum(summary.acknowledged)).toBeGreaterThan(0);

    // The rollover ran once: one node logged it, its record is complete, and no daily row of the
    // closed month is left.
    const rolled = nodes.flatMap((n) => jsonLines(n.stderr()).filter((l) => l.msg === 'counters rolled over'));
    expect(rolled.map((l) => l.month)).toEqual([closing]);
    const record = (await pg.query('select month, completed_at from counter_rollovers where month = $1', [closing])).rows;
    expect(record).toHaveLength(1);
    expect(record[0]!.completed_at).not.toBeNull();
    const leftOver = await pg.query('select count(*)::int as n from label_daily_counters where day < $1', [`${opening}-01`]);
    expect(leftOver.rows[0]!.n).toBe(0);
    // One audit entry says it was done.
    const done = await pg.query("select count(*)::int as n from audit_log where action = 'rollover.done' and resource_id = $1", [closing]);
    expect(done.rows[0]!.n).toBe(1);
    // The daily adoption snapshot (a scheduled job of every node, under a lease) was taken once a
    // day: at the start, of the day before, and after midnight, of the month's last day.
    const snapshots = nodes.flatMap((n) => jsonLines(n.stderr()).filter((l) => l.msg === 'adoption snapshot' && l.taken === true)).map((l) => l.day);
    expect(snapshots.sort()).toEqual([new Date(boundary - 2 * 60_000 - 86_400_000).toISOString().slice(0, 10), new Date(boundary - 1).toISOString().slice(0, 10)]);
    // No surviving node logged an error (a node that lost the race for a lease says nothing).
    expect(survivors.flatMap((n) => jsonLines(n.stderr()).filter((l) => l.level === 'error'))).toEqual([]);
  });

  it('the killed node starts again and finds the month done', async () => {
    nodes[1] = await startServe([], env);
    await followed([nodes[1]], boundary);
    expect((await fetch(`${nodes[1].url}/v3_5/system/status`)).status).toBe(200);
  });

  it('a login lockout holds across nodes: failures spread over the three count together', async () => {
    const attempt = (node: ServeProcess) =>
      fetch(`${node.url}/v3_5/admin/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'mallory', password: 'not-the-password' }) });
    // 10 failed logins per address and username in 15 minutes (app.ts), spread over the nodes and
    // sent at once: each node counts in the shared table.
    const failures = await Promise.all(Array.from({ length: 10 }, (_, i) => attempt(nodes[i % 3]!)));
    expect(failures.map((r) => r.status)).toEqual(Array(10).fill(401));
    for (const node of nodes) {
      const locked = await attempt(node);
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });

  it('the audit log written by three nodes at once is one unbroken chain', async () => {
    const verify = JSON.parse(await ds(['audit', 'verify', '--json'])) as { ok: boolean; checked: number };
    expect(verify).toMatchObject({ ok: true });
    // It holds the admin's changes, the rollover, and the ten failed logins three nodes recorded
    // at the same moment (and the lockouts after them).
    const failed = await pg.query("select count(*)::int as n from audit_log where action = 'auth.login_failed' and resource_id = 'mallory'");
    expect(failed.rows[0]!.n).toBe(10);
    expect(verify.checked).toBe(Number((await pg.query('select count(*)::int as n from audit_log')).rows[0]!.n));
  });

  it("a device's message limit holds across nodes: the 21st message in a minute is refused whichever node gets it", async () => {
    // One device whose every request goes to the next node.
    let turn = 0;
    const roundRobin = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(String(input));
      url.host = new URL(nodes[turn++ % 3]!.url).host;
      return fetch(url, init);
    }) as typeof fetch;
    const device = await DeviceClient.create({
      baseUrl: nodes[0]!.url,
      installationKey,
      version: '3.8.1',
      os: { name: 'Linux', version: '6.1', architecture: 'x64' },
      keyType: 'ec',
      store: new MemoryDeviceStore(),
      clock: { now: dsNow },
      fetch: roundRobin,
    });
    await device.register();
    // DS_DEVICE_MESSAGES_PER_MINUTE is 20 by default, in fixed one-minute windows: the clock is
    // moved to the start of one, so the 21 messages fall into it.
    const windowStart = (Math.floor(dsNow().getTime() / 60_000) + 1) * 60_000;
    await advanceDsTime(nodes, windowStart);
    for (let i = 0; i < 20; i++) await device.versionCheck();
    const refused = await device.versionCheck().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isRateLimited(refused), String(refused)).toBe(true);
    expect((refused as DeviceCallError).retryAfterSeconds).toBeGreaterThan(0);
    expect(dsNow().getTime() - windowStart).toBeLessThan(60_000);
    expect(turn).toBeGreaterThanOrEqual(21);
  });
  it('every webhook delivery reached the receiver under its one id, signed with the secret', async () => {
    const deliveries = async () =>
      (await pg.query('select id, event_type, payload, status from webhook_deliveries order by created_at')).rows as { id: string; event_type: string; payload: string; status: string }[];
    // Delivered by the surviving nodes' workers (a delivery the killed node had claimed is taken
    // over when its lease runs out: the clock moved past it).
    let rows = await deliveries();
    await until(() => received.length > 0 && new Set(received.map((r) => r.id)).size >= rows.length, 'every delivery received', 60_000);
    // Stored as delivered once the receiver's answer is back, just after the receiver saw it.
    rows = await vi.waitFor(
      async () => {
        const now = await deliveries();
        expect(now.map((r) => r.status)).toEqual(now.map(() => 'delivered'));
        return now;
      },
      { timeout: 60_000, interval: 100 },
    );
    const types = rows.map((r) => r.event_type).sort();
    expect(types.filter((t) => t === 'version.created')).toHaveLength(4);
    expect(types.filter((t) => t === 'rollover.done')).toHaveLength(1);
    expect(JSON.parse(rows.find((r) => r.event_type === 'rollover.done')!.payload).data.resource).toMatchObject({ id: closing });
    // At least once, one id: every delivery arrived under its id with its stored payload; an id
    // that arrived twice (a retry) carried the same body.
    expect(new Set(received.map((r) => r.id))).toEqual(new Set(rows.map((r) => r.id)));
    const key = Buffer.from(webhookSecret.slice('whsec_'.length), 'base64');
    for (const r of received) {
      expect(r.body).toBe(rows.find((d) => d.id === r.id)!.payload);
      const expected = createHmac('sha256', key).update(`${r.id}.${r.timestamp}.${r.body}`).digest('base64');
      expect(r.signature.split(' ')).toContain(`v1,${expected}`);
    }
  });
});
