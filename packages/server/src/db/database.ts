import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import { CamelCasePlugin, CompiledQuery, Kysely, PostgresDialect, SqliteDialect, sql, type DatabaseConnection, type Driver } from 'kysely';
import pg from 'pg';
import type { Database, Db } from './types.js';
import { migrations } from './migrations/index.js';

// PostgreSQL returns bigint (int8) and count(*) as strings; our counters stay far below 2^53.
pg.types.setTypeParser(20, (value) => Number(value));
pg.types.setTypeParser(1700, (value) => Number(value));

export type DatabaseKind = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Db;
  kind: DatabaseKind;
  /** Where it is: the SQLite file path (or `:memory:`) or the PostgreSQL URL without password. */
  location: string;
  /** PostgreSQL: the schema tables live in (`current_schema()`); null on SQLite. */
  schema: string | null;
  /**
   * SQLite only: runs `fn` with the raw better-sqlite3 connection while holding Kysely's
   * connection, so it never interleaves with a Kysely transaction. For hot paths in db/ only.
   */
  withRawSqlite?: <T>(fn: (sqlite: SQLite.Database) => T) => Promise<T>;
  /**
   * PostgreSQL only: runs one statement as a named prepared statement, parsed and planned once per
   * connection instead of every time (rows as the driver answers them, without Kysely's plugins).
   * For hot paths in db/ only; `name` must always come with the same `text`.
   */
  preparedPostgres?: <R>(name: string, text: string, values: unknown[]) => Promise<R[]>;
  /** Size in bytes of the database (file or PostgreSQL database). */
  sizeBytes(): Promise<number | null>;
  /** True when a trivial query answers. */
  ping(): Promise<boolean>;
  /**
   * Has `observer` told the duration of every transaction from begin to commit or rollback (the
   * app's metrics). Kysely's transactions are timed by the driver; a hot path in db/ that runs its
   * own (the SQLite sync store) reports through {@link DatabaseHandle.transactionTimed}.
   */
  observeTransactions(observer: TransactionObserver): void;
  /** Reports a transaction run outside Kysely. */
  transactionTimed: TransactionObserver;
  close(): Promise<void>;
}

/** Told each transaction's outcome and duration in seconds. */
export type TransactionObserver = (committed: boolean, seconds: number) => void;

/** Where the driver reports transactions: the observer the app sets, none until then. */
class TransactionTiming {
  observer: TransactionObserver | undefined;
  private readonly started = new WeakMap<DatabaseConnection, number>();
  readonly report: TransactionObserver = (committed, seconds) => this.observer?.(committed, seconds);

  /** Wraps a driver's begin, commit and rollback to time each transaction of a connection. */
  wrap(driver: Driver): Driver {
    const { beginTransaction, commitTransaction, rollbackTransaction } = driver;
    driver.beginTransaction = async (connection, settings) => {
      await beginTransaction.call(driver, connection, settings);
      this.started.set(connection, performance.now());
    };
    const end = (committed: boolean, fn: (connection: DatabaseConnection) => Promise<void>) => async (connection: DatabaseConnection) => {
      try {
        await fn.call(driver, connection);
      } finally {
        const started = this.started.get(connection);
        if (started !== undefined) {
          this.started.delete(connection);
          this.observer?.(committed, (performance.now() - started) / 1000);
        }
      }
    };
    driver.commitTransaction = end(true, commitTransaction);
    driver.rollbackTransaction = end(false, rollbackTransaction);
    return driver;
  }
}

export interface OpenOptions {
  /** PostgreSQL only: the schema to use (created if missing); tests use one per run. */
  schema?: string;
  /** PostgreSQL only: pool size. */
  poolSize?: number;
}

/** True when `url` names a PostgreSQL database. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** Resolves a SQLite location given as a path or a `file:` URL. */
export function sqlitePath(url: string): string {
  if (url === ':memory:') return url;
  if (url.startsWith('file:')) return fileURLToPath(new URL(url, `file://${process.cwd()}/`));
  return resolve(url);
}

/** Opens (and creates if needed) the database named by `url`. Does not migrate. */
export async function openDatabase(url: string, options: OpenOptions = {}): Promise<DatabaseHandle> {
  return isPostgresUrl(url) ? openPostgres(url, options) : openSqlite(url);
}

/**
 * SQLite transactions start with BEGIN IMMEDIATE, which takes the write lock up front (waiting up
 * to the busy timeout). A deferred BEGIN that reads first fails at once with SQLITE_BUSY when
 * another process (`ds serve --workers`, a second DS) committed in between, since in WAL mode a
 * reader with an old snapshot may not become a writer. Every DS transaction writes.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  constructor(
    config: ConstructorParameters<typeof SqliteDialect>[0],
    private readonly timing: TransactionTiming,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return this.timing.wrap(driver);
  }
}

class TimedPostgresDialect extends PostgresDialect {
  constructor(
    config: ConstructorParameters<typeof PostgresDialect>[0],
    private readonly timing: TransactionTiming,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    return this.timing.wrap(super.createDriver());
  }
}

function openSqlite(url: string): DatabaseHandle {
  const path = sqlitePath(url);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Checkpoint the WAL every 10,000 pages (about 40 MB) rather than SQLite's 1,000: a sync writes
  // about 30 pages, mostly the same counter pages as the syncs before it, and a checkpoint copies
  // each page once however often it was written since, then syncs the file. bench:sync (hot, one
  // process): SQLite's share of a sync 262-344 -> 168-181 µs, DS CPU per sync 3.0-3.5 -> 2.5-2.9 ms.
  sqlite.pragma('wal_autocheckpoint = 10000');
  const timing = new TransactionTiming();
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }, timing), plugins: [new CamelCasePlugin()] });
  return {
    db,
    kind: 'sqlite',
    observeTransactions: (observer) => void (timing.observer = observer),
    transactionTimed: timing.report,
    location: path,
    schema: null,
    withRawSqlite: (fn) => db.connection().execute(async () => fn(sqlite)),
    async sizeBytes() {
      const pageCount = sqlite.pragma('page_count', { simple: true }) as number;
      const pageSize = sqlite.pragma('page_size', { simple: true }) as number;
      return pageCount * pageSize;
    },
    async ping() {
      try {
        sqlite.prepare('select 1').get();
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await db.destroy();
    },
  };
}

async function openPostgres(url: string, options: OpenOptions): Promise<DatabaseHandle> {
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  if (schema) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // Under a lock: `create schema if not exists` run twice at once fails one on pg_namespace.
      await client.query('begin');
      await client.query(`select pg_advisory_xact_lock(hashtext($1))`, [`ds.schema.${schema}`]);
      await client.query(`create schema if not exists "${schema}"`);
      await client.query('commit');
    } finally {
      await client.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    ...(schema ? { options: `-c search_path="${schema}"` } : {}),
  });
  const timing = new TransactionTiming();
  const db = new Kysely<Database>({ dialect: new TimedPostgresDialect({ pool }, timing), plugins: [new CamelCasePlugin()] });
  const safeUrl = new URL(url);
  safeUrl.password = '';
  let currentSchema: string;
  try {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    currentSchema = rows[0]?.schema ?? 'public';
  } catch (error) {
    await db.destroy();
    throw new Error(`cannot connect to PostgreSQL at ${safeUrl.host}: ${(error as Error).message}`);
  }
  return {
    db,
    kind: 'postgres',
    location: safeUrl.toString(),
    observeTransactions: (observer) => void (timing.observer = observer),
    transactionTimed: timing.report,
    preparedPostgres: async <R>(name: string, text: string, values: unknown[]) => (await pool.query({ name, text, values })).rows as R[],
    schema: currentSchema,
    async sizeBytes() {
      const { rows } = await sql<{ size: number }>`select pg_database_size(current_database()) as size`.execute(db);
      return rows[0]?.size ?? null;
    },
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await db.destroy();
    },
  };
}

/**
 * Applies every pending migration in order, each with its record in `ds_migrations`, all in one
 * transaction that holds a lock, so concurrent DS processes starting together migrate once.
 * Answers the names applied. (Kysely's Migrator introspects every schema of the database, which
 * races with other schemas being dropped on a shared PostgreSQL; this needs no introspection.)
 */
export async function migrateToLatest(handle: Pick<DatabaseHandle, 'db' | 'kind'>): Promise<string[]> {
  const db = handle.db as unknown as Kysely<any>;
  // Created under the lock too: PostgreSQL's `create table if not exists` is not safe against
  // itself, two processes creating the table at once fail one of them on pg_type's unique index.
  const apply = async (trx: Kysely<any>) => {
    await sql`create table if not exists ds_migrations (name text primary key, applied_at text not null)`.execute(trx);
    const done = new Set((await sql<{ name: string }>`select name from ds_migrations`.execute(trx)).rows.map((r) => r.name));
    const applied: string[] = [];
    for (const [name, migration] of Object.entries(migrations)) {
      if (done.has(name)) continue;
      try {
        await migration.up(trx);
      } catch (error) {
        throw new Error(`migration ${name} failed: ${(error as Error).message}`);
      }
      await sql`insert into ds_migrations (name, applied_at) values (${name}, ${new Date().toISOString()})`.execute(trx);
      applied.push(name);
    }
    return applied;
  };
  if (handle.kind === 'postgres') {
    return db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.ds_migrations'))`.execute(trx);
      return apply(trx);
    });
  }
  // SQLite: take the write lock up front so a second process waits instead of failing mid-way.
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const applied = await apply(conn);
      await sql`commit`.execute(conn);
      return applied;
    } catch (error) {
      await sql`rollback`.execute(conn);
      throw error;
    }
  });
}

/**
 * Writes a consistent copy of a live SQLite database to `target` while servers keep writing.
 *
 * `VACUUM INTO` reads the whole database in one read transaction: in WAL mode writers go on
 * meanwhile, and the copy is the database as it was when the copy began, compacted. (SQLite's
 * online backup API, used before, starts over whenever another connection writes, so under a
 * steady stream of syncs it could run forever.) The copy is written beside the target and renamed
 * over it, so the target is never a half-written file; it uses the rollback journal, like any new
 * database, and DS switches it to WAL when it opens it.
 */
export async function backupSqlite(url: string, target: string): Promise<{ path: string; bytes: number }> {
  if (isPostgresUrl(url)) throw new Error('ds db backup copies SQLite databases; for PostgreSQL use pg_dump');
  const source = sqlitePath(url);
  if (source === ':memory:') throw new Error('an in-memory database cannot be backed up');
  const destination = resolve(target);
  if (destination === source) throw new Error('the backup file must not be the database itself');
  mkdirSync(dirname(destination), { recursive: true });
  const partial = `${destination}.partial-${process.pid}`;
  const sqlite = new SQLite(source, { fileMustExist: true });
  try {
    sqlite.pragma('busy_timeout = 5000');
    rmSync(partial, { force: true });
    sqlite.prepare('vacuum into ?').run(partial);
    renameSync(partial, destination);
  } finally {
    sqlite.close();
    rmSync(partial, { force: true });
  }
  return { path: destination, bytes: statSync(destination).size };
}
