import type { Insertable } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, TEST_DIALECT, type TestContext } from '../test/harness.js';
import type { DatabaseHandle } from './database.js';
import { kyselySyncStore, rawSqliteSyncStore, type MessageRecord, type SyncStore, type SyncWrite } from './sync-store.js';
import type { DeviceTable } from './types.js';

// The contract of the device message store, run on both implementations: the raw SQLite one
// (prepared statements) and the Kysely one, both on SQLite on every machine, and the Kysely one
// on PostgreSQL in the postgres project. Expected rows are written out, so a store that writes
// wrongly fails here, not only one that writes differently from the other.
const STORES: [string, (handle: DatabaseHandle) => SyncStore][] =
  TEST_DIALECT === 'sqlite'
    ? [
        ['raw SQLite', rawSqliteSyncStore],
        ['Kysely', kyselySyncStore],
      ]
    : [['Kysely', kyselySyncStore]];

const DEVICE = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';
const T0 = '2026-03-01T09:00:00.000Z';
const T1 = '2026-03-15T10:00:00.000Z';
const T2 = '2026-03-16T08:00:00.000Z';

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
});

const message = (overrides: Partial<MessageRecord> = {}): MessageRecord => ({
  deviceId: DEVICE,
  jti: 'jti-1',
  kind: 'sync',
  response: '{"accepted":{"transactions":1}}',
  receivedAt: T1,
  ...overrides,
});

const ua = (uaHash: string, browserMajor: string) => ({
  uaHash,
  userAgent: `Mozilla/5.0 Firefox/${browserMajor}.0`,
  browserName: 'Firefox',
  browserMajor,
  osName: 'Linux',
  osVersion: null,
});

const emptySync: SyncWrite = {
  status: 'ACTIVE',
  version: '3.8.1',
  jwksVersion: 'jwks-1',
  labels: [],
  userAgents: [],
  userAgentLimit: 20,
  deviceCounters: [],
  dailyCounters: [],
  monthlyCounters: [],
  dailyTotals: [],
  monthlyTotals: [],
};

/** At T1: every table, User-Agents over the limit, and a per-device counter left from February. */
const sync1: SyncWrite = {
  status: 'UPDATABLE',
  version: '3.9.0',
  jwksVersion: 'jwks-2',
  labels: ['acme', 'beta'],
  userAgents: [ua('h1', '131'), ua('h2', '132'), ua('h3', '133')],
  userAgentLimit: 2,
  deviceCounters: [
    { label: 'acme', module: 'beid', useCase: 'sign', month: '2026-03', counter: 2 },
    { label: 'acme', module: 'beid', useCase: 'old', month: '2026-03', counter: 1 },
  ],
  dailyCounters: [
    { label: 'acme', module: 'beid', useCase: 'sign', day: '2026-03-15', counter: 2 },
    { label: 'acme', module: 'beid', useCase: 'old', day: '2026-03-15', counter: 1 },
  ],
  monthlyCounters: [{ label: 'acme', module: 'beid', useCase: 'sign', month: '2026-02', counter: 5 }],
  dailyTotals: [{ label: 'acme', day: '2026-03-15', counter: 3 }],
  monthlyTotals: [{ label: 'acme', month: '2026-02', counter: 5 }],
};

/** At T2: adds to every counter row sync1 wrote, sees a label and a User-Agent again. */
const sync2: SyncWrite = {
  status: 'ACTIVE',
  version: '3.9.0',
  jwksVersion: 'jwks-2',
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
};

describe.each(STORES)('sync store contract: %s', (_name, makeStore) => {
  let ctx: TestContext;
  let store: SyncStore;

  beforeEach(async () => {
    ctx = await createTestContext();
    store = makeStore(ctx.database);
    await ctx.database.db.insertInto('devices').values([fullDevice(DEVICE), fullDevice(OTHER)]).execute();
    // A per-device counter from a month that has ended (not rolled over yet), and another device's.
    await ctx.database.db
      .insertInto('deviceCounters')
      .values([
        { deviceId: DEVICE, label: 'acme', module: 'beid', useCase: 'old', month: '2026-02', counter: 9, updatedAt: '2026-02-28T12:00:00.000Z' },
        { deviceId: OTHER, label: 'acme', module: 'beid', useCase: 'sign', month: '2026-03', counter: 4, updatedAt: T0 },
      ])
      .execute();
  });
  afterEach(async () => ctx.close());

  const db = () => ctx.database.db;
  const snapshot = async () => ({
    devices: await db().selectFrom('devices').selectAll().orderBy('id').execute(),
    deviceLabels: await db().selectFrom('deviceLabels').selectAll().orderBy('deviceId').orderBy('label').execute(),
    deviceUserAgents: await db().selectFrom('deviceUserAgents').selectAll().orderBy('deviceId').orderBy('uaHash').execute(),
    deviceCounters: await db().selectFrom('deviceCounters').selectAll().orderBy('deviceId').orderBy('label').orderBy('module').orderBy('useCase').execute(),
    labelDailyCounters: await db().selectFrom('labelDailyCounters').selectAll().orderBy('label').orderBy('module').orderBy('useCase').orderBy('day').execute(),
    labelMonthlyCounters: await db().selectFrom('labelMonthlyCounters').selectAll().orderBy('label').orderBy('module').orderBy('useCase').orderBy('month').execute(),
    labelDailyTotals: await db().selectFrom('labelDailyTotals').selectAll().orderBy('label').orderBy('day').execute(),
    labelMonthlyTotals: await db().selectFrom('labelMonthlyTotals').selectAll().orderBy('label').orderBy('month').execute(),
    deviceMessages: await db().selectFrom('deviceMessages').selectAll().orderBy('deviceId').orderBy('jti').execute(),
  });

  describe('findDevice', () => {
    it('answers every column of the devices row exactly as selectAll does', async () => {
      const expected = await db().selectFrom('devices').selectAll().where('id', '=', DEVICE).executeTakeFirstOrThrow();
      expect(Object.keys(expected).sort()).toEqual(Object.keys(fullDevice(DEVICE)).sort());
      expect(await store.findDevice(DEVICE)).toStrictEqual(expected);
    });

    it('answers null columns as null', async () => {
      await db().updateTable('devices').set({ osName: null, osVersion: null, osArch: null, hostname: null, lastSyncAt: null, jwksVersion: null }).where('id', '=', OTHER).execute();
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
      expect(await store.recordMessage(message({ kind: 'version-check', response: '{"action":"NONE"}' }))).toBe(true);
      expect(await store.findStoredResponse(DEVICE, 'jti-1')).toStrictEqual({ kind: 'version-check', response: '{"action":"NONE"}' });
      expect(await store.recordMessage(message({ kind: 'sync', response: '{"second":true}', receivedAt: T2 }))).toBe(false);
      expect(await store.findStoredResponse(DEVICE, 'jti-1')).toStrictEqual({ kind: 'version-check', response: '{"action":"NONE"}' });
      // The same jti from another device is another message.
      expect(await store.recordMessage(message({ deviceId: OTHER, response: '{"other":true}' }))).toBe(true);
      expect(await store.findStoredResponse(OTHER, 'jti-1')).toStrictEqual({ kind: 'sync', response: '{"other":true}' });
      expect((await snapshot()).deviceMessages).toEqual([
        { deviceId: DEVICE, jti: 'jti-1', kind: 'version-check', response: '{"action":"NONE"}', receivedAt: T1 },
        { deviceId: OTHER, jti: 'jti-1', kind: 'sync', response: '{"other":true}', receivedAt: T1 },
      ]);
    });

    it('a message without writes changes nothing but its record', async () => {
      const before = await snapshot();
      expect(await store.recordMessage(message({ kind: 'version-check' }), {})).toBe(true);
      expect(await snapshot()).toEqual({ ...before, deviceMessages: [message({ kind: 'version-check' })] });
    });
  });

  describe('recordMessage with a sync', () => {
    it('writes the device state, labels, User-Agents (trimmed) and every counter', async () => {
      expect(await store.recordMessage(message({ jti: 'sync-1', receivedAt: T1 }), { sync: sync1 })).toBe(true);
      expect(await store.recordMessage(message({ jti: 'sync-2', receivedAt: T2 }), { sync: sync2 })).toBe(true);
      expect(await snapshot()).toEqual({
        devices: [{ ...fullDevice(DEVICE), status: 'ACTIVE', version: '3.9.0', lastSyncAt: T2, updatedAt: T2, jwksVersion: 'jwks-2' }, fullDevice(OTHER)],
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
          { deviceId: DEVICE, label: 'acme', module: 'beid', useCase: 'old', month: '2026-03', counter: 1, updatedAt: T1 },
          { deviceId: DEVICE, label: 'acme', module: 'beid', useCase: 'sign', month: '2026-03', counter: 5, updatedAt: T2 },
          { deviceId: OTHER, label: 'acme', module: 'beid', useCase: 'sign', month: '2026-03', counter: 4, updatedAt: T0 },
        ],
        labelDailyCounters: [
          { label: 'acme', module: 'beid', useCase: 'old', day: '2026-03-15', counter: 1 },
          { label: 'acme', module: 'beid', useCase: 'sign', day: '2026-03-15', counter: 3 },
          { label: 'acme', module: 'beid', useCase: 'sign', day: '2026-03-16', counter: 3 },
        ],
        labelMonthlyCounters: [{ label: 'acme', module: 'beid', useCase: 'sign', month: '2026-02', counter: 6 }],
        labelDailyTotals: [
          { label: 'acme', day: '2026-03-15', counter: 4 },
          { label: 'acme', day: '2026-03-16', counter: 3 },
        ],
        labelMonthlyTotals: [{ label: 'acme', month: '2026-02', counter: 6 }],
        deviceMessages: [message({ jti: 'sync-1', receivedAt: T1 }), message({ jti: 'sync-2', receivedAt: T2 })],
      });
    });

    it('writes nothing for a jti recorded before, whatever its kind', async () => {
      expect(await store.recordMessage(message({ jti: 'sync-1' }), { sync: sync1 })).toBe(true);
      await store.recordMessage(message({ jti: 'check-1', kind: 'version-check' }));
      const before = await snapshot();
      expect(await store.recordMessage(message({ jti: 'sync-1', receivedAt: T2 }), { sync: sync2 })).toBe(false);
      expect(await store.recordMessage(message({ jti: 'check-1', receivedAt: T2 }), { sync: sync2 })).toBe(false);
      expect(await snapshot()).toEqual(before);
    });

    it('writes nothing, not even the record, when one of its statements fails', async () => {
      const before = await snapshot();
      const broken: SyncWrite = { ...sync1, monthlyTotals: [{ label: 'acme', month: '2026-02', counter: null as unknown as number }] };
      await expect(store.recordMessage(message({ jti: 'sync-1' }), { sync: broken })).rejects.toThrow();
      expect(await snapshot()).toEqual(before);
      // The jti is free again: the retry is processed.
      expect(await store.recordMessage(message({ jti: 'sync-1' }), { sync: emptySync })).toBe(true);
    });
  });
});
