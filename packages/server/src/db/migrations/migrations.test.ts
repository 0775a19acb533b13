import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { TEST_DIALECT } from '../../test/harness.js';
import { migrations } from './index.js';
import { databaseBefore } from '../../test/upgrade.js';

// 0004 rebuilds the counter tables on SQLite (WITHOUT ROWID) and derives the per-label totals:
// an installation upgrading with counters must keep every one of them.

describe('upgrading to 0004 with counters in the database', () => {
  const openBefore0004 = databaseBefore('0004-counter-history');

  it('keeps every counter row and derives the per-label daily totals from them', async () => {
    const db = (await openBefore0004()).db;
    const daily = [
      { label: 'acme-web', module: 'beid', useCase: 'sign', day: '2026-10-31', counter: 4 },
      { label: 'acme-web', module: 'beid', useCase: 'sign', day: '2026-11-01', counter: 5 },
      { label: 'acme-web', module: 'emv', useCase: 'pay', day: '2026-11-01', counter: 6 },
      { label: 'globex', module: 'beid', useCase: 'read', day: '2026-11-02', counter: 7 },
    ];
    const device = [
      { deviceId: 'd1', label: 'acme-web', module: 'beid', useCase: 'sign', month: '2026-11', counter: 5, updatedAt: '2026-11-01T10:00:00.000Z' },
      { deviceId: 'd2', label: 'globex', module: 'beid', useCase: 'read', month: '2026-10', counter: 3, updatedAt: '2026-10-20T10:00:00.000Z' },
    ];
    await db.insertInto('labelDailyCounters').values(daily).execute();
    await db.insertInto('deviceCounters').values(device).execute();

    await migrations['0004-counter-history']!.up(db);

    const order = (q: any) => q.orderBy('label').orderBy('module').orderBy('useCase');
    expect(await order(db.selectFrom('labelDailyCounters').selectAll()).orderBy('day').execute()).toEqual(daily);
    expect(await db.selectFrom('deviceCounters').selectAll().orderBy('deviceId').execute()).toEqual(device);
    expect(await db.selectFrom('labelDailyTotals').selectAll().orderBy('label').orderBy('day').execute()).toEqual([
      { label: 'acme-web', day: '2026-10-31', counter: 4 },
      { label: 'acme-web', day: '2026-11-01', counter: 11 },
      { label: 'globex', day: '2026-11-02', counter: 7 },
    ]);
    if (TEST_DIALECT === 'sqlite') {
      const tables = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'table' and name like '%counters'`.execute(db);
      for (const t of tables.rows) expect(t.sql, t.name).toMatch(/without rowid$/i);
      expect(tables.rows).toHaveLength(3);
    }
    // The tables still upsert on their keys.
    await db
      .insertInto('labelDailyCounters')
      .values({ label: 'acme-web', module: 'beid', useCase: 'sign', day: '2026-11-01', counter: 1 })
      .onConflict((oc) => oc.columns(['label', 'module', 'useCase', 'day']).doUpdateSet({ counter: 99 }))
      .execute();
    const row = await db.selectFrom('labelDailyCounters').select('counter').where('label', '=', 'acme-web').where('day', '=', '2026-11-01').where('module', '=', 'beid').executeTakeFirstOrThrow();
    expect(row.counter).toBe(99);
  });
});
