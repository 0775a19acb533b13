import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { backupSqlite } from './db/database.js';
import { silentLogger } from './lib/logger.js';
import { startServer, type RunningServer } from './main.js';
import { TEST_DIALECT } from './test/harness.js';

// These start the real HTTP server on a SQLite file; the dialect-independent parts run once.
const sqliteOnly = TEST_DIALECT === 'sqlite' ? describe : describe.skip;

let dir: string;
let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function config(overrides: Record<string, string> = {}) {
  dir = mkdtempSync(join(tmpdir(), 'ds-main-'));
  return loadConfig({ DATABASE_URL: join(dir, 'ds.db'), PORT: '0', DS_INSTALLER_ROOT: dir, ...overrides });
}

sqliteOnly('startServer', () => {
  it('initialises an empty database once, printing a generated password only then', async () => {
    const cfg = config();
    server = await startServer(cfg, { logger: silentLogger });
    const password = server.initialAdminPassword;
    expect(password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    const login = await fetch(`${server.url}/v3_5/admin/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    expect(login.status).toBe(200);
    await server.close();
    server = await startServer(cfg, { logger: silentLogger });
    expect(server.initialAdminPassword).toBeNull();
  });

  it('uses DS_ADMIN_PASSWORD when given and never prints it', async () => {
    server = await startServer(config({ DS_ADMIN_PASSWORD: 'given-password-123' }), { logger: silentLogger });
    expect(server.initialAdminPassword).toBeNull();
    const login = await fetch(`${server.url}/v3_5/admin/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'given-password-123' }),
    });
    expect(login.status).toBe(200);
  });

  it('logs one JSON line per request with its request id', async () => {
    const lines: string[] = [];
    const { createLogger } = await import('./lib/logger.js');
    server = await startServer(config(), { logger: createLogger('info', (l) => lines.push(l)) });
    const res = await fetch(`${server.url}/v3_5/system/status`, { headers: { 'x-request-id': 'trace-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-123');
    const entries = lines.map((l) => JSON.parse(l));
    expect(entries.find((e) => e.msg === 'request' && e.path === '/v3_5/system/status')).toMatchObject({ requestId: 'trace-123', status: 200, level: 'info' });
  });

  it('on close lets an in-flight request finish, then refuses new connections', async () => {
    server = await startServer(config({ DS_ADMIN_PASSWORD: 'given-password-123' }), { logger: silentLogger });
    const url = new URL(`${server.url}/v3_5/admin/auth/login`);
    // A request whose body is still arriving when shutdown starts.
    const pending = new Promise<number>((resolve, reject) => {
      const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write('{"username":"admin",');
      setTimeout(() => req.end('"password":"given-password-123"}'), 300);
    });
    await new Promise((r) => setTimeout(r, 100));
    const closing = server.close();
    expect(await pending).toBe(200);
    await closing;
    await expect(fetch(`${url.origin}/v3_5/system/status`)).rejects.toThrow();
    server = undefined;
  });
});

sqliteOnly('backupSqlite', () => {
  it('copies a database that is being written to into a consistent file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-backup-'));
    const source = join(dir, 'live.db');
    const live = new SQLite(source);
    live.pragma('journal_mode = WAL');
    live.exec('create table t (id integer primary key, v text)');
    const insert = live.prepare('insert into t (v) values (?)');
    for (let i = 0; i < 20000; i++) insert.run(`row ${i}`.repeat(10));
    // Keep writing while the backup runs.
    let writes = 0;
    const writer = setInterval(() => {
      insert.run('during backup');
      writes += 1;
    }, 1);
    const result = await backupSqlite(source, join(dir, 'copy.db'));
    clearInterval(writer);
    live.close();
    const copy = new SQLite(result.path, { readonly: true });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    const count = (copy.prepare('select count(*) as n from t').get() as { n: number }).n;
    expect(count).toBeGreaterThanOrEqual(20000);
    expect(count).toBeLessThanOrEqual(20000 + writes);
    copy.close();
    expect(result.bytes).toBeGreaterThan(0);
    await expect(backupSqlite(source, source)).rejects.toThrow(/must not be the database itself/);
    await expect(backupSqlite('postgres://x@127.0.0.1/db', join(dir, 'x.db'))).rejects.toThrow(/pg_dump/);
  });
});

describe('loadConfig', () => {
  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ DS_KEY_TYPE: 'dsa' }, 'DS_KEY_TYPE'],
    [{ DS_PUBLIC_URL: 'ftp://x' }, 'DS_PUBLIC_URL'],
    [{ DS_ADMIN_PASSWORD: 'short' }, 'DS_ADMIN_PASSWORD'],
  ])('names the variable that is wrong: %o', (env, name) => {
    expect(() => loadConfig(env)).toThrow(name);
  });

  it('flags override the environment and the public URL follows host and port', () => {
    const cfg = loadConfig({ PORT: '4000', HOST: '0.0.0.0' }, { port: 5000 });
    expect(cfg.port).toBe(5000);
    expect(cfg.publicUrl).toBe('http://localhost:5000');
    expect(loadConfig({ DS_PUBLIC_URL: 'https://ds.example.com/' }).publicUrl).toBe('https://ds.example.com');
  });
});
