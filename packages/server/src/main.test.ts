import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from './config.js';
import { backupSqlite } from './db/database.js';
import { silentLogger } from './lib/logger.js';
import { startServer, type RunningServer } from './main.js';

// These start the real HTTP server on a SQLite file and copy SQLite files: they run in the SQLite
// pass only (vitest.config.ts), like the dialect-independent configuration tests.

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

describe('startServer', () => {
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
    // A request whose body is still arriving when shutdown starts. With `Expect: 100-continue`
    // the server says when it has the request (and so the connection) in hand. (`Connection:
    // close`: a kept-alive connection would hold close() up to Node's 5 s keep-alive timeout.)
    let sendRest!: () => void;
    let inHand!: () => void;
    const accepted = new Promise<void>((resolve) => (inHand = resolve));
    const finished = new Promise<number>((resolve, reject) => {
      const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', expect: '100-continue', connection: 'close' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.on('continue', () => {
        req.write('{"username":"admin",');
        sendRest = () => req.end('"password":"given-password-123"}');
        inHand();
      });
    });
    await Promise.race([accepted, finished]);
    const closing = server.close();
    // Shutdown has begun once the port refuses new connections; only then does the body end.
    await vi.waitFor(() => refused(url), { timeout: 10_000, interval: 20 });
    sendRest();
    expect(await finished).toBe(200);
    await closing;
    await expect(fetch(`${url.origin}/v3_5/system/status`)).rejects.toThrow();
    server = undefined;
  });
});

/** Resolves when a connection to `url`'s port is refused; rejects while one is accepted. */
function refused(url: URL): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    socket.once('connect', () => {
      socket.destroy();
      reject(new Error(`${url.host} still accepts connections`));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNREFUSED' ? resolve() : reject(error)));
  });
}

describe('backupSqlite', () => {
  it('copies a database another connection writes to every few ms into a consistent file, and finishes', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-backup-'));
    const source = join(dir, 'live.db');
    const live = new SQLite(source);
    live.pragma('journal_mode = WAL');
    live.exec('create table t (id integer primary key, v text)');
    const insert = live.prepare('insert into t (v) values (?)');
    const ROWS = 200_000; // about 20 MB: a copy takes long enough for the writer to write during it
    live.transaction(() => {
      for (let i = 0; i < ROWS; i++) insert.run(`row ${i}`.repeat(10));
    })();
    live.close();
    // A writer on its own thread and connection, as a running DS writes a sync every few ms. It
    // counts committed rows in shared memory and stops when asked.
    const shared = new Int32Array(new SharedArrayBuffer(8));
    const writer = new Worker(
      `const { workerData: { module, path, shared } } = require('node:worker_threads');
       const db = new (require(module))(path);
       db.pragma('busy_timeout = 5000');
       const insert = db.prepare('insert into t (v) values (?)');
       const timer = setInterval(() => {
         if (Atomics.load(shared, 1) === 1) return (clearInterval(timer), db.close());
         insert.run('during backup');
         Atomics.add(shared, 0, 1);
       }, 2);`,
      { eval: true, workerData: { module: createRequire(import.meta.url).resolve('better-sqlite3'), path: source, shared } },
    );
    const writerExited = new Promise((resolve) => writer.once('exit', resolve));
    try {
      await vi.waitFor(() => expect(Atomics.load(shared, 0)).toBeGreaterThanOrEqual(20), { timeout: 15_000, interval: 5 });
      const before = Atomics.load(shared, 0);
      // The online backup API starts over whenever another connection writes; a copy made in one
      // read transaction (VACUUM INTO) does not, so it finishes in bounded time (the test's timeout).
      const result = await backupSqlite(source, join(dir, 'copy.db'));
      const after = Atomics.load(shared, 0);
      expect(after, 'the writer wrote while the backup ran').toBeGreaterThan(before);
      const copy = new SQLite(result.path, { readonly: true });
      try {
        expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
        // One moment's snapshot of an append-only table: every row up to some id, none after.
        const { n, last } = copy.prepare('select count(*) as n, max(id) as last from t').get() as { n: number; last: number };
        expect(last).toBe(n);
        expect(n).toBeGreaterThanOrEqual(ROWS + before);
        expect(n).toBeLessThanOrEqual(ROWS + after + 1);
      } finally {
        copy.close();
      }
      expect(result.bytes).toBeGreaterThan(0);
    } finally {
      Atomics.store(shared, 1, 1);
      await writerExited;
    }
  });

  it('replaces an older backup, refuses the database itself and PostgreSQL', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-backup-'));
    const source = join(dir, 'live.db');
    const live = new SQLite(source);
    live.pragma('journal_mode = WAL');
    live.exec("create table t (v text); insert into t values ('first')");
    const target = join(dir, 'backups', 'copy.db');
    await backupSqlite(source, target);
    live.exec("update t set v = 'second'");
    const result = await backupSqlite(source, target);
    live.close();
    expect(result.path).toBe(target);
    const copy = new SQLite(target, { readonly: true });
    expect(copy.prepare('select v from t').all()).toEqual([{ v: 'second' }]);
    copy.close();
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
