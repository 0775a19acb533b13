import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, jsonLines, killServe, runDs, startDs, startServe, transactionsByKey, waitUntil as until, type ServeProcess, type TransactionRow } from './helpers.js';

// `ds serve` on SQLite killed with SIGKILL under sync load and started again loses nothing it had
// acknowledged (issue 14). SQLite runs in WAL mode with synchronous=NORMAL (db/database.ts): a
// commit has written its pages to the WAL file before DS answers, so it survives the end of the
// process (the operating system still holds what was written); only a power cut or an operating
// system crash can lose the last commits, which synchronous=FULL would trade speed for.
//
// The devices (`ds simulate`) reach DS through a small TCP proxy, as through the load balancer of
// a deployment: the restarted DS listens on another port, the proxy sends new connections there.
const PASSWORD = 'sqlite-crash-e2e-password';

describe('ds serve on SQLite, killed with SIGKILL under sync load', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let server: ServeProcess | undefined;
  let proxy: Server;
  let proxyUrl: string;
  /** Where the proxy sends connections; undefined while DS is down (connections are refused). */
  let upstream: number | undefined;
  /** Connections refused while DS was down. */
  let refused = 0;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-e2e-sqlite-crash-'));
    env = cleanEnv(dir, {
      XDG_CONFIG_HOME: join(dir, 'config'),
      DS_ADMIN_PASSWORD: PASSWORD,
      DATABASE_URL: join(dir, 'ds.db'),
      DS_INSTALLER_ROOT: dir,
      DS_LOG_LEVEL: 'info',
      // Load, not the per-device limit, is what this test is about.
      DS_DEVICE_MESSAGES_PER_MINUTE: '1000',
    });
    proxy = createServer((client) => {
      if (upstream === undefined) {
        refused++;
        return void client.destroy();
      }
      const ds = createConnection({ host: '127.0.0.1', port: upstream });
      for (const s of [client, ds]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
      }
      client.pipe(ds).pipe(client);
      // Either side failing ends both, as a proxy whose backend died does.
      client.once('error', () => ds.destroy());
      ds.once('error', () => client.destroy());
      client.once('close', () => ds.destroy());
      ds.once('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    server = await startServe([], env);
    upstream = Number(new URL(server.url).port);
  });

  afterAll(async () => {
    await killServe(server);
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => proxy?.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses no acknowledged transaction: DS counts exactly what the devices were told it accepted', async () => {
    // Logged in through the proxy, so the admin commands reach the restarted DS too.
    const login = await runDs(['login', '--url', proxyUrl, '--username', 'admin', '--password-stdin'], { env, stdin: PASSWORD });
    expect(login.code, login.stderr).toBe(0);
    const ds = async (args: string[]) => {
      const r = await runDs(args, { env, timeoutMs: 60_000 });
      expect(r.code, `ds ${args.join(' ')}\n${r.stderr}`).toBe(0);
      return r.stdout;
    };
    await ds(['org', 'create', 'acme']);
    await ds(['label', 'create', 'acme-web', '--org', 'acme']);
    const installationKey = JSON.parse(await ds(['version', 'create', '3.8.1', '--json'])).installationApiKey as string;

    const syncsOn = (s: ServeProcess) => jsonLines(s.stderr()).filter((l) => l.msg === 'request' && typeof l.path === 'string' && l.path.endsWith('/sync') && l.status === 200).length;
    // Each device syncs every 2 s: ten failed syncs in a row (the default limit) would take 20 s,
    // far more than DS needs to start again.
    const sim = startDs(
      ['simulate', '--url', proxyUrl, '--installation-key', installationKey, '--devices', '16', '--duration', '5m', '--interval', '2s', '--key-type', 'ec', '--labels', 'acme-web', '--seed', '9', '--verify', '--json'],
      env,
    );
    try {
      const first = server!;
      await until(() => syncsOn(first) >= 40, 'DS answered 40 syncs', 60_000);
      // Killed while devices sync: some syncs are in flight, some just committed.
      upstream = undefined;
      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      const answeredBeforeKill = syncsOn(first);
      for (const s of sockets) s.destroy();
      // DS stays down until devices have found it down (on a loaded machine they may send nothing
      // for a while): the failures below are then certain, not a matter of timing.
      const refusedBefore = refused;
      await until(() => refused >= refusedBefore + 3, 'devices found DS down', 60_000);

      server = await startServe([], env);
      upstream = Number(new URL(server.url).port);
      const second = server;
      // The devices go on: every one syncs again (its batch of the failed sync, under its jti).
      await until(() => syncsOn(second) >= 32, 'the devices synced on with the restarted DS', 60_000);
      expect(answeredBeforeKill).toBeGreaterThanOrEqual(40);
    } finally {
      // Ctrl-C: devices finish the request they are in; the summary follows.
      sim.child.kill('SIGINT');
    }
    const { code, stdout, stderr } = await sim.done;
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as {
      registrations: number;
      failures: number;
      stoppedDevices: number;
      unacknowledgedEntries: number;
      verify: { ok: boolean };
      acknowledged: TransactionRow[];
    };
    expect(summary.registrations).toBe(16);
    // The kill failed requests (in flight, or sent while DS was down: version checks or syncs); no
    // device gave up.
    expect(summary.failures).toBeGreaterThan(0);
    expect(summary.stoppedDevices).toBe(0);
    expect(summary.unacknowledgedEntries).toBe(0);
    expect(summary.verify.ok).toBe(true);

    // What DS counts, per label, module and use case, is exactly what it acknowledged: nothing lost
    // with the killed process, nothing counted twice by the retries.
    const report = JSON.parse(await ds(['report', 'transactions', '--by', 'month,label,module,use-case', '--json'])) as TransactionRow[];
    expect(transactionsByKey(report)).toEqual(transactionsByKey(summary.acknowledged));
    expect(summary.acknowledged.reduce((s, a) => s + a.transactions, 0)).toBeGreaterThan(0);
    // And per device: --verify compared every device's counters on DS with what it had acknowledged.
    expect(stderr).toMatch(/verify: 16 devices, \d+ transactions, all counted exactly/);
  });
});
