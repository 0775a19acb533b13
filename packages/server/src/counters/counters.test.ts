import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceClient, TransactionReportRow } from '@ds/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { openDatabase, migrateToLatest, type DatabaseHandle } from '../db/database.js';
import { FakeClock } from '../lib/clock.js';
import { createTestContext, TEST_DIALECT, type TestContext } from '../test/harness.js';
import { device, seed } from '../test/devices.js';
import { acquireLease, releaseLease } from './job-lock.js';
import { applyRetention } from './retention.js';
import { rollover } from './rollover.service.js';
import { CounterScheduler } from './scheduler.js';

// A year of syncs with a fake clock, the month boundary, late syncs and the reports, compared with
// a ledger of everything the devices sent. Runs on SQLite and PostgreSQL (DS_TEST_DB).

const LABELS = { 'acme-web': 'acme', 'acme-app': 'acme', 'globex-web': 'globex' } as const;
type LabelName = keyof typeof LABELS;
const MODULES = [
  ['beid', 'sign'],
  ['beid', 'read'],
  ['emv', 'pay'],
] as const;

interface Sent {
  device: number;
  label: LabelName;
  module: string;
  useCase: string;
  day: string;
  count: number;
}

/** A small deterministic random source, so a failure can be replayed. */
function random(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

function sum(rows: { transactions?: number; count?: number }[]): number {
  return rows.reduce((a, r) => a + (r.transactions ?? r.count ?? 0), 0);
}

/** The ledger folded the way a report groups it. */
function fold(sent: Sent[], key: (s: Sent) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of sent) out.set(key(s), (out.get(key(s)) ?? 0) + s.count);
  return out;
}

function rowsToMap(rows: TransactionReportRow[], key: (r: TransactionReportRow) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) {
    expect(out.has(key(r)), `duplicate row ${key(r)}`).toBe(false);
    out.set(key(r), r.transactions);
  }
  return out;
}

describe('a year of syncs across month boundaries', () => {
  let ctx: TestContext;
  let admin: string;
  let acmeViewer: string;
  const devices: DeviceClient[] = [];
  const deviceIds: string[] = [];
  const sent: Sent[] = [];
  let scheduler: CounterScheduler;

  const report = async (query: string, token = admin) => {
    const res = await ctx.request('GET', `/v3_5/admin/reports/transactions?${query}`, { token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.data as TransactionReportRow[];
  };

  beforeAll(async () => {
    ctx = await createTestContext();
    ctx.clock.set('2026-01-01T08:00:00.000Z');
    admin = await ctx.login();
    const { installationKey } = await seed(ctx, admin);
    expect((await ctx.request('PUT', '/v3_5/admin/labels/acme-app', { token: admin, body: { organization: 'acme' } })).status).toBe(201);
    expect((await ctx.request('PUT', '/v3_5/admin/organizations/globex', { token: admin, body: {} })).status).toBe(201);
    expect((await ctx.request('PUT', '/v3_5/admin/labels/globex-web', { token: admin, body: { organization: 'globex' } })).status).toBe(201);
    acmeViewer = await ctx.userToken('acme-viewer', 'viewer', 'acme');
    for (let i = 0; i < 3; i++) {
      const d = await device(ctx, installationKey);
      deviceIds.push(await d.register());
      devices.push(d);
    }
    scheduler = new CounterScheduler(ctx.app.services);

    // Every 4 days until mid-December, each device counts some transactions and syncs; the
    // scheduler ticks after every step, as the minute timer would.
    const rnd = random(7);
    const labelsOf: LabelName[][] = [['acme-web'], ['acme-web', 'acme-app', 'globex-web'], ['globex-web']];
    for (let t = Date.parse('2026-01-01T08:00:00Z'); t < Date.parse('2026-12-16T00:00:00Z'); t += 4 * 86_400_000) {
      ctx.clock.set(new Date(t));
      await scheduler.tick();
      for (const [i, d] of devices.entries()) {
        // Device 2 stays silent from June to August: its per-device rows go stale.
        if (i === 2 && t >= Date.parse('2026-06-01') && t < Date.parse('2026-09-01')) continue;
        for (const label of labelsOf[i]!) {
          const [module, useCase] = MODULES[Math.floor(rnd() * MODULES.length)]!;
          const count = 1 + Math.floor(rnd() * 20);
          const day = new Date(t).toISOString().slice(0, 10);
          d.recordTransaction({ label, module, useCase, count });
          sent.push({ device: i, label, module, useCase, day, count });
        }
        await d.sync();
      }
    }
    ctx.clock.set('2026-12-16T12:00:00.000Z');
    await scheduler.tick();
    // The sessions made in January have expired.
    admin = await ctx.login();
    acmeViewer = await ctx.login('acme-viewer', 'acme-viewer-password-123');
  }, 240_000);

  afterAll(async () => {
    await scheduler?.stop();
    await ctx?.close();
  });

  it('rolled every closed month over: only the current month has daily rows', async () => {
    const db = ctx.app.services.db;
    const days = await db.selectFrom('labelDailyCounters').select('day').distinct().execute();
    expect(days.every((d) => d.day.startsWith('2026-12'))).toBe(true);
    const done = await db.selectFrom('counterRollovers').select(['month', 'completedAt']).orderBy('month').execute();
    expect(done.map((r) => r.month)).toEqual(['2025-12', '2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08', '2026-09', '2026-10', '2026-11']);
    expect(done.every((r) => r.completedAt !== null)).toBe(true);
  });

  it('reports every month of the year by organization, label, module and use case exactly as sent', async () => {
    const rows = await report('from=2026-01&to=2026-12&by=month,organization,label,module,useCase');
    const key = (month: string, org: string | null | undefined, label: string | undefined, module: string | undefined, useCase: string | undefined) =>
      [month, org, label, module, useCase].join('|');
    expect(rowsToMap(rows, (r) => key(r.month!, r.organization, r.label, r.module, r.useCase))).toEqual(
      fold(sent, (s) => key(s.day.slice(0, 7), LABELS[s.label], s.label, s.module, s.useCase)),
    );
    expect(sum(rows)).toBe(sum(sent));
  });

  it('the per-label totals always equal the detail rows summed per label', async () => {
    const db = ctx.app.services.db;
    const byLabel = async (table: 'labelDailyCounters' | 'labelDailyTotals' | 'labelMonthlyCounters' | 'labelMonthlyTotals', period: 'day' | 'month') =>
      new Map(
        (
          await db
            .selectFrom(table)
            .select((eb) => [eb.ref('label').as('label'), eb.ref(period).as('period'), eb.fn.sum<number>('counter').as('n')])
            .groupBy(['label', period])
            .execute()
        ).map((r) => [`${r.label}|${r.period}`, Number(r.n)]),
      );
    expect(await byLabel('labelDailyTotals', 'day')).toEqual(await byLabel('labelDailyCounters', 'day'));
    expect(await byLabel('labelMonthlyTotals', 'month')).toEqual(await byLabel('labelMonthlyCounters', 'month'));
    expect((await byLabel('labelMonthlyTotals', 'month')).size).toBeGreaterThan(11);
  });

  it('reports the current month per day and closed months per month', async () => {
    const rows = await report('from=2026-10&to=2026-12&by=day');
    const expected = new Map<string, number>();
    for (const s of sent.filter((s) => s.day >= '2026-10')) {
      const k = s.day.startsWith('2026-12') ? `2026-12|${s.day}` : `${s.day.slice(0, 7)}|null`;
      expected.set(k, (expected.get(k) ?? 0) + s.count);
    }
    expect(rowsToMap(rows, (r) => `${r.month}|${r.day}`)).toEqual(expected);
    // Days within the current month.
    const someDays = await report('from=2026-12-05&to=2026-12-09&by=day,label');
    expect(rowsToMap(someDays, (r) => `${r.day}|${r.label}`)).toEqual(
      fold(
        sent.filter((s) => s.day >= '2026-12-05' && s.day <= '2026-12-09'),
        (s) => `${s.day}|${s.label}`,
      ),
    );
  });

  it('the billing export of one organization and one closed month adds up to what its devices sent', async () => {
    for (const org of ['acme', 'globex']) {
      const rows = await report(`organization=${org}&from=2026-07&to=2026-07&by=label,module,useCase`);
      const mine = sent.filter((s) => LABELS[s.label] === org && s.day.startsWith('2026-07'));
      expect(rowsToMap(rows, (r) => `${r.label}|${r.module}|${r.useCase}`)).toEqual(fold(mine, (s) => `${s.label}|${s.module}|${s.useCase}`));
      expect(sum(rows)).toBe(sum(mine));
    }
  });

  it('reports the current month per device', async () => {
    const rows = await report('by=device,label');
    expect(rowsToMap(rows, (r) => `${r.device}|${r.label}`)).toEqual(
      fold(
        sent.filter((s) => s.day.startsWith('2026-12')),
        (s) => `${deviceIds[s.device]}|${s.label}`,
      ),
    );
  });

  it('filters by label, module and use case', async () => {
    const rows = await report('from=2026-01&to=2026-12&label=acme-web&module=beid&useCase=sign&by=month');
    expect(rowsToMap(rows, (r) => r.month!)).toEqual(
      fold(
        sent.filter((s) => s.label === 'acme-web' && s.module === 'beid' && s.useCase === 'sign'),
        (s) => s.day.slice(0, 7),
      ),
    );
  });

  it('running the rollover again changes nothing', async () => {
    const before = await report('from=2026-01&to=2026-12&by=month,label,module,useCase');
    const tables = async () => ({
      monthly: await ctx.app.services.db.selectFrom('labelMonthlyCounters').selectAll().orderBy('label').orderBy('module').orderBy('useCase').orderBy('month').execute(),
      devices: await ctx.app.services.db.selectFrom('deviceCounters').selectAll().orderBy('deviceId').orderBy('label').orderBy('module').orderBy('useCase').execute(),
    });
    const tablesBefore = await tables();
    const again = await ctx.request('POST', '/v3_5/admin/counters/rollover', { token: admin, body: {} });
    expect(again.status).toBe(200);
    expect(again.body.data).toEqual([]);
    const november = await ctx.request('POST', '/v3_5/admin/counters/rollover', { token: admin, body: { month: '2026-11' } });
    expect(november.body.data).toEqual([{ month: '2026-11', dailyRowsArchived: 0, deviceRowsReset: 0, deviceRowsDeleted: 0, completedAt: expect.stringMatching(/^2026-12-0/) }]);
    expect(await tables()).toEqual(tablesBefore);
    expect(await report('from=2026-01&to=2026-12&by=month,label,module,useCase')).toEqual(before);
  });

  it('refuses to roll over a month that has not ended', async () => {
    const res = await ctx.request('POST', '/v3_5/admin/counters/rollover', { token: admin, body: { month: '2026-12' } });
    expect(res.status).toBe(400);
    expect(res.body.description).toMatch(/2026-12 has not ended/);
  });

  it('a late sync with transactions of a closed month adds them to its archived row', async () => {
    const before = await report('from=2026-11&to=2026-11&by=month,label');
    const d = devices[0]!;
    d.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 5, date: new Date('2026-11-29T10:00:00Z') });
    d.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 2, date: new Date('2026-12-16T10:00:00Z') });
    const answer = await d.sync();
    expect(answer.accepted.transactions).toBe(2);
    sent.push({ device: 0, label: 'acme-web', module: 'beid', useCase: 'sign', day: '2026-11-29', count: 5 });
    sent.push({ device: 0, label: 'acme-web', module: 'beid', useCase: 'sign', day: '2026-12-16', count: 2 });
    const after = await report('from=2026-11&to=2026-11&by=month,label');
    expect(sum(after)).toBe(sum(before) + 5);
    const row = await ctx.app.services.db
      .selectFrom('labelMonthlyCounters')
      .select((eb) => eb.fn.sum<number>('counter').as('n'))
      .where('month', '=', '2026-11')
      .where('label', '=', 'acme-web')
      .executeTakeFirstOrThrow();
    expect(Number(row.n)).toBe(sum(sent.filter((s) => s.label === 'acme-web' && s.day.startsWith('2026-11'))));
    // Nothing of November is in the daily rows, and the whole year still adds up.
    expect(await ctx.app.services.db.selectFrom('labelDailyCounters').select('day').where('day', '<', '2026-12-01').execute()).toEqual([]);
    expect(sum(await report('from=2026-01&to=2026-12&by=month'))).toBe(sum(sent));
  });

  it('an organization-limited user sees only its organization in every report', async () => {
    const mine = await report('from=2026-01&to=2026-12&by=month,organization,label', acmeViewer);
    expect(new Set(mine.map((r) => r.organization))).toEqual(new Set(['acme']));
    expect(sum(mine)).toBe(sum(sent.filter((s) => LABELS[s.label] === 'acme')));
    const byDevice = await report('by=device,label', acmeViewer);
    expect(byDevice.every((r) => r.label!.startsWith('acme-'))).toBe(true);
    // Naming another organization, or its label, never shows its rows.
    const other = await ctx.request('GET', '/v3_5/admin/reports/transactions?organization=globex', { token: acmeViewer });
    expect(other.status).toBe(403);
    expect(await report('label=globex-web&from=2026-01&to=2026-12', acmeViewer)).toEqual([]);
    const devicesByOrg = await ctx.request('GET', '/v3_5/admin/reports/devices?by=organization', { token: acmeViewer });
    expect(devicesByOrg.body.data.map((r: { key: string }) => r.key)).toEqual(['acme']);
    const devicesByLabel = await ctx.request('GET', '/v3_5/admin/reports/devices?by=label', { token: acmeViewer });
    expect(devicesByLabel.body.data.map((r: { key: string }) => r.key).sort()).toEqual(['acme-app', 'acme-web']);
    // Device 2 reported only globex-web: the acme user does not count it.
    const all = await ctx.request('GET', '/v3_5/admin/reports/devices', { token: acmeViewer });
    expect(all.body.data[0].devices).toBe(2);
    expect((await ctx.request('GET', '/v3_5/admin/reports/devices?organization=globex', { token: acmeViewer })).status).toBe(403);
    expect((await ctx.request('GET', '/v3_5/admin/reports/downloads', { token: acmeViewer })).status).toBe(403);
    expect((await ctx.request('POST', '/v3_5/admin/counters/rollover', { token: acmeViewer, body: {} })).status).toBe(403);
  });

  it('names what is wrong with a period', async () => {
    const cases: [string, RegExp][] = [
      ['from=2026-11-05', /from: 2026-11-05 is not in the current month \(2026-12\); earlier months are kept per month: use 2026-11/],
      ['from=2026-12-31&to=2026-12-01', /from: 2026-12-31 is after to/],
      ['to=2027-01-03', /to: 2027-01-03 is after the current month \(2026-12\)/],
      ['from=2026-13', /from: 2026-13 is not a month/],
      ['from=2026-12-32', /from: 2026-12-32 is not a day/],
      ['from=2026-11&by=device', /per-device counters are kept for the current month only/],
      ['by=day,device', /per-device counters are kept per month/],
      ['by=week', /by/],
      ['organization=nobody', /organization nobody does not exist/],
    ];
    for (const [query, message] of cases) {
      const res = await ctx.request('GET', `/v3_5/admin/reports/transactions?${query}`, { token: admin });
      expect(res.status, query).toBe(query.startsWith('organization') ? 404 : 400);
      expect(res.body.description, query).toMatch(message);
    }
  });
});

describe('per-device rows at the month boundary', () => {
  let ctx: TestContext;
  let admin: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    admin = await ctx.login();
  });
  afterAll(async () => ctx?.close());

  it('resets the rows of the month that ended and deletes the ones not updated during it', async () => {
    ctx.clock.set('2026-01-20T10:00:00Z');
    const { installationKey } = await seed(ctx, admin);
    const active = await device(ctx, installationKey);
    const silent = await device(ctx, installationKey);
    const activeId = await active.register();
    const silentId = await silent.register();
    for (const d of [active, silent]) {
      d.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 3 });
      await d.sync();
    }
    // February: only the active device syncs.
    ctx.clock.set('2026-02-10T10:00:00Z');
    expect((await rollover(ctx.app.services, undefined)).map((r) => r.month)).toEqual(['2026-01']);
    const rows = async () =>
      ctx.app.services.db.selectFrom('deviceCounters').select(['deviceId', 'month', 'counter']).orderBy('deviceId').execute();
    // January's rows start February at zero; both are still there (both were updated in January).
    expect((await rows()).map((r) => r.counter)).toEqual([0, 0]);
    active.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 4 });
    await active.sync();
    ctx.clock.set('2026-03-02T10:00:00Z');
    const [feb] = await rollover(ctx.app.services, undefined);
    expect(feb).toMatchObject({ month: '2026-02', deviceRowsReset: 1, deviceRowsDeleted: 1 });
    expect(await rows()).toEqual([{ deviceId: activeId, month: '2026-02', counter: 0 }]);
    expect(silentId).not.toBe(activeId);
    // February's label total survives in the archive.
    const res = await ctx.request('GET', '/v3_5/admin/reports/transactions?from=2026-01&to=2026-02&by=month', { token: admin });
    expect(res.body.data).toEqual([
      { month: '2026-01', transactions: 6 },
      { month: '2026-02', transactions: 4 },
    ]);
  });
});

describe('a rollover stopped midway', () => {
  let ctx: TestContext;

  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => ctx?.close());

  it('finishes on the next run with every transaction counted once', async () => {
    const db = ctx.app.services.db;
    const rows = [];
    let total = 0;
    for (let label = 0; label < 7; label++) {
      for (let day = 1; day <= 28; day += 3) {
        const counter = label * 100 + day;
        total += counter;
        rows.push({ label: `l${label}`, module: 'm', useCase: 'u', day: `2026-02-${String(day).padStart(2, '0')}`, counter });
      }
    }
    // As syncs write them: the detail rows and the per-label totals (one module and use case here).
    await db.insertInto('labelDailyCounters').values(rows).execute();
    await db.insertInto('labelDailyTotals').values(rows.map((r) => ({ label: r.label, day: r.day, counter: r.counter }))).execute();
    // A little of February was archived already by a late sync.
    await db.insertInto('labelMonthlyCounters').values({ label: 'l3', module: 'm', useCase: 'u', month: '2026-02', counter: 1000 }).execute();
    await db.insertInto('labelMonthlyTotals').values({ label: 'l3', month: '2026-02', counter: 1000 }).execute();
    total += 1000;
    ctx.clock.set('2026-03-01T00:05:00Z');
    let batches = 0;
    await expect(
      rollover(ctx.app.services, undefined, {
        batchSize: 10,
        onBatch: ({ phase }) => {
          if (phase === 'labels' && ++batches === 3) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    // Half-rolled: some daily rows moved, the rest still there; reports already add up.
    const remaining = await db.selectFrom('labelDailyCounters').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(remaining.n)).toBe(rows.length - 30);
    // The detail reports (by module) and the totals reports (by month) agree while half-rolled.
    const detailDuring = await ctx.request('GET', '/v3_5/admin/reports/transactions?from=2026-02&to=2026-02&by=month,module', { token: await ctx.login() });
    expect(detailDuring.body.data).toEqual([{ month: '2026-02', module: 'm', transactions: total }]);
    const admin = await ctx.login();
    const during = await ctx.request('GET', '/v3_5/admin/reports/transactions?from=2026-02&to=2026-02&by=month', { token: admin });
    expect(during.body.data).toEqual([{ month: '2026-02', transactions: total }]);
    const record = await db.selectFrom('counterRollovers').selectAll().where('month', '=', '2026-02').executeTakeFirstOrThrow();
    expect(record).toMatchObject({ completedAt: null, dailyRowsArchived: 30 });
    // The lease of the killed run was released by its finally; the next run finishes the month.
    const [done] = await rollover(ctx.app.services, undefined, { batchSize: 10 });
    expect(done).toMatchObject({ month: '2026-02', dailyRowsArchived: rows.length - 30 });
    const archived = await db.selectFrom('labelMonthlyCounters').select((eb) => eb.fn.sum<number>('counter').as('n')).executeTakeFirstOrThrow();
    expect(Number(archived.n)).toBe(total);
    expect(await db.selectFrom('labelDailyCounters').selectAll().execute()).toEqual([]);
    const after = await ctx.request('GET', '/v3_5/admin/reports/transactions?from=2026-02&to=2026-02&by=month,label', { token: admin });
    expect(after.body.data).toHaveLength(7);
    expect(sum(after.body.data)).toBe(total);
  });

  it('a second rollover in the same process is refused while one runs', async () => {
    const db = ctx.app.services.db;
    await db
      .insertInto('labelDailyCounters')
      .values(Array.from({ length: 20 }, (_, i) => ({ label: `s${i}`, module: 'm', useCase: 'u', day: '2026-03-10', counter: 1 })))
      .execute();
    ctx.clock.set('2026-04-01T00:05:00Z');
    // The second one starts while the first is between two of its batches (it holds the lease).
    let second: Promise<unknown> | undefined;
    const first = await rollover(ctx.app.services, undefined, {
      batchSize: 2,
      pauseMs: 0,
      onBatch: async () => {
        second ??= rollover(ctx.app.services, undefined).catch((error: unknown) => error);
        await second;
      },
    });
    expect(await second).toMatchObject({ code: 'CONFLICT' });
    expect(first.map((r) => [r.month, r.dailyRowsArchived])).toEqual([['2026-03', 20]]);
  });

  it('a crashed holder blocks the job only until its lease expires', async () => {
    const db = ctx.app.services.db;
    const t0 = new Date('2026-03-01T00:10:00Z');
    expect(await acquireLease(db, 'test-job', 'crashed', t0, 60_000)).toBe(true);
    expect(await acquireLease(db, 'test-job', 'other', new Date(t0.getTime() + 30_000), 60_000)).toBe(false);
    // Not even by its holder: a second run in the same process waits its turn.
    expect(await acquireLease(db, 'test-job', 'crashed', new Date(t0.getTime() + 30_000), 60_000)).toBe(false);
    expect(await acquireLease(db, 'test-job', 'other', new Date(t0.getTime() + 91_000), 60_000)).toBe(true);
    await releaseLease(db, 'test-job', 'other');
    expect(await acquireLease(db, 'test-job', 'third', new Date(t0.getTime() + 92_000), 60_000)).toBe(true);
  });
});

describe('two DS processes racing for the rollover', () => {
  const handles: DatabaseHandle[] = [];
  let dir: string | undefined;
  afterAll(async () => {
    for (const h of handles) await h.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('exactly one of them rolls the month over; the other is told and nothing is counted twice', async () => {
    // Two database handles with their own connections on one database, as two DS processes have.
    const ctx = await createTestContext();
    let url: string;
    let schema: string | undefined;
    if (TEST_DIALECT === 'postgres') {
      url = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
      schema = ctx.database.schema ?? undefined;
    } else {
      dir = mkdtempSync(join(tmpdir(), 'ds-race-'));
      url = join(dir, 'ds.db');
    }
    const open = async () => {
      const h = await openDatabase(url, schema ? { schema, poolSize: 4 } : {});
      handles.push(h);
      await migrateToLatest(h);
      return h;
    };
    const [a, b] = [await open(), await open()];
    const clock = new FakeClock('2026-03-01T00:01:00Z');
    const rows = Array.from({ length: 400 }, (_, i) => ({ label: `l${i % 40}`, module: 'm', useCase: `u${i % 3}`, day: `2026-02-${String((i % 28) + 1).padStart(2, '0')}`, counter: i + 1 }));
    const unique = new Map(rows.map((r) => [`${r.label}|${r.useCase}|${r.day}`, r]));
    await a.db.insertInto('labelDailyCounters').values([...unique.values()]).execute();
    const total = [...unique.values()].reduce((s, r) => s + r.counter, 0);
    const app = (database: DatabaseHandle) => createApp({ ...ctx.app.services, database, clock });
    const [first, second] = await Promise.allSettled([
      rollover(app(a).services, undefined, { batchSize: 25 }),
      rollover(app(b).services, undefined, { batchSize: 25 }),
    ]);
    const outcomes = [first, second].map((o) => (o.status === 'fulfilled' ? 'done' : (o.reason as { code?: string }).code));
    expect(outcomes.sort()).toEqual(['CONFLICT', 'done']);
    const archived = await a.db.selectFrom('labelMonthlyCounters').select((eb) => eb.fn.sum<number>('counter').as('n')).executeTakeFirstOrThrow();
    expect(Number(archived.n)).toBe(total);
    expect(await b.db.selectFrom('labelDailyCounters').selectAll().execute()).toEqual([]);
    await ctx.close();
  });
});

describe('device and download reports', () => {
  let ctx: TestContext;
  let admin: string;
  beforeAll(async () => {
    ctx = await createTestContext({ configOverrides: { DS_COUNTER_RETENTION_MONTHS: '3', DS_DOWNLOAD_RETENTION_DAYS: '30' } });
  });
  afterAll(async () => ctx?.close());

  it('counts devices by dimension, active, stopped and on versions not allowed', async () => {
    ctx.clock.set('2026-04-10T12:00:00Z');
    admin = await ctx.login();
    const { installationKey } = await seed(ctx, admin);
    const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
    const a = await device(ctx, installationKey);
    const b = await device(ctx, installationKey, { os: { name: 'Linux', version: '6.1', architecture: 'x64' } });
    const c = await device(ctx, installationKey);
    for (const d of [a, b, c]) await d.register();
    a.recordUsage('acme-web', chrome);
    a.recordUsage('acme-web', firefox);
    await a.sync();
    b.recordUsage('acme-web', firefox);
    await b.sync();
    // c synced 5 days ago; the default sync interval is an hour, so it has stopped.
    ctx.clock.advance(5 * 86_400_000);
    await a.sync();
    admin = await ctx.login();
    // 3.8.1 is no longer allowed.
    expect((await ctx.request('PUT', '/v3_5/admin/versions/3.8.1', { token: admin, body: { allowed: false, installers: [] } })).status).toBe(200);
    const get = async (q: string) => {
      const res = await ctx.request('GET', `/v3_5/admin/reports/devices?${q}`, { token: admin });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.data;
    };
    expect(await get('')).toEqual([{ devices: 3, active24h: 1, active7d: 2, active30d: 2, stopped: 2, notAllowed: 3, dailyLimited: 0 }]);
    expect(await get('by=os')).toEqual([
      { key: 'Windows', devices: 2, active24h: 1, active7d: 1, active30d: 1, stopped: 1, notAllowed: 2, dailyLimited: 0 },
      { key: 'Linux', devices: 1, active24h: 0, active7d: 1, active30d: 1, stopped: 1, notAllowed: 1, dailyLimited: 0 },
    ]);
    expect(await get('by=browser')).toEqual([
      { key: 'Firefox', devices: 2, active24h: 1, active7d: 2, active30d: 2, stopped: 1, notAllowed: 2, dailyLimited: 0 },
      { key: 'Chrome', devices: 1, active24h: 1, active7d: 1, active30d: 1, stopped: 0, notAllowed: 1, dailyLimited: 0 },
      { key: null, devices: 1, active24h: 0, active7d: 0, active30d: 0, stopped: 1, notAllowed: 1, dailyLimited: 0 },
    ]);
    expect((await get('by=label')).map((r: { key: string | null; devices: number }) => [r.key, r.devices])).toEqual([
      ['acme-web', 2],
      [null, 1],
    ]);
    expect(await get('staleIntervals=200')).toMatchObject([{ stopped: 0 }]);
    expect((await get('by=status')).map((r: { key: string }) => r.key)).toEqual(['ACTIVE']);
  });

  it('counts downloads by day, month, os, browser and version, and applies retention', async () => {
    ctx.clock.set('2026-04-20T12:00:00Z');
    admin = await ctx.login();
    const db = ctx.app.services.db;
    const event = (day: string, os: string, browserName: string | null, bytes: number, complete: 0 | 1) => ({
      id: crypto.randomUUID(),
      day,
      os,
      version: '3.8.1',
      browserName,
      browserMajor: null,
      bytes,
      complete,
      status: 200,
      createdAt: `${day}T10:00:00.000Z`,
    });
    await db
      .insertInto('downloadEvents')
      .values([
        event('2026-02-01', 'WIN64', 'Chrome', 100, 1),
        event('2026-04-02', 'WIN64', 'Chrome', 100, 1),
        event('2026-04-02', 'WIN64', 'Firefox', 40, 0),
        event('2026-04-03', 'LINUX64', null, 100, 1),
      ])
      .execute();
    const get = async (q: string) => (await ctx.request('GET', `/v3_5/admin/reports/downloads?${q}`, { token: admin })).body.data;
    expect(await get('')).toEqual([
      { day: '2026-04-02', downloads: 2, completed: 1, bytes: 140 },
      { day: '2026-04-03', downloads: 1, completed: 1, bytes: 100 },
    ]);
    expect(await get('from=2026-01&to=2026-04&by=month,os')).toEqual([
      { month: '2026-02', os: 'WIN64', downloads: 1, completed: 1, bytes: 100 },
      { month: '2026-04', os: 'LINUX64', downloads: 1, completed: 1, bytes: 100 },
      { month: '2026-04', os: 'WIN64', downloads: 2, completed: 1, bytes: 140 },
    ]);
    expect(await get('from=2026-04&by=browser&os=win64')).toEqual([
      { browser: 'Chrome', downloads: 1, completed: 1, bytes: 100 },
      { browser: 'Firefox', downloads: 1, completed: 0, bytes: 40 },
    ]);

    // Retention: 30 days of download events, 3 archived months.
    await db
      .insertInto('labelMonthlyCounters')
      .values([
        { label: 'acme-web', module: 'm', useCase: 'u', month: '2025-12', counter: 1 },
        { label: 'acme-web', module: 'm', useCase: 'u', month: '2026-01', counter: 2 },
      ])
      .execute();
    // Per-device daily totals of days DS no longer accepts transactions for (before February, with
    // the default two closed months) go whatever the retention settings say: the daily limit never needs them again.
    await db
      .insertInto('deviceDailyTotals')
      .values([
        { deviceId: 'd1', day: '2026-01-31', counter: 5 },
        { deviceId: 'd1', day: '2026-02-01', counter: 6 },
      ])
      .execute();
    expect(await applyRetention(ctx.app.services)).toEqual({ archivedRows: 1, downloadEvents: 1, deviceDailyTotals: 1 });
    expect((await db.selectFrom('labelMonthlyCounters').select('month').execute()).map((r) => r.month)).toEqual(['2026-01']);
    expect((await db.selectFrom('deviceDailyTotals').select('day').execute()).map((r) => r.day)).toEqual(['2026-02-01']);
    expect(await applyRetention(ctx.app.services)).toEqual({ archivedRows: 0, downloadEvents: 0, deviceDailyTotals: 0 });
  });
});
