import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import { CamelCasePlugin, Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type MigrationResult } from 'kysely';
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
  /** Size in bytes of the database (file or PostgreSQL database). */
  sizeBytes(): Promise<number | null>;
  /** True when a trivial query answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
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

function openSqlite(url: string): DatabaseHandle {
  const path = sqlitePath(url);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }), plugins: [new CamelCasePlugin()] });
  return {
    db,
    kind: 'sqlite',
    location: path,
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
      await client.query(`create schema if not exists "${schema}"`);
    } finally {
      await client.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    ...(schema ? { options: `-c search_path="${schema}"` } : {}),
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()] });
  const safeUrl = new URL(url);
  safeUrl.password = '';
  return {
    db,
    kind: 'postgres',
    location: safeUrl.toString(),
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

/** Applies every pending migration; answers the names applied. Throws on the first failure. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r: MigrationResult) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Writes a consistent copy of a live SQLite database to `target` with SQLite's online backup
 * API, so a server may keep writing while it runs.
 */
export async function backupSqlite(url: string, target: string): Promise<{ path: string; bytes: number }> {
  if (isPostgresUrl(url)) throw new Error('ds db backup copies SQLite databases; for PostgreSQL use pg_dump');
  const source = sqlitePath(url);
  if (source === ':memory:') throw new Error('an in-memory database cannot be backed up');
  const destination = resolve(target);
  if (destination === source) throw new Error('the backup file must not be the database itself');
  mkdirSync(dirname(destination), { recursive: true });
  const sqlite = new SQLite(source, { fileMustExist: true, readonly: false });
  try {
    sqlite.pragma('busy_timeout = 5000');
    await sqlite.backup(destination);
  } finally {
    sqlite.close();
  }
  return { path: destination, bytes: statSync(destination).size };
}
