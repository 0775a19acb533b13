import pg from 'pg';
import { afterAll } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../db/database.js';
import { TEST_DIALECT } from './harness.js';
import { migrations } from '../db/migrations/index.js';

/**
 * For a test of one migration on a database that already holds data: a database of the test's
 * dialect (its own PostgreSQL schema) with every migration before `name` applied, closed and
 * dropped after the file's tests. The test inserts the rows an installation would have, runs
 * `migrations[name].up` and checks what became of them.
 */
export function databaseBefore(name: string): () => Promise<DatabaseHandle> {
  const names = Object.keys(migrations);
  const index = names.indexOf(name);
  if (index < 0) throw new Error(`no migration named ${name}`);
  const schema = `ds_mig_${name.slice(0, 4)}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const postgresUrl = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  let handle: DatabaseHandle | undefined;

  afterAll(async () => {
    await handle?.close();
    if (TEST_DIALECT === 'postgres') {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    }
  });

  return async () => {
    handle = TEST_DIALECT === 'postgres' ? await openDatabase(postgresUrl, { schema, poolSize: 2 }) : await openDatabase(':memory:');
    for (const earlier of names.slice(0, index)) await migrations[earlier]!.up(handle.db);
    return handle;
  };
}
