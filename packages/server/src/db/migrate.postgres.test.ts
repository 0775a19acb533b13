import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from './migrations/index.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './database.js';

// DS processes starting together on an empty PostgreSQL schema: PostgreSQL pass only
// (vitest.config.ts); on SQLite `begin immediate` serializes them.

const url = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const opened: DatabaseHandle[] = [];
let schema = '';

afterEach(async () => {
  if (opened[0]) await sql.raw(`drop schema if exists "${schema}" cascade`).execute(opened[0].db);
  await Promise.all(opened.splice(0).map((h) => h.close()));
});

async function open(): Promise<DatabaseHandle> {
  const handle = await openDatabase(url, { schema, poolSize: 2 });
  opened.push(handle);
  return handle;
}

describe('migrateToLatest on one schema from several processes', () => {
  it('waits for a process that is creating the migrations table and then finds it, instead of failing on pg_type', async () => {
    schema = `migrate_${process.pid}_${Date.now().toString(36)}`;
    const other = await open();
    const starting = await open();
    await other.db.connection().execute(async (conn) => {
      // Another DS process, mid-way through its first migration: it holds the lock and has
      // created the table, not yet committed.
      await sql`begin`.execute(conn);
      await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.ds_migrations'))`.execute(conn);
      await sql`create table if not exists ds_migrations (name text primary key, applied_at text not null)`.execute(conn);
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn);
      const otherPid = rows[0]!.pid;

      const migrating = migrateToLatest(starting);
      // Until this one waits on a lock the other holds (a condition, not a delay).
      for (;;) {
        const waiting = await sql<{ n: number }>`
          select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock' and ${otherPid} = any(pg_blocking_pids(pid))`.execute(starting.db);
        if (waiting.rows[0]!.n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await sql`commit`.execute(conn);
      expect(await migrating).toEqual(Object.keys(migrations));
    });
    const applied = await sql<{ name: string }>`select name from ds_migrations order by name`.execute(starting.db);
    expect(applied.rows.map((r) => r.name)).toEqual(Object.keys(migrations).sort());
  });

  it('applies every migration once when eight processes start at once on an empty schema', async () => {
    schema = `migrate_${process.pid}_${Date.now().toString(36)}`;
    const nodes = await Promise.all(Array.from({ length: 8 }, () => open()));
    const results = await Promise.all(nodes.map((n) => migrateToLatest(n)));
    expect(results.flat().sort()).toEqual(Object.keys(migrations).sort());
    expect(results.filter((r) => r.length > 0)).toHaveLength(1);
  });
});
