import { describe, expect, it } from 'vitest';
import { startupFixture } from '../test/startup.js';

// A DS start on PostgreSQL without a master key. PostgreSQL pass only (vitest.config.ts).

const { admin, freshDatabase, start, schema } = startupFixture();

describe('PostgreSQL without a master key', () => {
  it('refuses to start, naming both variables, before it changes anything', async () => {
    const url = await freshDatabase();
    await expect(start(url)).rejects.toThrow(/DS on PostgreSQL needs a master key .*set DS_MASTER_KEY .*or DS_MASTER_KEY_FILE .*the same on every DS node/);
    const tables = await admin((c) => c.query(`select table_name from information_schema.tables where table_schema = $1`, [schema()]));
    expect(tables.rows).toEqual([]);
  });
});
