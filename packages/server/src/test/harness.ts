import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createApp } from '../app.js';
import { loadConfig, type ServerConfig } from '../config.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../db/database.js';
import { FakeClock } from '../lib/clock.js';
import { silentLogger } from '../lib/logger.js';
import { DsKeyStore } from '../keys/keystore.js';
import { MasterKey } from '../keys/master-key.js';
import { ensureInitialized } from '../setup/setup.service.js';

export const ADMIN_PASSWORD = 'admin-password-for-tests';
/** The master key of test databases: fixed, so a database made once can be copied for many tests. */
export const TEST_MASTER_KEY = MasterKey.fromText(Buffer.alloc(32, 7).toString('base64'), 'the test master key');

/** The dialect this test run is for (`DS_TEST_DB`, set per vitest project). */
export const TEST_DIALECT = (process.env.DS_TEST_DB ?? 'sqlite') as 'sqlite' | 'postgres';

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
}

export interface TestContext {
  app: ReturnType<typeof createApp>;
  keys: DsKeyStore;
  database: DatabaseHandle;
  clock: FakeClock;
  config: ServerConfig;
  installerRoot: string;
  /** Sends a request to the app (no port), JSON in and out. */
  request(method: string, path: string, options?: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> }): Promise<TestResponse>;
  /** Logs in and answers the session token. */
  login(username?: string, password?: string): Promise<string>;
  /** Creates a user (as admin) and answers a session token for them. */
  userToken(username: string, role: 'admin' | 'viewer', organization?: string | null): Promise<string>;
  close(): Promise<void>;
}

/**
 * A fresh, migrated, initialised DS on its own database: in-memory SQLite, or a new PostgreSQL
 * schema that is dropped again by `close()`, so parallel runs never collide.
 */
export async function createTestContext(options: { configOverrides?: Record<string, string> } = {}): Promise<TestContext> {
  const clock = new FakeClock('2026-03-15T10:00:00.000Z');
  const installerRoot = mkdtempSync(join(tmpdir(), 'ds-installers-'));
  let database: DatabaseHandle;
  let schema: string | undefined;
  const postgresUrl = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  if (TEST_DIALECT === 'postgres') {
    schema = `ds_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    database = await openDatabase(postgresUrl, { schema, poolSize: 4 });
  } else {
    database = await openDatabase(':memory:');
  }
  await migrateToLatest(database);
  const config = loadConfig(
    { DS_PUBLIC_URL: 'https://ds.example.test', DS_INSTALLER_ROOT: installerRoot, ...options.configOverrides },
    { databaseUrl: TEST_DIALECT === 'postgres' ? postgresUrl : ':memory:' },
  );
  await ensureInitialized(database.db, clock, { keyType: 'ec', adminPassword: ADMIN_PASSWORD, masterKey: TEST_MASTER_KEY });
  const keys = await DsKeyStore.load(database.db, clock, TEST_MASTER_KEY);
  const app = createApp({ database, clock, logger: silentLogger, config, startedAt: clock.now(), version: '0.0.0-test', keys });

  const request: TestContext['request'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined = opts.rawBody;
    if (opts.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(opts.body);
    }
    const res = await app.request(path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed };
  };

  const login = async (username = 'admin', password = ADMIN_PASSWORD) => {
    const res = await request('POST', '/v3_5/admin/auth/login', { body: { username, password } });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.data.token as string;
  };

  let adminToken: string | undefined;
  const userToken = async (username: string, role: 'admin' | 'viewer', organization: string | null = null) => {
    adminToken ??= await login();
    const password = `${username}-password-123`;
    const res = await request('POST', '/v3_5/admin/users', { token: adminToken, body: { username, password, role, organization } });
    if (res.status !== 201) throw new Error(`user create failed: ${res.status} ${JSON.stringify(res.body)}`);
    return login(username, password);
  };

  return {
    app,
    keys,
    database,
    clock,
    config,
    installerRoot,
    request,
    login,
    userToken,
    async close() {
      await database.close();
      rmSync(installerRoot, { recursive: true, force: true });
      if (schema) {
        const client = new pg.Client({ connectionString: postgresUrl });
        await client.connect();
        try {
          await client.query(`drop schema if exists "${schema}" cascade`);
        } finally {
          await client.end();
        }
      }
    },
  };
}

