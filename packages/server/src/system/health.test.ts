import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { migrations } from '../db/migrations/index.js';
import { DsKeyStore } from '../keys/keystore.js';
import { silentLogger } from '../lib/logger.js';
import { TEST_MASTER_KEY, createTestContext, type TestContext } from '../test/harness.js';

// /livez answers whenever the process does; /readyz only when DS can serve: the database answers,
// its migrations are current and the DS keys are loaded. Each failure is a 503 naming its check,
// on SQLite and PostgreSQL, and says nothing of the database's address or error text.

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(async () => ctx.close());

const get = async (app: { request(path: string): Response | Promise<Response> }, path: string) => {
  const res = await app.request(path);
  return { status: res.status, cache: res.headers.get('cache-control'), body: (await res.json()) as Record<string, any> };
};
const OK = { ok: true };

describe('/livez and /readyz', () => {
  it('answer 200 when everything is in order, never cached', async () => {
    expect(await get(ctx.app, '/livez')).toEqual({ status: 200, cache: 'no-store', body: { status: 'ok' } });
    expect(await get(ctx.app, '/readyz')).toEqual({ status: 200, cache: 'no-store', body: { status: 'ok', checks: { database: OK, migrations: OK, keys: OK } } });
  });

  it('/readyz: 503 naming the migration that is not applied, and 200 again once it is', async () => {
    const last = Object.keys(migrations).at(-1)!;
    const applied = await sql<{ appliedAt: string }>`select applied_at from ds_migrations where name = ${last}`.execute(ctx.database.db);
    await sql`delete from ds_migrations where name = ${last}`.execute(ctx.database.db);
    const res = await get(ctx.app, '/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      status: 'unavailable',
      checks: { database: OK, migrations: { ok: false, error: '1 migration(s) not applied: run ds db migrate', pending: [last] }, keys: OK },
    });
    expect((await get(ctx.app, '/livez')).status).toBe(200);
    await sql`insert into ds_migrations (name, applied_at) values (${last}, ${applied.rows[0]!.appliedAt})`.execute(ctx.database.db);
    expect((await get(ctx.app, '/readyz')).status).toBe(200);
  });

  it('/readyz: 503 when the DS keys are not loaded', async () => {
    // A DS whose key store never loaded (the keys of the database are there, this process has none).
    const app = createApp({ database: ctx.database, clock: ctx.clock, logger: silentLogger, config: ctx.config, startedAt: ctx.clock.now(), version: '0.0.0-test', keys: new DsKeyStore(ctx.database.db, ctx.clock, TEST_MASTER_KEY) });
    const res = await get(app, '/readyz');
    expect(res.status).toBe(503);
    expect(res.body.checks).toEqual({ database: OK, migrations: OK, keys: { ok: false, error: 'the DS keys are not loaded (no current signing or encryption key)' } });
    expect((await get(app, '/livez')).status).toBe(200);
    // The same database with its keys loaded is ready.
    expect((await get(ctx.app, '/readyz')).status).toBe(200);
  });

  it('/readyz: 503 when the database does not answer, without its error; /livez still 200', async () => {
    const close = ctx.database.close.bind(ctx.database);
    await close();
    // The harness closes the database after the test; it is closed already.
    ctx.database.close = async () => {};
    const res = await get(ctx.app, '/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      status: 'unavailable',
      checks: { database: { ok: false, error: 'the database does not answer' }, migrations: { ok: false, error: 'unknown: the database does not answer' }, keys: OK },
    });
    expect(await get(ctx.app, '/livez')).toEqual({ status: 200, cache: 'no-store', body: { status: 'ok' } });
  });

  it('/readyz and /livez are public and answer HEAD too (load balancers)', async () => {
    for (const path of ['/livez', '/readyz']) {
      const res = await ctx.app.request(path, { method: 'HEAD' });
      expect(res.status).toBe(200);
    }
  });
});
