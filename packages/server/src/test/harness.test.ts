import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../db/database.js';
import { createTestContext, TEST_DIALECT, type TestContext } from './harness.js';

// Contexts start from a copy of a template made once per file (harness.ts): the copy must be what
// migrating a new database gives, with the admin user, and DS keys of its own.

/** The tables, columns, indexes and constraints of a database, without the schema's name. */
async function describeSchema(database: DatabaseHandle): Promise<string[]> {
  if (database.kind === 'sqlite') {
    const { rows } = await sql<{ type: string; name: string; sql: string }>`select type, name, sql from sqlite_master where name not like 'sqlite_%' order by name`.execute(database.db);
    return rows.map((r) => `${r.type} ${r.name} ${r.sql}`);
  }
  const { rows } = await sql<{ item: string }>`
    select format('%s.%s %s %s %s', table_name, column_name, data_type, is_nullable, column_default) as item from information_schema.columns where table_schema = current_schema()
    union all select format('%s %s', tablename, replace(indexdef, current_schema() || '.', '')) from pg_indexes where schemaname = current_schema()
    union all select format('%s %s', conname, pg_get_constraintdef(oid)) from pg_constraint where connamespace = current_schema()::regnamespace
    order by 1`.execute(database.db);
  return rows.map((r) => r.item);
}

describe('test contexts', () => {
  const contexts: TestContext[] = [];
  let migrated: DatabaseHandle | undefined;
  const postgresUrl = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `ds_harness_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  afterEach(async () => {
    for (const ctx of contexts.splice(0)) await ctx.close();
    if (migrated) {
      if (migrated.kind === 'postgres') await sql`drop schema ${sql.id(schema)} cascade`.execute(migrated.db);
      await migrated.close();
      migrated = undefined;
    }
  });
  const context = async () => {
    const ctx = await createTestContext();
    contexts.push(ctx);
    return ctx;
  };

  it('have the schema migrations make, the admin user, and DS keys of their own', async () => {
    migrated = TEST_DIALECT === 'postgres' ? await openDatabase(postgresUrl, { schema, poolSize: 1 }) : await openDatabase(':memory:');
    await migrateToLatest(migrated);
    const [a, b] = [await context(), await context()];
    expect(await describeSchema(a.database)).toEqual(await describeSchema(migrated));
    expect(await describeSchema(b.database)).toEqual(await describeSchema(migrated));
    const migrations = async (d: DatabaseHandle) => (await d.db.selectFrom('dsMigrations' as never).select('name' as never).orderBy('name' as never).execute()) as unknown[];
    expect(await migrations(a.database)).toEqual(await migrations(migrated));
    expect(await a.login()).toMatch(/^ds_ses_/);
    const kids = async (ctx: TestContext) => (await ctx.database.db.selectFrom('dsKeys').select('kid').execute()).map((k) => k.kid).sort();
    expect(await kids(a)).toHaveLength(2);
    expect(await kids(b)).toHaveLength(2);
    expect(await kids(a)).not.toEqual(await kids(b));
  });

  it('start empty again after a test wrote rows and even dropped a table', async () => {
    const first = await context();
    const admin = await first.login();
    expect((await first.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} })).status).toBe(201);
    await first.database.db.schema.dropTable('download_events').execute();
    await first.close();
    contexts.splice(0);
    for (let i = 0; i < 2; i++) {
      const next = await context();
      const token = await next.login();
      expect((await next.request('GET', '/v3_5/admin/organizations', { token })).body.data).toEqual([]);
      expect(await next.database.db.selectFrom('downloadEvents').selectAll().execute()).toEqual([]);
      expect(await next.database.db.selectFrom('users').select('username').execute()).toEqual([{ username: 'admin' }]);
    }
  });
});
