import type { Insertable } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestContext, TEST_DIALECT, type TestContext } from '../test/harness.js';
import type { DatabaseHandle } from './database.js';
import { deviceMessageWindow } from '../lib/rate-limit.js';
import { kyselySyncStore, postgresSyncStore, rawSqliteSyncStore, type DeviceReport, type DeviceUsage, type MessageRecord, type MessageWrites, type SyncStore, type SyncWrite } from './sync-store.js';
import type { DeviceTable } from './types.js';
import { semverSortKey } from '../lib/semver.js';

// The contract of the device message store, run on both implementations: the raw SQLite one
// (prepared statements) and the Kysely one, both on SQLite on every machine, and the Kysely one
// on PostgreSQL in the postgres project, with the PostgreSQL one (one statement per message). Expected rows are written out, so a store that writes
// wrongly fails here, not only one that writes differently from the other.
const STORES: [string, (handle: DatabaseHandle) => SyncStore][] =
  TEST_DIALECT === 'sqlite'
    ? [
        ['raw SQLite', rawSqliteSyncStore],
        ['Kysely', kyselySyncStore],
      ]
    : [
        ['Kysely', kyselySyncStore],
        ['PostgreSQL one statement', postgresSyncStore],
      ];

const DEVICE = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';
const T0 = '2026-03-01T09:00:00.000Z';
const T1 = '2026-03-15T10:00:00.000Z';
const T2 = '2026-03-16T08:00:00.000Z';
/** The organization label `acme` belongs to; `ghost` is a label DS does not know. */
const ACME = 'a0000000-0000-4000-8000-00000000000a';
const GLOBEX = 'b0000000-0000-4000-8000-00000000000b';

/** A devices row with every column set, each to a value no other column has. */
const fullDevice = (id: string): Insertable<DeviceTable> => ({
  id,
  certFingerprint: `fp-${id}`,
  certificate: `-----BEGIN CERTIFICATE-----\n${id}\n-----END CERTIFICATE-----`,
  publicJwk: `{"kty":"EC","x":"${id}"}`,
  keyAlg: 'ES256|ECDH-ES+A256KW',
  version: '3.8.1',
  osName: 'Windows',
  osVersion: '11',
  osArch: 'x64',
  hostname: `host-${id.slice(0, 4)}`,
  status: 'ACTIVE',
  registeredAt: T0,
  lastSyncAt: '2026-03-02T09:00:00.000Z',
  updatedAt: '2026-03-03T09:00:00.000Z',
  jwksVersion: 'jwks-1',
  dailyLimitReachedAt: null,
  messageWindow: '2026-03-02T09:00:00.000Z',
  messageCount: 3,
});

const message = (overrides: Partial<MessageRecord> = {}): MessageRecord => ({
  deviceId: DEVICE,
  jti: 'jti-1',
  kind: 'sync',
  response: '{"accepted":{"transactions":1}}',
  receivedAt: T1,
  ...overrides,
});

/** Records `m` with fixed writes (decided without looking at the device's totals), and with a sync's device report. */
const record = (store: SyncStore, m: MessageRecord, writes?: MessageWrites, device?: DeviceReport) => {
  const { response, ...rest } = m;
  return store.recordMessage({
    ...rest,
    window: deviceMessageWindow(new Date(m.receivedAt)),
    ...(device ? { device } : {}),
    decide: () => ({ response, ...(writes ? { writes } : {}) }),
  });
};

const ua = (uaHash: string, browserMajor: string) => ({
  uaHash,
  userAgent: `Mozilla/5.0 Firefox/${browserMajor}.0`,
  browserName: 'Firefox',
  browserMajor,
  osName: 'Linux',
  osVersion: null,
});

const emptySync: SyncWrite = {
  labels: [],
  userAgents: [],
  userAgentLimit: 20,
  deviceCounters: [],
  dailyCounters: [],
  monthlyCounters: [],
  dailyTotals: [],
  monthlyTotals: [],
  deviceDailyTotals: [],
  dailyLimitReached: false,
};

/**
 * At T1: every table, User-Agents over the limit, a per-device counter left from February, and a
 * label DS does not know (`ghost`), whose rows are unattributed.
 */
const report1: DeviceReport = { status: 'UPDATABLE', version: '3.9.0', jwksVersion: 'jwks-2' };
const sync1: SyncWrite = {
  labels: ['acme', 'beta'],
  userAgents: [ua('h1', '131'), ua('h2', '132'), ua('h3', '133')],
  userAgentLimit: 2,
  deviceCounters: [
    { label: 'acme', module: 'beid', useCase: 'sign', month: '2026-03', counter: 2 },
    { label: 'acme', module: 'beid', useCase: 'old', month: '2026-03', counter: 1 },
    { label: 'ghost', module: 'beid', useCase: 'sign', month: '2026-03', counter: 8 },
  ],
  dailyCounters: [
    { label: 'acme', module: 'beid', useCase: 'sign', day: '2026-03-15', counter: 2 },
    { label: 'acme', module: 'beid', useCase: 'old', day: '2026-03-15', counter: 1 },
    { label: 'ghost', module: 'beid', useCase: 'sign', day: '2026-03-15', counter: 8 },
  ],
  monthlyCounters: [{ label: 'acme', module: 'beid', useCase: 'sign', month: '2026-02', counter: 5 }],
  dailyTotals: [
    { label: 'acme', day: '2026-03-15', counter: 3 },
    { label: 'ghost', day: '2026-03-15', counter: 8 },
  ],
  monthlyTotals: [{ label: 'acme', month: '2026-02', counter: 5 }],
  deviceDailyTotals: [
    { day: '2026-02-20', counter: 5 },
    { day: '2026-03-15', counter: 11 },
  ],
  dailyLimitReached: false,
};

/** At T2: adds to every counter row sync1 wrote, sees a label and a User-Agent again. */
const report2: DeviceReport = { status: 'ACTIVE', version: '3.9.0', jwksVersion: 'jwks-2' };
const sync2: SyncWrite = {
  labels: ['acme'],
  userAgents: [ua('h1', '131'), ua('h0', '130')],
  userAgentLimit: 2,
  deviceCounters: [{ label: 'acme', module: 'beid', useCase: 'sign', month: '2026-03', counter: 3 }],
  dailyCounters: [
    { label: 'acme', module: 'beid', useCase: 'sign', day: '2026-03-15', counter: 1 },
    { label: 'acme', module: 'beid', useCase: 'sign', day: '2026-03-16', counter: 3 },
  ],
  monthlyCounters: [{ label: 'acme', module: 'beid', useCase: 'sign', month: '2026-02', counter: 1 }],
  dailyTotals: [
    { label: 'acme', day: '2026-03-15', counter: 1 },
    { label: 'acme', day: '2026-03-16', counter: 3 },
  ],
  monthlyTotals: [{ label: 'acme', month: '2026-02', counter: 1 }],
  deviceDailyTotals: [
    { day: '2026-02-20', counter: 1 },
    { day: '2026-03-16', counter: 3 },
  ],
  dailyLimitReached: true,
};

describe.each(STORES)('sync store contract: %s', (_name, makeStore) => {
  let ctx: TestContext;
  let store: SyncStore;

  beforeEach(async () => {
    ctx = await createTestContext();
    store = makeStore(ctx.database);
    const db = ctx.database.db;
    await db
      .insertInto('organizations')
      .values([
        { id: ACME, name: 'acme', description: null, createdAt: T0, updatedAt: T0 },
        { id: GLOBEX, name: 'globex', description: null, createdAt: T0, updatedAt: T0 },
      ])
      .execute();
    await db.insertInto('labels').values({ id: crypto.randomUUID(), name: 'acme', organizationId: ACME, description: null, createdAt: T0, updatedAt: T0 }).execute();
    await db.insertInto('devices').values([fullDevice(DEVICE), fullDevice(OTHER)]).execute();
    // A per-device counter from a month that has ended (not rolled over yet), and another device's.
    await db
      .insertInto('deviceCounters')
      .values([
        { deviceId: DEVICE, organizationId: ACME, label: 'acme', module: 'beid', useCase: 'old', month: '2026-02', counter: 9, updatedAt: '2026-02-28T12:00:00.000Z' },
        { deviceId: OTHER, organizationId: ACME, label: 'acme', module: 'beid', useCase: 'sign', month: '2026-03', counter: 4, updatedAt: T0 },
      ])
      .execute();
    // The other device's totals, which no decision about DEVICE may see.
    await db.insertInto('deviceDailyTotals').values({ deviceId: OTHER, day: '2026-03-15', counter: 40 }).execute();
  });
  afterEach(async () => ctx.close());

  const db = () => ctx.database.db;
  const snapshot = async () => ({
    devices: await db().selectFrom('devices').selectAll().orderBy('id').execute(),
    deviceLabels: await db().selectFrom('deviceLabels').selectAll().orderBy('deviceId').orderBy('label').execute(),
    deviceUserAgents: await db().selectFrom('deviceUserAgents').selectAll().orderBy('deviceId').orderBy('uaHash').execute(),
    deviceCounters: await db()
      .selectFrom('deviceCounters')
      .selectAll()
      .orderBy('deviceId')
      .orderBy('label')
      .orderBy('organizationId')
      .orderBy('module')
      .orderBy('useCase')
      .execute(),
    labelDailyCounters: await db().selectFrom('labelDailyCounters').selectAll().orderBy('label').orderBy('organizationId').orderBy('module').orderBy('useCase').orderBy('day').execute(),
    labelMonthlyCounters: await db().selectFrom('labelMonthlyCounters').selectAll().orderBy('label').orderBy('organizationId').orderBy('module').orderBy('useCase').orderBy('month').execute(),
    labelDailyTotals: await db().selectFrom('labelDailyTotals').selectAll().orderBy('label').orderBy('organizationId').orderBy('day').execute(),
    labelMonthlyTotals: await db().selectFrom('labelMonthlyTotals').selectAll().orderBy('label').orderBy('organizationId').orderBy('month').execute(),
    deviceDailyTotals: await db().selectFrom('deviceDailyTotals').selectAll().orderBy('deviceId').orderBy('day').execute(),
    deviceMessages: await db().selectFrom('deviceMessages').selectAll().orderBy('deviceId').orderBy('jti').execute(),
  });

  describe('findDevice', () => {
    it('answers every column of the devices row exactly as selectAll does', async () => {
      const expected = await db().selectFrom('devices').selectAll().where('id', '=', DEVICE).executeTakeFirstOrThrow();
      expect(Object.keys(expected).sort()).toEqual(Object.keys(fullDevice(DEVICE)).sort());
      expect(await store.findDevice(DEVICE)).toStrictEqual(expected);
    });

    it('answers null columns as null', async () => {
      await db()
        .updateTable('devices')
        .set({ osName: null, osVersion: null, osArch: null, hostname: null, lastSyncAt: null, jwksVersion: null, messageWindow: null, dailyLimitReachedAt: null })
        .where('id', '=', OTHER)
        .execute();
      const expected = await db().selectFrom('devices').selectAll().where('id', '=', OTHER).executeTakeFirstOrThrow();
      expect(expected.hostname).toBeNull();
      expect(await store.findDevice(OTHER)).toStrictEqual(expected);
    });

    it('answers undefined for an unknown device', async () => {
      expect(await store.findDevice('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    });
  });

  describe('recordMessage and findStoredResponse', () => {
    it('stores a message once per device and jti; the first one stays', async () => {
      expect(await store.findStoredResponse(DEVICE, 'jti-1')).toBeUndefined();
      expect(await record(store, message({ kind: 'version-check', response: '{"action":"NONE"}' }))).toBe(true);
      expect(await store.findStoredResponse(DEVICE, 'jti-1')).toStrictEqual({ kind: 'version-check', response: '{"action":"NONE"}' });
      expect(await record(store, message({ kind: 'sync', response: '{"second":true}', receivedAt: T2 }))).toBe(false);
      expect(await store.findStoredResponse(DEVICE, 'jti-1')).toStrictEqual({ kind: 'version-check', response: '{"action":"NONE"}' });
      // The same jti from another device is another message.
      expect(await record(store, message({ deviceId: OTHER, response: '{"other":true}' }))).toBe(true);
      expect(await store.findStoredResponse(OTHER, 'jti-1')).toStrictEqual({ kind: 'sync', response: '{"other":true}' });
      expect((await snapshot()).deviceMessages).toEqual([
        { deviceId: DEVICE, jti: 'jti-1', kind: 'version-check', response: '{"action":"NONE"}', receivedAt: T1 },
        { deviceId: OTHER, jti: 'jti-1', kind: 'sync', response: '{"other":true}', receivedAt: T1 },
      ]);
    });

    it('a message without writes changes nothing but its record and its count in the device\'s rate window', async () => {
      const before = await snapshot();
      expect(await record(store, message({ kind: 'version-check' }), {})).toBe(true);
      const devices = before.devices.map((d) => (d.id === DEVICE ? { ...d, messageWindow: deviceMessageWindow(new Date(T1)), messageCount: 1 } : d));
      expect(await snapshot()).toEqual({ ...before, devices, deviceMessages: [message({ kind: 'version-check' })] });
    });

    it('counts every recorded message in its window, from 1 again in a new window; a duplicate is not counted', async () => {
      const count = async () => db().selectFrom('devices').select(['messageWindow', 'messageCount']).where('id', '=', DEVICE).executeTakeFirstOrThrow();
      const window = deviceMessageWindow(new Date(T1));
      await record(store, message({ jti: 'a', kind: 'version-check' }));
      expect(await count()).toEqual({ messageWindow: window, messageCount: 1 });
      await record(store, message({ jti: 'b', receivedAt: '2026-03-15T10:00:30.000Z' }), { sync: emptySync });
      expect(await count()).toEqual({ messageWindow: window, messageCount: 2 });
      expect(await record(store, message({ jti: 'b', receivedAt: '2026-03-15T10:00:40.000Z' }), { sync: emptySync })).toBe(false);
      expect(await count()).toEqual({ messageWindow: window, messageCount: 2 });
      await record(store, message({ jti: 'c', receivedAt: '2026-03-15T10:01:00.000Z' }), { sync: emptySync });
      expect(await count()).toEqual({ messageWindow: '2026-03-15T10:01:00.000Z', messageCount: 1 });
    });
  });

  describe('recordMessage with a sync', () => {
    it('writes the device state, labels, User-Agents (trimmed) and every counter, each bound to its label\'s organization', async () => {
      expect(await record(store, message({ jti: 'sync-1', receivedAt: T1 }), { sync: sync1 }, report1)).toBe(true);
      expect(await record(store, message({ jti: 'sync-2', receivedAt: T2 }), { sync: sync2 }, report2)).toBe(true);
      expect(await snapshot()).toEqual({
        devices: [
          // sync2 hit the daily limit: the device is flagged at its time. T1 and T2 are in different windows.
          { ...fullDevice(DEVICE), status: 'ACTIVE', version: '3.9.0', lastSyncAt: T2, updatedAt: T2, jwksVersion: 'jwks-2', dailyLimitReachedAt: T2, messageWindow: deviceMessageWindow(new Date(T2)), messageCount: 1 },
          fullDevice(OTHER),
        ],
        deviceLabels: [
          { deviceId: DEVICE, label: 'acme', firstSeenAt: T1, lastSeenAt: T2 },
          { deviceId: DEVICE, label: 'beta', firstSeenAt: T1, lastSeenAt: T1 },
        ],
        // Limit 2, most recently seen first, then by hash: h3 went at T1, h2 at T2.
        deviceUserAgents: [
          { deviceId: DEVICE, ...ua('h0', '130'), firstSeenAt: T2, lastSeenAt: T2 },
          { deviceId: DEVICE, ...ua('h1', '131'), firstSeenAt: T1, lastSeenAt: T2 },
        ],
        deviceCounters: [
          // February's row started again from this month's count.
          { deviceId: DEVICE, organizationId: ACME, label: 'acme', module: 'beid', useCase: 'old', month: '2026-03', counter: 1, updatedAt: T1 },
          { deviceId: DEVICE, organizationId: ACME, label: 'acme', module: 'beid', useCase: 'sign', month: '2026-03', counter: 5, updatedAt: T2 },
          { deviceId: DEVICE, organizationId: '', label: 'ghost', module: 'beid', useCase: 'sign', month: '2026-03', counter: 8, updatedAt: T1 },
          { deviceId: OTHER, organizationId: ACME, label: 'acme', module: 'beid', useCase: 'sign', month: '2026-03', counter: 4, updatedAt: T0 },
        ],
        labelDailyCounters: [
          { organizationId: ACME, label: 'acme', module: 'beid', useCase: 'old', day: '2026-03-15', counter: 1 },
          { organizationId: ACME, label: 'acme', module: 'beid', useCase: 'sign', day: '2026-03-15', counter: 3 },
          { organizationId: ACME, label: 'acme', module: 'beid', useCase: 'sign', day: '2026-03-16', counter: 3 },
          { organizationId: '', label: 'ghost', module: 'beid', useCase: 'sign', day: '2026-03-15', counter: 8 },
        ],
        labelMonthlyCounters: [{ organizationId: ACME, label: 'acme', module: 'beid', useCase: 'sign', month: '2026-02', counter: 6 }],
        labelDailyTotals: [
          { organizationId: ACME, label: 'acme', day: '2026-03-15', counter: 4 },
          { organizationId: ACME, label: 'acme', day: '2026-03-16', counter: 3 },
          { organizationId: '', label: 'ghost', day: '2026-03-15', counter: 8 },
        ],
        labelMonthlyTotals: [{ organizationId: ACME, label: 'acme', month: '2026-02', counter: 6 }],
        deviceDailyTotals: [
          { deviceId: DEVICE, day: '2026-02-20', counter: 6 },
          { deviceId: DEVICE, day: '2026-03-15', counter: 11 },
          { deviceId: DEVICE, day: '2026-03-16', counter: 3 },
          { deviceId: OTHER, day: '2026-03-15', counter: 40 },
        ],
        deviceMessages: [message({ jti: 'sync-1', receivedAt: T1 }), message({ jti: 'sync-2', receivedAt: T2 })],
      });
    });

    it('binds counters when they are counted: a label deleted and made again in another organization starts new rows, the old ones stay', async () => {
      const only = (w: Partial<SyncWrite>): SyncWrite => ({ ...emptySync, ...w });
      const daily = { dailyCounters: [{ label: 'acme', module: 'beid', useCase: 'sign', day: '2026-03-15', counter: 2 }], dailyTotals: [{ label: 'acme', day: '2026-03-15', counter: 2 }] };
      await record(store, message({ jti: 's1' }), { sync: only(daily) });
      await db().deleteFrom('labels').where('name', '=', 'acme').execute();
      await record(store, message({ jti: 's2' }), { sync: only(daily) });
      await db().insertInto('labels').values({ id: crypto.randomUUID(), name: 'acme', organizationId: GLOBEX, description: null, createdAt: T1, updatedAt: T1 }).execute();
      await record(store, message({ jti: 's3' }), { sync: only(daily) });
      const rows = (await snapshot()).labelDailyTotals.map((r) => [r.organizationId, Number(r.counter)]);
      expect(rows.sort()).toEqual([
        ['', 2],
        [ACME, 2],
        [GLOBEX, 2],
      ]);
    });

    it('decides inside the transaction from the device\'s own totals of the days asked for', async () => {
      await record(store, message({ jti: 'sync-1' }), { sync: sync1 });
      const seen: DeviceUsage[] = [];
      const recorded = await store.recordMessage({
        deviceId: DEVICE,
        jti: 'sync-2',
        kind: 'sync',
        receivedAt: T2,
        window: deviceMessageWindow(new Date(T2)),
        usageDays: ['2026-03-15', '2026-03-16', '2026-02-20'],
        decide: (usage) => {
          seen.push(usage);
          return { response: JSON.stringify({ seen: [...usage] }), writes: { sync: emptySync } };
        },
      });
      expect(recorded).toBe(true);
      expect(seen.map((u) => Object.fromEntries(u))).toEqual([{ '2026-03-15': 11, '2026-02-20': 5 }]);
      expect((await store.findStoredResponse(DEVICE, 'sync-2'))?.response).toBe(JSON.stringify({ seen: [...seen[0]!] }));
    });

    it('decides concurrent messages of one device one after the other: the second sees what the first counted', async () => {
      const limited = (jti: string) =>
        store.recordMessage({
          deviceId: DEVICE,
          jti,
          kind: 'sync',
          receivedAt: T1,
          window: deviceMessageWindow(new Date(T1)),
          device: report1,
          usageDays: ['2026-03-15'],
          decide: (usage) => {
            const fits = (usage.get('2026-03-15') ?? 0) + 6 <= 10;
            return { response: JSON.stringify({ fits }), writes: { sync: { ...emptySync, deviceDailyTotals: fits ? [{ day: '2026-03-15', counter: 6 }] : [] } } };
          },
        });
      expect(await Promise.all(['c1', 'c2', 'c3'].map(limited))).toEqual([true, true, true]);
      const answers = await Promise.all(['c1', 'c2', 'c3'].map(async (jti) => (await store.findStoredResponse(DEVICE, jti))?.response));
      expect(answers.sort()).toEqual(['{"fits":false}', '{"fits":false}', '{"fits":true}']);
      expect((await snapshot()).deviceDailyTotals.filter((r) => r.deviceId === DEVICE)).toEqual([{ deviceId: DEVICE, day: '2026-03-15', counter: 6 }]);
      const row = await db().selectFrom('devices').select(['status', 'messageCount']).where('id', '=', DEVICE).executeTakeFirstOrThrow();
      expect(row).toEqual({ status: 'UPDATABLE', messageCount: 3 });
    });

    // PostgreSQL only (SQLite has one writer: no cycle of lock waits): defined in that pass alone.
    if (TEST_DIALECT === 'postgres') {
      it('runs a message again when PostgreSQL breaks a deadlock by aborting it: recorded once, every row counted once', async () => {
        const totals = (day15: number, day16: number): SyncWrite => ({
          ...emptySync,
          dailyTotals: [
            { label: 'acme', day: '2026-03-15', counter: day15 },
            { label: 'acme', day: '2026-03-16', counter: day16 },
          ],
        });
        // The rows the message will lock, in its order: acme's totals of the 15th, then of the 16th.
        expect(await record(store, message({ jti: 'sync-1' }), { sync: totals(1, 1) })).toBe(true);
        const url = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
        const [first, second, watcher] = [new pg.Client(url), new pg.Client(url), new pg.Client(url)];
        try {
          for (const client of [first, second, watcher]) {
            await client.connect();
            await client.query(`set search_path to "${ctx.database.schema}"`);
          }
          const pid = async (client: pg.Client) => (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
          const [firstPid, secondPid] = [await pid(first), await pid(second)];
          const blockedBy = async (blocker: number) =>
            (await watcher.query<{ pid: number }>('select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [blocker])).rows.map((r) => r.pid);
          const lockTotals = (client: pg.Client, day: string) => client.query("select counter from label_daily_totals where label = 'acme' and day = $1 for update", [day]);
          await first.query('begin');
          await lockTotals(first, '2026-03-15');
          // The second connection never breaks the cycle itself: it would look only after 10 minutes
          // of waiting, the message's connection after PostgreSQL's default second.
          await second.query('begin');
          await second.query("set local deadlock_timeout = '10min'");
          await lockTotals(second, '2026-03-16');

          const recorded = record(store, message({ jti: 'sync-2', receivedAt: T2 }), { sync: totals(2, 3) });
          recorded.catch(() => undefined); // awaited below; it may settle first
          // The message has locked the device's row and waits for the first connection's row.
          const messagePid = await vi.waitFor(
            async () => {
              const [waiting] = await blockedBy(firstPid);
              if (waiting === undefined) throw new Error('the message does not wait for the first connection yet');
              return waiting;
            },
            { timeout: 30_000, interval: 20 },
          );
          // The second connection waits for the device's row, which the message holds.
          const secondUpdated = second.query('update devices set hostname = hostname where id = $1', [DEVICE]);
          await vi.waitFor(
            async () => {
              if (!(await blockedBy(messagePid)).includes(secondPid)) throw new Error('the second connection does not wait for the message yet');
            },
            { timeout: 30_000, interval: 20 },
          );
          // The first lets go: the message goes on to the 16th, held by the second, which waits for
          // the message: PostgreSQL aborts the message's transaction, and the second gets its row.
          await first.query('commit');
          await secondUpdated;
          await second.query('commit');
          // Run again once the second connection let go: recorded once, counted once.
          expect(await recorded).toBe(true);
        } finally {
          await Promise.all([first, second, watcher].map((client) => client.end().catch(() => undefined)));
        }
        const after = await snapshot();
        expect(after.deviceMessages.map((m) => m.jti)).toEqual(['sync-1', 'sync-2']);
        expect(after.labelDailyTotals.map((r) => [r.day, r.counter])).toEqual([
          ['2026-03-15', 3],
          ['2026-03-16', 4],
        ]);
      });
    }

    it('writes nothing for a jti recorded before, whatever its kind', async () => {
      expect(await record(store, message({ jti: 'sync-1' }), { sync: sync1 }, report1)).toBe(true);
      await record(store, message({ jti: 'check-1', kind: 'version-check' }));
      const before = await snapshot();
      expect(await record(store, message({ jti: 'sync-1', receivedAt: T2 }), { sync: sync2 }, report2)).toBe(false);
      expect(await record(store, message({ jti: 'check-1', receivedAt: T2 }), { sync: sync2 }, report2)).toBe(false);
      expect(await snapshot()).toEqual(before);
    });

    it('writes nothing, not even the record, when one of its statements fails or the decision throws', async () => {
      const before = await snapshot();
      const broken: SyncWrite = { ...sync1, monthlyTotals: [{ label: 'acme', month: '2026-02', counter: null as unknown as number }] };
      await expect(record(store, message({ jti: 'sync-1' }), { sync: broken }, report1)).rejects.toThrow();
      expect(await snapshot()).toEqual(before);
      const refused = store.recordMessage({
        ...message({ jti: 'sync-1' }),
        window: deviceMessageWindow(new Date(T1)),
        device: report1,
        usageDays: ['2026-03-15'],
        decide: () => {
          throw new Error('no answer');
        },
      });
      await expect(refused).rejects.toThrow('no answer');
      expect(await snapshot()).toEqual(before);
      // The jti is free again: the retry is processed.
      expect(await record(store, message({ jti: 'sync-1' }), { sync: emptySync })).toBe(true);
    });
  });

  describe('recordMessage with a rollout offer', () => {
    const offers = () => db().selectFrom('rolloutOffers').selectAll().orderBy('deviceId').execute();

    it('records the first offer of a version to a device, with the message; later offers and retries keep it', async () => {
      await db()
        .insertInto('versions')
        .values({ id: '3.10.0', sortKey: semverSortKey('3.10.0'), recommended: 0, mandatory: 0, allowed: 1, releaseNotes: null, contextConfig: null, sslKeystoreConfig: null, publishedAt: T0, createdAt: T0, updatedAt: T0 })
        .execute();
      const offer = { versionId: '3.10.0', fromVersion: '3.9.0', waveIndex: 0, offeredAt: T1 };
      expect(await record(store, message({ jti: 'check-1', kind: 'version-check' }), { offer })).toBe(true);
      expect(await record(store, message({ jti: 'check-2', kind: 'version-check', receivedAt: T2 }), { offer: { ...offer, waveIndex: 1, offeredAt: T2 } })).toBe(true);
      expect(await record(store, message({ jti: 'check-3', kind: 'version-check', deviceId: OTHER }), { offer })).toBe(true);
      expect(await offers()).toEqual(
        [
          { versionId: '3.10.0', deviceId: DEVICE, offeredAt: T1, fromVersion: '3.9.0', waveIndex: 0 },
          { versionId: '3.10.0', deviceId: OTHER, offeredAt: T1, fromVersion: '3.9.0', waveIndex: 0 },
        ].sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1)),
      );
      // A retry of a recorded jti writes nothing.
      await db().deleteFrom('rolloutOffers').execute();
      expect(await record(store, message({ jti: 'check-1', kind: 'version-check' }), { offer })).toBe(false);
      expect(await offers()).toEqual([]);
    });
  });

  describe('recordMessage with an event', () => {
    const events = () => db().selectFrom('pendingDeviceEvents').selectAll().orderBy('deviceId').orderBy('day').execute();
    const event = (day: string, payload: string) => ({ action: 'device.rejected', day, payload });

    it('keeps the event pending with the message, one per device, action and day; a retry writes none', async () => {
      expect(await record(store, message({ jti: 's-1' }), { sync: { ...emptySync, dailyLimitReached: true }, event: event('2026-03-15', '{"n":1}') }, report1)).toBe(true);
      // The same day again: the first stays.
      expect(await record(store, message({ jti: 's-2', receivedAt: T2 }), { sync: emptySync, event: event('2026-03-15', '{"n":2}') })).toBe(true);
      expect(await record(store, message({ jti: 's-3', receivedAt: T2 }), { event: event('2026-03-16', '{"n":3}') })).toBe(true);
      expect(await record(store, message({ jti: 's-4', deviceId: OTHER }), { event: event('2026-03-15', '{"n":4}') })).toBe(true);
      expect(await events()).toEqual(
        [
          { deviceId: DEVICE, action: 'device.rejected', day: '2026-03-15', payload: '{"n":1}', createdAt: T1 },
          { deviceId: DEVICE, action: 'device.rejected', day: '2026-03-16', payload: '{"n":3}', createdAt: T2 },
          { deviceId: OTHER, action: 'device.rejected', day: '2026-03-15', payload: '{"n":4}', createdAt: T1 },
        ].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.day < b.day ? -1 : 1)),
      );
      await db().deleteFrom('pendingDeviceEvents').execute();
      expect(await record(store, message({ jti: 's-1' }), { event: event('2026-03-15', '{"n":1}') })).toBe(false);
      expect(await events()).toEqual([]);
    });
  });
});
