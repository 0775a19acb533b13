import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { DeviceClient, MemoryDeviceStore } from '@ds/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, killServe, requireFromServer, runDs, startServe, type ServeProcess } from './helpers.js';

// The restore drill (issue 14), on SQLite and PostgreSQL: a live DS is backed up as the README's
// "Backup and restore" section says (`ds db backup` and its master.key; `pg_dump` and
// `pg_restore`), the copy is started as a fresh DS, and it shows the same reports, publishes the
// same DS keys (kept encrypted under the master key), and the devices of the first DS go on syncing
// with it with the keys and ids they had, without registering again.

const PASSWORD = 'restore-drill-e2e-password';
const dialect = process.env.DS_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';
const postgresBase = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const run = promisify(execFile);

describe(`restore drill (${dialect})`, () => {
  let dir: string;
  let original: ServeProcess | undefined;
  let restored: ServeProcess | undefined;
  /** The environment of `ds` for each DS (its own database and master key, one config folder). */
  let envA: NodeJS.ProcessEnv;
  let envB: NodeJS.ProcessEnv;
  let schema: string;
  let restoreDatabase: string;
  /** Where the devices' requests go: the original DS, then the restored one. */
  let target: string;
  const devices: DeviceClient[] = [];
  /** What DS acknowledged to the devices, by `label module useCase`. */
  const acknowledged = new Map<string, number>();

  const dsAt = (env: NodeJS.ProcessEnv, profile: string) => async (args: string[]) => {
    const r = await runDs(['--profile', profile, ...args], { env, timeoutMs: 60_000 });
    expect(r.code, `ds ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const fetchToTarget = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    url.host = new URL(target).host;
    return fetch(url, init);
  }) as typeof fetch;

  /** Every device counts a few transactions and syncs; what DS accepted is added to `acknowledged`. */
  async function syncAll(round: number) {
    await Promise.all(
      devices.map(async (device, i) => {
        const entries = [
          { label: 'acme-web', module: 'sign', useCase: 'pdf', count: 1 + ((i + round) % 4) },
          { label: i % 2 === 0 ? 'acme-web' : 'acme-kiosk', module: 'auth', useCase: 'login', count: 2 + round },
        ];
        for (const e of entries) device.recordTransaction(e);
        const outcome = await device.syncOnce();
        expect(outcome.ok, outcome.ok ? '' : String(outcome.error)).toBe(true);
        if (outcome.ok) expect(outcome.response.accepted.transactions).toBe(2);
        for (const e of entries) acknowledged.set(`${e.label} ${e.module} ${e.useCase}`, (acknowledged.get(`${e.label} ${e.module} ${e.useCase}`) ?? 0) + e.count);
      }),
    );
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-e2e-restore-'));
    const common = { XDG_CONFIG_HOME: join(dir, 'config'), DS_ADMIN_PASSWORD: PASSWORD, DS_INSTALLER_ROOT: dir, DS_LOG_LEVEL: 'warn' };
    if (dialect === 'postgres') {
      schema = `e2e_restore_${process.pid}_${Date.now().toString(36)}`;
      restoreDatabase = `ds_restore_${process.pid}_${Date.now().toString(36)}`;
      const withSchema = (database: string) => {
        const u = new URL(postgresBase);
        u.pathname = `/${database}`;
        u.search = `?options=-c%20search_path%3D${schema}`;
        return u.toString();
      };
      const { Client } = requireFromServer('pg');
      const pg = new Client({ connectionString: postgresBase });
      await pg.connect();
      await pg.query(`create schema "${schema}"`);
      await pg.end();
      const masterKey = randomBytes(32).toString('base64');
      envA = cleanEnv(dir, { ...common, DATABASE_URL: withSchema(new URL(postgresBase).pathname.slice(1)), DS_MASTER_KEY: masterKey });
      envB = cleanEnv(dir, { ...common, DATABASE_URL: withSchema(restoreDatabase), DS_MASTER_KEY: masterKey });
    } else {
      mkdirSync(join(dir, 'a'));
      mkdirSync(join(dir, 'b'));
      envA = cleanEnv(dir, { ...common, DATABASE_URL: join(dir, 'a', 'ds.db') });
      envB = cleanEnv(dir, { ...common, DATABASE_URL: join(dir, 'b', 'ds.db') });
    }
    original = await startServe([], envA);
    target = original.url;
  });

  afterAll(async () => {
    await killServe(original);
    await killServe(restored);
    if (dialect === 'postgres') {
      const { Client } = requireFromServer('pg');
      const pg = new Client({ connectionString: postgresBase });
      await pg.connect();
      await pg.query(`drop schema if exists "${schema}" cascade`);
      await pg.query(`drop database if exists "${restoreDatabase}"`);
      await pg.end();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('a live DS with organizations, versions and syncing devices is backed up', async () => {
    const login = await runDs(['--profile', 'original', 'login', '--url', original!.url, '--username', 'admin', '--password-stdin'], { env: envA, stdin: PASSWORD });
    expect(login.code, login.stderr).toBe(0);
    const ds = dsAt(envA, 'original');
    await ds(['org', 'create', 'acme']);
    await ds(['label', 'create', 'acme-web', '--org', 'acme']);
    await ds(['label', 'create', 'acme-kiosk', '--org', 'acme']);
    const installationKey = JSON.parse(await ds(['version', 'create', '3.8.1', '--json'])).installationApiKey as string;
    for (const [i, keyType] of (['ec', 'rsa', 'ec', 'ec-p384'] as const).entries()) {
      const device = await DeviceClient.create({
        baseUrl: original!.url,
        installationKey,
        version: '3.8.1',
        os: { name: i % 2 === 0 ? 'Windows' : 'Linux', version: '11', architecture: 'x64' },
        keyType,
        store: new MemoryDeviceStore(),
        fetch: fetchToTarget,
      });
      await device.register();
      devices.push(device);
    }
    await syncAll(0);
    await syncAll(1);

    // The backup, taken while the original DS runs (on SQLite with commits still in its WAL).
    if (dialect === 'sqlite') {
      const backup = await runDs(['db', 'backup', join(dir, 'backup', 'ds.db'), '--json'], { env: envA });
      expect(backup.code, backup.stderr).toBe(0);
      expect(JSON.parse(backup.stdout).bytes).toBeGreaterThan(0);
      expect(existsSync(join(dir, 'a', 'ds.db-wal'))).toBe(true);
      // The master key is backed up once, apart from the database copies.
      copyFileSync(join(dir, 'a', 'master.key'), join(dir, 'backup', 'master.key'));
    } else {
      const source = new URL(postgresBase);
      source.search = '';
      await run('pg_dump', ['--format=custom', `--schema=${schema}`, `--file=${join(dir, 'ds.dump')}`, source.toString()], { env: envA });
    }
  });

  it('a copy without its master key does not start, and says so', async () => {
    if (dialect === 'postgres') {
      // PostgreSQL: the same dump with another master key.
      const other = { ...envB, DS_MASTER_KEY: randomBytes(32).toString('base64') };
      const target = new URL(postgresBase);
      target.search = '';
      await run('psql', ['--quiet', '--command', `create database "${restoreDatabase}"`, target.toString()], { env: envA });
      target.pathname = `/${restoreDatabase}`;
      await run('pg_restore', ['--no-owner', `--dbname=${target.toString()}`, join(dir, 'ds.dump')], { env: envA });
      const start = await runDs(['serve', '--port', '0'], { env: other, timeoutMs: 60_000 });
      expect(start.code).not.toBe(0);
      expect(start.stderr).toMatch(/encrypted under master key [0-9a-f]{16}/);
    } else {
      copyFileSync(join(dir, 'backup', 'ds.db'), join(dir, 'b', 'ds.db'));
      const start = await runDs(['serve', '--port', '0'], { env: envB, timeoutMs: 60_000 });
      expect(start.code).not.toBe(0);
      expect(start.stderr).toMatch(/master\.key does not exist, but the DS private keys in this database are encrypted under a master key: restore master\.key/);
      rmSync(join(dir, 'b'), { recursive: true });
      mkdirSync(join(dir, 'b'));
    }
  });

  it('restored into a fresh DS: the same reports, devices and DS keys', async () => {
    if (dialect === 'sqlite') {
      copyFileSync(join(dir, 'backup', 'ds.db'), join(dir, 'b', 'ds.db'));
      copyFileSync(join(dir, 'backup', 'master.key'), join(dir, 'b', 'master.key'));
    }
    restored = await startServe([], envB);
    const login = await runDs(['--profile', 'restored', 'login', '--url', restored.url, '--username', 'admin', '--password-stdin'], { env: envB, stdin: PASSWORD });
    expect(login.code, login.stderr).toBe(0);
    const a = dsAt(envA, 'original');
    const b = dsAt(envB, 'restored');
    for (const report of [
      ['report', 'transactions', '--by', 'month,org,label,module,use-case', '--json'],
      ['report', 'devices', '--by', 'os', '--json'],
      ['report', 'devices', '--by', 'label', '--json'],
      ['report', 'downloads', '--json'],
      ['device', 'list', '--json'],
      ['version', 'list', '--json'],
      ['label', 'list', '--json'],
    ]) {
      expect(JSON.parse(await b(report)), report.join(' ')).toEqual(JSON.parse(await a(report)));
    }
    const transactions = JSON.parse(await b(['report', 'transactions', '--by', 'label,module,use-case', '--json'])) as { label: string; module: string; useCase: string; transactions: number }[];
    expect(new Map(transactions.map((r) => [`${r.label} ${r.module} ${r.useCase}`, r.transactions]))).toEqual(acknowledged);
    // The DS keys came back: the same public keys, their private halves opened with the master key.
    const jwks = async (s: ServeProcess) => (await fetch(`${s.url}/v3_5/.well-known/jwks.json`)).json();
    expect(await jwks(restored)).toEqual(await jwks(original!));
  });

  it('the devices go on syncing with the restored DS with the keys and ids they had', async () => {
    original!.child.kill('SIGTERM');
    expect((await original!.exited).code).toBe(0);
    original = undefined;
    target = restored!.url;
    const ids = devices.map((d) => d.deviceId);
    await syncAll(2);
    await syncAll(3);
    expect(devices.map((d) => d.deviceId)).toEqual(ids);
    const b = dsAt(envB, 'restored');
    const transactions = JSON.parse(await b(['report', 'transactions', '--by', 'label,module,use-case', '--json'])) as { label: string; module: string; useCase: string; transactions: number }[];
    expect(new Map(transactions.map((r) => [`${r.label} ${r.module} ${r.useCase}`, r.transactions]))).toEqual(acknowledged);
    // No device registered again: the restored DS knows the four it had.
    expect(JSON.parse(await b(['device', 'list', '--json']))).toHaveLength(4);
  });
});
