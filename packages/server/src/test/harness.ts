import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createApp } from '../app.js';
import { loadConfig, type ServerConfig } from '../config.js';
import { CounterScheduler } from '../counters/scheduler.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../db/database.js';
import { FakeClock } from '../lib/clock.js';
import { silentLogger } from '../lib/logger.js';
import { DsKeyStore } from '../keys/keystore.js';
import { MasterKey } from '../keys/master-key.js';
import { ensureInitialized } from '../setup/setup.service.js';

export const ADMIN_PASSWORD = 'admin-password-for-tests';
/** The master key of test databases: fixed, so a database made once can be copied for many tests. */
export const TEST_MASTER_KEY = MasterKey.fromText(Buffer.alloc(32, 7).toString('base64'), 'the test master key');
/** What the fake clock of a new context says. */
const TEST_START = '2026-03-15T10:00:00.000Z';

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

/** A test context with the initial admin logged in: what most admin API tests start from. */
export async function adminContext(options: { configOverrides?: Record<string, string> } = {}): Promise<{ ctx: TestContext; admin: string }> {
  const ctx = await createTestContext(options);
  return { ctx, admin: await ctx.login() };
}

/**
 * A fresh, migrated, initialised DS on its own database: in-memory SQLite, or a PostgreSQL schema
 * of its own (released again by `close()`), so parallel runs never collide. Every database starts
 * as a copy of one template (see below); the DS keys are made anew for
 * each context.
 */
export async function createTestContext(options: { configOverrides?: Record<string, string> } = {}): Promise<TestContext> {
  const clock = new FakeClock(TEST_START);
  const installerRoot = mkdtempSync(join(tmpdir(), 'ds-installers-'));
  let database: DatabaseHandle;
  let schema: string | undefined;
  const postgresUrl = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  if (TEST_DIALECT === 'postgres') {
    schema = await postgresSchemas.acquire();
    // The schema exists: naming it in the URL (as a deployment would) spares openDatabase's
    // connection that creates it.
    database = await openDatabase(postgresSchemas.urlOf(schema), { poolSize: 4 });
  } else {
    database = await openSqliteFromTemplate();
  }
  const config = loadConfig(
    { DS_PUBLIC_URL: 'https://ds.example.test', DS_INSTALLER_ROOT: installerRoot, ...options.configOverrides },
    { databaseUrl: TEST_DIALECT === 'postgres' ? postgresUrl : ':memory:' },
  );
  // The template has the admin user; this makes the DS keys, fresh for every context.
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
      // As DS's shutdown does: work a request started without waiting for it (a download's event)
      // ends before the database closes.
      await app.services.background.drain(5000);
      await database.close();
      rmSync(installerRoot, { recursive: true, force: true });
      if (schema) postgresSchemas.release(schema);
    },
  };
}


// ------------------------------------------------------------------------------------- templates
//
// Migrating a database and hashing the admin password (scrypt) for every one of the ~380 contexts
// of a pass cost about 20 + 60 ms each on SQLite and 100 + 60 ms on PostgreSQL, plus 30 ms to drop
// the schema again. Instead a worker migrates and initialises one database once, without DS keys,
// and every context starts from a copy of it:
//
// - SQLite: the template's schema (the statements sqlite_master keeps) and its rows are replayed
//   into a new in-memory database through openDatabase's own connection (about 2 ms).
// - PostgreSQL: schemas are reused within the file. Acquiring one deletes every row, copies the
//   template schema's rows back and compares a fingerprint of its tables, columns, constraints and
//   indexes with the template's (about 10 ms); a schema a test changed (a dropped table) is
//   dropped and a new one is migrated. All of them are dropped after each file (setup.ts).

/** The rows migrations and `ensureInitialized` write, without the DS keys. */
async function initialiseTemplate(handle: DatabaseHandle): Promise<void> {
  await migrateToLatest(handle);
  await ensureInitialized(handle.db, new FakeClock(TEST_START), { keyType: 'ec', adminPassword: ADMIN_PASSWORD, masterKey: TEST_MASTER_KEY });
  await handle.db.deleteFrom('dsKeys').execute();
}

interface SqliteTemplate {
  /** CREATE statements: tables first, then indexes, triggers and views, each in creation order. */
  schema: string;
  rows: { insert: string; values: unknown[][] }[];
}

let sqliteTemplate: Promise<SqliteTemplate> | undefined;

async function buildSqliteTemplate(): Promise<SqliteTemplate> {
  const handle = await openDatabase(':memory:');
  try {
    await initialiseTemplate(handle);
    return await handle.withRawSqlite!((sqlite) => {
      const objects = sqlite
        .prepare(`select type, name, sql from sqlite_master where sql is not null and name not like 'sqlite\\_%' escape '\\' order by type <> 'table', rowid`)
        .all() as { type: string; name: string; sql: string }[];
      const rows: SqliteTemplate['rows'] = [];
      for (const { name } of objects.filter((o) => o.type === 'table')) {
        const statement = sqlite.prepare(`select * from "${name}"`).raw(true);
        const values = statement.all() as unknown[][];
        if (values.length === 0) continue;
        const columns = statement.columns().map((c) => `"${c.name}"`);
        rows.push({ insert: `insert into "${name}" (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`, values });
      }
      return { schema: objects.map((o) => `${o.sql};`).join('\n'), rows };
    });
  } finally {
    await handle.close();
  }
}

/** A new in-memory database, opened as DS opens one, holding a copy of the template. */
async function openSqliteFromTemplate(): Promise<DatabaseHandle> {
  const template = await (sqliteTemplate ??= buildSqliteTemplate());
  const database = await openDatabase(':memory:');
  await database.withRawSqlite!((sqlite) =>
    sqlite.transaction(() => {
      sqlite.exec(template.schema);
      for (const { insert, values } of template.rows) {
        const statement = sqlite.prepare(insert);
        for (const row of values) statement.run(...row);
      }
    })(),
  );
  return database;
}

/** A worker's PostgreSQL schemas: a template and the schemas contexts use, reset for reuse. */
class PostgresSchemas {
  private readonly url = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  private readonly prefix = `ds_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  private count = 0;
  private client: pg.Client | undefined;
  private template: Promise<{ schema: string; reset: (schema: string) => string; fingerprint: string }> | undefined;
  /** Every schema made, the template's first. */
  private readonly made: string[] = [];
  private readonly free: string[] = [];

  private async admin(): Promise<pg.Client> {
    if (!this.client) {
      const client = new pg.Client({ connectionString: this.url });
      this.client = client;
      await client.connect();
    }
    return this.client;
  }

  /** A new schema, migrated (and initialised for the template). */
  private async create(template = false): Promise<string> {
    const schema = `${this.prefix}_${template ? 'template' : ++this.count}`;
    this.made.push(schema);
    const handle = await openDatabase(this.url, { schema, poolSize: 1 });
    try {
      if (template) await initialiseTemplate(handle);
      else await migrateToLatest(handle);
    } finally {
      await handle.close();
    }
    return schema;
  }

  private async buildTemplate() {
    const schema = await this.create(true);
    const client = await this.admin();
    const { rows: tables } = await client.query<{ name: string }>(
      `select c.relname as name from pg_class c where c.relnamespace = $1::regnamespace and c.relkind = 'r'`,
      [schema],
    );
    const { rows: references } = await client.query<{ child: string; parent: string }>(
      `select c.relname as child, p.relname as parent from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid
        where k.contype = 'f' and k.connamespace = $1::regnamespace and k.conrelid <> k.confrelid`,
      [schema],
    );
    // Children before their parents, so no delete is refused by a foreign key (ON DELETE RESTRICT).
    const order: string[] = [];
    const pending = new Set(tables.map((t) => t.name));
    while (pending.size > 0) {
      const next = [...pending].filter((t) => !references.some((r) => r.parent === t && pending.has(r.child)));
      if (next.length === 0) throw new Error(`test harness: a cycle of foreign keys among ${[...pending].join(', ')}`);
      for (const t of next.sort()) {
        order.push(t);
        pending.delete(t);
      }
    }
    const seeded = new Set<string>();
    for (const { name } of tables) {
      const { rows } = await client.query(`select exists (select from "${schema}"."${name}") as any`);
      if (rows[0].any) seeded.add(name);
    }
    const reset = (target: string) =>
      [
        'begin',
        `set local search_path to "${target}"`,
        ...order.map((t) => `delete from "${t}"`),
        ...[...seeded].map((t) => `insert into "${t}" select * from "${schema}"."${t}"`),
        FINGERPRINT,
        'commit',
      ].join(';\n');
    const { rows } = await client.query(`begin; set local search_path to "${schema}"; ${FINGERPRINT}; commit`).then((results) => (results as unknown as pg.QueryResult[])[2]!);
    return { schema, reset, fingerprint: rows[0].fingerprint as string };
  }

  /** A schema holding exactly the template's tables and rows. */
  async acquire(): Promise<string> {
    const template = await (this.template ??= this.buildTemplate());
    const client = await this.admin();
    for (;;) {
      const reused = this.free.pop();
      const schema = reused ?? (await this.create());
      let problem: unknown = 'its tables differ from the template';
      try {
        const results = (await client.query(template.reset(schema))) as unknown as pg.QueryResult[];
        if (results.find((r) => r.command === 'SELECT')?.rows[0]?.fingerprint === template.fingerprint) return schema;
      } catch (error) {
        problem = error;
        await client.query('rollback').catch(() => {});
      }
      // A test changed its tables (dropped one, say): this schema is no copy of the template any more.
      await client.query(`drop schema if exists "${schema}" cascade`);
      this.made.splice(this.made.indexOf(schema), 1);
      if (!reused) throw new Error(`test harness: a newly migrated schema is no copy of the template: ${String(problem)}`);
    }
  }

  /** The URL of the test database with `schema` as every connection's search path. */
  urlOf(schema: string): string {
    const url = new URL(this.url);
    url.searchParams.set('options', `-c search_path=${schema}`);
    return url.toString();
  }

  release(schema: string): void {
    this.free.push(schema);
  }

  /** Drops every schema of this file. */
  async dropAll(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    this.template = undefined;
    try {
      if (this.made.length > 0) await client.query(`drop schema if exists ${this.made.map((s) => `"${s}"`).join(', ')} cascade`);
      this.made.length = 0;
      this.free.length = 0;
    } finally {
      await client.end();
    }
  }
}

/**
 * One line per column, constraint and index of the tables in the current schema, without the
 * schema's name: equal for two schemas with the same tables.
 */
const FINGERPRINT = `select md5(string_agg(item, E'\\n' order by item)) as fingerprint from (
  select format('column %s.%s %s %s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attcollation, pg_get_expr(d.adbin, d.adrelid)) as item
    from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
    where c.relnamespace = current_schema()::regnamespace and c.relkind = 'r'
  union all
  select format('constraint %s %s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
    from pg_constraint k join pg_class c on c.oid = k.conrelid where k.connamespace = current_schema()::regnamespace
  union all
  select format('index %s', replace(pg_get_indexdef(i.indexrelid), quote_ident(current_schema()) || '.', ''))
    from pg_index i join pg_class c on c.oid = i.indexrelid where c.relnamespace = current_schema()::regnamespace
) items`;

const postgresSchemas = new PostgresSchemas();

/** Drops the PostgreSQL schemas of the test file that just ran (setup.ts, after every file). */
export function releaseTestDatabases(): Promise<void> {
  return postgresSchemas.dropAll();
}

/**
 * A clock for simulated devices (`ds simulate`, or the engine's `advance`) that moves this DS's
 * fake clock and then runs DS's scheduler once, as its timer would each minute: month rollovers,
 * adoption snapshots, rollout gates. `moved` runs in between, for a test that changes DS at a
 * point in simulated time.
 */
export function schedulerClock(ctx: TestContext, moved?: (from: Date, to: Date) => Promise<void>): { now: () => Date; advance: (ms: number) => Promise<void> } {
  const scheduler = new CounterScheduler(ctx.app.services);
  return {
    now: () => ctx.clock.now(),
    advance: async (ms: number) => {
      const from = ctx.clock.now();
      ctx.clock.advance(ms);
      await moved?.(from, ctx.clock.now());
      await scheduler.tick();
    },
  };
}
