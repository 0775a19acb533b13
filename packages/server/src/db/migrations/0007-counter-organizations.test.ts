import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { TEST_DIALECT } from '../../test/harness.js';
import { migrations } from './index.js';
import { databaseBefore } from '../../test/upgrade.js';

// 0007 rebuilds every counter table with the organization in its key: an installation upgrading
// with counters keeps every one of them, each bound to the organization its label has at that
// moment (unattributed when the label no longer exists).

const ACME = 'a0000000-0000-4000-8000-00000000000a';
const GLOBEX = 'b0000000-0000-4000-8000-00000000000b';
const T = '2026-03-01T00:00:00.000Z';

describe('upgrading to 0007 with counters in the database', () => {
  const openBefore0007 = databaseBefore('0007-counter-organizations');

  it('binds every counter row to its label\'s organization, unattributed when the label is gone, and keys the tables by it', async () => {
    const db = (await openBefore0007()).db as any;

    await db.insertInto('organizations').values([
      { id: ACME, name: 'acme', description: null, createdAt: T, updatedAt: T },
      { id: GLOBEX, name: 'globex', description: null, createdAt: T, updatedAt: T },
    ]).execute();
    await db.insertInto('labels').values([
      { id: crypto.randomUUID(), name: 'acme-web', organizationId: ACME, description: null, createdAt: T, updatedAt: T },
      { id: crypto.randomUUID(), name: 'globex-web', organizationId: GLOBEX, description: null, createdAt: T, updatedAt: T },
    ]).execute();
    const device = { certFingerprint: 'fp', certificate: 'pem', publicJwk: '{}', keyAlg: 'ES256', version: '3.8.1', osName: null, osVersion: null, osArch: null, hostname: null, status: 'ACTIVE', registeredAt: T, lastSyncAt: null, updatedAt: T, jwksVersion: null };
    await db.insertInto('devices').values({ id: 'd1', ...device }).execute();
    // `gone` is a label deleted before the upgrade.
    await db.insertInto('labelDailyCounters').values([
      { label: 'acme-web', module: 'beid', useCase: 'sign', day: '2026-03-02', counter: 1 },
      { label: 'globex-web', module: 'beid', useCase: 'sign', day: '2026-03-02', counter: 2 },
      { label: 'gone', module: 'beid', useCase: 'sign', day: '2026-03-02', counter: 3 },
    ]).execute();
    await db.insertInto('labelDailyTotals').values([
      { label: 'acme-web', day: '2026-03-02', counter: 1 },
      { label: 'globex-web', day: '2026-03-02', counter: 2 },
      { label: 'gone', day: '2026-03-02', counter: 3 },
    ]).execute();
    await db.insertInto('labelMonthlyCounters').values([
      { label: 'acme-web', module: 'beid', useCase: 'sign', month: '2026-02', counter: 10 },
      { label: 'gone', module: 'emv', useCase: 'pay', month: '2026-01', counter: 30 },
    ]).execute();
    await db.insertInto('labelMonthlyTotals').values([
      { label: 'acme-web', month: '2026-02', counter: 10 },
      { label: 'gone', month: '2026-01', counter: 30 },
    ]).execute();
    await db.insertInto('deviceCounters').values([
      { deviceId: 'd1', label: 'acme-web', module: 'beid', useCase: 'sign', month: '2026-03', counter: 1, updatedAt: T },
      { deviceId: 'd1', label: 'gone', module: 'beid', useCase: 'sign', month: '2026-03', counter: 3, updatedAt: T },
    ]).execute();

    const cacheSize = async () => (TEST_DIALECT === 'sqlite' ? Object.values((await sql<Record<string, number>>`pragma cache_size`.execute(db)).rows[0]!)[0] : null);
    const cacheBefore = await cacheSize();
    await migrations['0007-counter-organizations']!.up(db);
    // The larger page cache of the copy is given back.
    expect(await cacheSize()).toBe(cacheBefore);

    const rows = (table: string, ...order: string[]) => order.reduce((q, c) => q.orderBy(c), db.selectFrom(table).selectAll()).execute();
    expect(await rows('labelDailyCounters', 'label')).toEqual([
      { organizationId: ACME, label: 'acme-web', module: 'beid', useCase: 'sign', day: '2026-03-02', counter: 1 },
      { organizationId: GLOBEX, label: 'globex-web', module: 'beid', useCase: 'sign', day: '2026-03-02', counter: 2 },
      { organizationId: '', label: 'gone', module: 'beid', useCase: 'sign', day: '2026-03-02', counter: 3 },
    ]);
    expect(await rows('labelDailyTotals', 'label')).toEqual([
      { organizationId: ACME, label: 'acme-web', day: '2026-03-02', counter: 1 },
      { organizationId: GLOBEX, label: 'globex-web', day: '2026-03-02', counter: 2 },
      { organizationId: '', label: 'gone', day: '2026-03-02', counter: 3 },
    ]);
    expect(await rows('labelMonthlyCounters', 'label')).toEqual([
      { organizationId: ACME, label: 'acme-web', module: 'beid', useCase: 'sign', month: '2026-02', counter: 10 },
      { organizationId: '', label: 'gone', module: 'emv', useCase: 'pay', month: '2026-01', counter: 30 },
    ]);
    expect(await rows('labelMonthlyTotals', 'label')).toEqual([
      { organizationId: ACME, label: 'acme-web', month: '2026-02', counter: 10 },
      { organizationId: '', label: 'gone', month: '2026-01', counter: 30 },
    ]);
    expect(await rows('deviceCounters', 'label')).toEqual([
      { deviceId: 'd1', organizationId: ACME, label: 'acme-web', module: 'beid', useCase: 'sign', month: '2026-03', counter: 1, updatedAt: T },
      { deviceId: 'd1', organizationId: '', label: 'gone', module: 'beid', useCase: 'sign', month: '2026-03', counter: 3, updatedAt: T },
    ]);
    expect(await db.selectFrom('devices').select(['dailyLimitReachedAt', 'messageWindow', 'messageCount']).execute()).toEqual([
      { dailyLimitReachedAt: null, messageWindow: null, messageCount: 0 },
    ]);
    expect(await db.selectFrom('deviceDailyTotals').selectAll().execute()).toEqual([]);

    // The same label, module, use case and day may now have a row per organization; each upserts on its own key.
    const add = (organizationId: string, counter: number) =>
      db
        .insertInto('labelDailyCounters')
        .values({ organizationId, label: 'acme-web', module: 'beid', useCase: 'sign', day: '2026-03-02', counter })
        .onConflict((oc: any) => oc.columns(['organizationId', 'label', 'module', 'useCase', 'day']).doUpdateSet((eb: any) => ({ counter: sql`${eb.ref('labelDailyCounters.counter')} + ${eb.ref('excluded.counter')}` })))
        .execute();
    await add(GLOBEX, 5);
    await add(ACME, 4);
    expect((await db.selectFrom('labelDailyCounters').select(['organizationId', 'counter']).where('label', '=', 'acme-web').orderBy('organizationId').execute())).toEqual(
      [
        { organizationId: ACME, counter: 5 },
        { organizationId: GLOBEX, counter: 5 },
      ].sort((a, b) => (a.organizationId < b.organizationId ? -1 : 1)),
    );
    // Rows written without an organization (older tools) are unattributed.
    await db.insertInto('labelDailyTotals').values({ label: 'other', day: '2026-03-03', counter: 1 }).execute();
    expect((await db.selectFrom('labelDailyTotals').select('organizationId').where('label', '=', 'other').executeTakeFirst()).organizationId).toBe('');

    if (TEST_DIALECT === 'sqlite') {
      const tables = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'table' and (name like '%counters' or name like '%totals')`.execute(db);
      expect(tables.rows.map((t) => t.name).sort()).toEqual(['device_counters', 'device_daily_totals', 'label_daily_counters', 'label_daily_totals', 'label_monthly_counters', 'label_monthly_totals']);
      for (const t of tables.rows) expect(t.sql, t.name).toMatch(/without rowid$/i);
    }
    const indexes =
      TEST_DIALECT === 'sqlite'
        ? (await sql<{ name: string }>`select name from sqlite_master where type = 'index' and name not like 'sqlite_%'`.execute(db)).rows.map((r) => r.name)
        : (await sql<{ name: string }>`select indexname as name from pg_indexes where schemaname = current_schema()`.execute(db)).rows.map((r) => r.name);
    expect(indexes).toEqual(
      expect.arrayContaining([
        'label_daily_counters_period_idx',
        'label_monthly_counters_month_idx',
        'label_monthly_totals_month_idx',
        'device_counters_organization_idx',
        'device_daily_totals_day_idx',
      ]),
    );
    expect(indexes).not.toContain('device_counters_label_idx');
  });
});
