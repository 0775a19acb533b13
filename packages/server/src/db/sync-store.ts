import type SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import type { DatabaseHandle } from './database.js';
import type { DeviceRow, DeviceUserAgentTable, Executor } from './types.js';

/** Everything one sync writes, in one transaction. */
export interface SyncWrite {
  deviceId: string;
  jti: string;
  /** The answer payload (JSON) kept for retries of this jti. */
  response: string;
  now: string;
  status: string;
  version: string;
  jwksVersion: string;
  labels: string[];
  userAgents: Omit<DeviceUserAgentTable, 'deviceId' | 'firstSeenAt' | 'lastSeenAt'>[];
  /** Keep at most this many User-Agents per device (most recently seen). */
  userAgentLimit: number;
  deviceCounters: { label: string; module: string; useCase: string; month: string; counter: number }[];
  dailyCounters: { label: string; module: string; useCase: string; day: string; counter: number }[];
  /** Transactions dated in months that have ended, for their archived rows. */
  monthlyCounters: { label: string; module: string; useCase: string; month: string; counter: number }[];
  /** The same transactions per label only: per day, and per closed month. */
  dailyTotals: { label: string; day: string; counter: number }[];
  monthlyTotals: { label: string; month: string; counter: number }[];
}

/**
 * The device message hot path: the reads and the one write transaction of a sync. On SQLite it
 * runs prepared better-sqlite3 statements in a synchronous transaction (a Kysely builder call per
 * statement costs several times more than the statement; see ARCHITECTURE.md, known costs); on
 * PostgreSQL it goes through Kysely. Both implement the same statements and are tested alike.
 */
export interface SyncStore {
  findDevice(id: string): Promise<DeviceRow | undefined>;
  findStoredResponse(deviceId: string, jti: string): Promise<{ kind: string; response: string } | undefined>;
  /** Records a processed message; false when one with this jti was recorded first (a concurrent retry). */
  recordMessage(row: { deviceId: string; jti: string; kind: string; response: string; receivedAt: string }): Promise<boolean>;
  /** Applies a sync; false (and nothing written) when its jti was already recorded. */
  writeSync(write: SyncWrite): Promise<boolean>;
}

export function createSyncStore(handle: DatabaseHandle): SyncStore {
  return handle.withRawSqlite ? sqliteSyncStore(handle.withRawSqlite) : kyselySyncStore(handle);
}

const DEVICE_COLUMNS = `id, cert_fingerprint as certFingerprint, certificate, public_jwk as publicJwk, key_alg as keyAlg, version,
  os_name as osName, os_version as osVersion, os_arch as osArch, hostname, status, registered_at as registeredAt,
  last_sync_at as lastSyncAt, updated_at as updatedAt, jwks_version as jwksVersion`;

function sqliteSyncStore(withRaw: NonNullable<DatabaseHandle['withRawSqlite']>): SyncStore {
  let statements: ReturnType<typeof prepare> | undefined;
  const prepare = (s: SQLite.Database) => ({
    device: s.prepare(`select ${DEVICE_COLUMNS} from devices where id = ?`),
    stored: s.prepare('select kind, response from device_messages where device_id = ? and jti = ?'),
    message: s.prepare('insert into device_messages (device_id, jti, kind, response, received_at) values (?, ?, ?, ?, ?) on conflict (device_id, jti) do nothing'),
    updateDevice: s.prepare('update devices set status = ?, version = ?, last_sync_at = ?, updated_at = ?, jwks_version = ? where id = ?'),
    label: s.prepare(
      'insert into device_labels (device_id, label, first_seen_at, last_seen_at) values (?, ?, ?, ?) on conflict (device_id, label) do update set last_seen_at = excluded.last_seen_at',
    ),
    userAgent: s.prepare(
      `insert into device_user_agents (device_id, ua_hash, user_agent, browser_name, browser_major, os_name, os_version, first_seen_at, last_seen_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (device_id, ua_hash) do update set last_seen_at = excluded.last_seen_at`,
    ),
    trimUserAgents: s.prepare(
      `delete from device_user_agents where device_id = ? and ua_hash not in
         (select ua_hash from device_user_agents where device_id = ? order by last_seen_at desc, ua_hash limit ?)`,
    ),
    deviceCounter: s.prepare(
      `insert into device_counters (device_id, label, module, use_case, month, counter, updated_at) values (?, ?, ?, ?, ?, ?, ?)
       on conflict (device_id, label, module, use_case) do update set
         counter = case when device_counters.month = excluded.month then device_counters.counter + excluded.counter else excluded.counter end,
         month = excluded.month, updated_at = excluded.updated_at`,
    ),
    dailyCounter: s.prepare(
      `insert into label_daily_counters (label, module, use_case, day, counter) values (?, ?, ?, ?, ?)
       on conflict (label, module, use_case, day) do update set counter = label_daily_counters.counter + excluded.counter`,
    ),
    dailyTotal: s.prepare(
      `insert into label_daily_totals (label, day, counter) values (?, ?, ?)
       on conflict (label, day) do update set counter = label_daily_totals.counter + excluded.counter`,
    ),
    monthlyTotal: s.prepare(
      `insert into label_monthly_totals (label, month, counter) values (?, ?, ?)
       on conflict (label, month) do update set counter = label_monthly_totals.counter + excluded.counter`,
    ),
    monthlyCounter: s.prepare(
      `insert into label_monthly_counters (label, module, use_case, month, counter) values (?, ?, ?, ?, ?)
       on conflict (label, module, use_case, month) do update set counter = label_monthly_counters.counter + excluded.counter`,
    ),
  });
  const use = <T>(fn: (st: ReturnType<typeof prepare>, s: SQLite.Database) => T) =>
    withRaw((s) => {
      statements ??= prepare(s);
      return fn(statements, s);
    });
  return {
    findDevice: (id) => use((st) => st.device.get(id) as DeviceRow | undefined),
    findStoredResponse: (deviceId, jti) => use((st) => st.stored.get(deviceId, jti) as { kind: string; response: string } | undefined),
    recordMessage: (r) => use((st) => st.message.run(r.deviceId, r.jti, r.kind, r.response, r.receivedAt).changes > 0),
    writeSync: (w) =>
      use((st, s) =>
        s.transaction(() => {
          if (st.message.run(w.deviceId, w.jti, 'sync', w.response, w.now).changes === 0) return false;
          st.updateDevice.run(w.status, w.version, w.now, w.now, w.jwksVersion, w.deviceId);
          for (const label of w.labels) st.label.run(w.deviceId, label, w.now, w.now);
          for (const ua of w.userAgents) {
            st.userAgent.run(w.deviceId, ua.uaHash, ua.userAgent, ua.browserName, ua.browserMajor, ua.osName, ua.osVersion, w.now, w.now);
          }
          if (w.userAgents.length > 0) st.trimUserAgents.run(w.deviceId, w.deviceId, w.userAgentLimit);
          for (const c of w.deviceCounters) st.deviceCounter.run(w.deviceId, c.label, c.module, c.useCase, c.month, c.counter, w.now);
          for (const c of w.dailyCounters) st.dailyCounter.run(c.label, c.module, c.useCase, c.day, c.counter);
          for (const c of w.monthlyCounters) st.monthlyCounter.run(c.label, c.module, c.useCase, c.month, c.counter);
          for (const c of w.dailyTotals) st.dailyTotal.run(c.label, c.day, c.counter);
          for (const c of w.monthlyTotals) st.monthlyTotal.run(c.label, c.month, c.counter);
          return true;
        })(),
      ),
  };
}

/** Thrown inside the transaction to roll back when the jti was already recorded. */
class Duplicate extends Error {}

function kyselySyncStore(handle: DatabaseHandle): SyncStore {
  const db = handle.db;
  const recordMessage = async (trx: Executor, r: { deviceId: string; jti: string; kind: string; response: string; receivedAt: string }) => {
    const result = await trx.insertInto('deviceMessages').values(r).onConflict((oc) => oc.columns(['deviceId', 'jti']).doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  };
  return {
    findDevice: (id) => db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst(),
    findStoredResponse: (deviceId, jti) =>
      db.selectFrom('deviceMessages').select(['kind', 'response']).where('deviceId', '=', deviceId).where('jti', '=', jti).executeTakeFirst(),
    recordMessage: (r) => recordMessage(db, r),
    async writeSync(w) {
      try {
        await db.transaction().execute(async (trx) => {
          if (!(await recordMessage(trx, { deviceId: w.deviceId, jti: w.jti, kind: 'sync', response: w.response, receivedAt: w.now }))) throw new Duplicate();
          await trx
            .updateTable('devices')
            .set({ status: w.status, version: w.version, lastSyncAt: w.now, updatedAt: w.now, jwksVersion: w.jwksVersion })
            .where('id', '=', w.deviceId)
            .execute();
          if (w.labels.length > 0) {
            await trx
              .insertInto('deviceLabels')
              .values(w.labels.map((label) => ({ deviceId: w.deviceId, label, firstSeenAt: w.now, lastSeenAt: w.now })))
              .onConflict((oc) => oc.columns(['deviceId', 'label']).doUpdateSet((eb) => ({ lastSeenAt: eb.ref('excluded.lastSeenAt') })))
              .execute();
          }
          if (w.userAgents.length > 0) {
            await trx
              .insertInto('deviceUserAgents')
              .values(w.userAgents.map((ua) => ({ deviceId: w.deviceId, ...ua, firstSeenAt: w.now, lastSeenAt: w.now })))
              .onConflict((oc) => oc.columns(['deviceId', 'uaHash']).doUpdateSet((eb) => ({ lastSeenAt: eb.ref('excluded.lastSeenAt') })))
              .execute();
            await trx
              .deleteFrom('deviceUserAgents')
              .where('deviceId', '=', w.deviceId)
              .where('uaHash', 'not in', (eb) =>
                eb.selectFrom('deviceUserAgents').select('uaHash').where('deviceId', '=', w.deviceId).orderBy('lastSeenAt', 'desc').orderBy('uaHash').limit(w.userAgentLimit),
              )
              .execute();
          }
          if (w.deviceCounters.length > 0) {
            await trx
              .insertInto('deviceCounters')
              .values(w.deviceCounters.map((c) => ({ deviceId: w.deviceId, ...c, updatedAt: w.now })))
              .onConflict((oc) =>
                oc.columns(['deviceId', 'label', 'module', 'useCase']).doUpdateSet((eb) => ({
                  // A row left from an earlier month (not rolled over yet) starts again from zero.
                  counter: eb
                    .case()
                    .when('deviceCounters.month', '=', eb.ref('excluded.month'))
                    .then(sql<number>`${eb.ref('deviceCounters.counter')} + ${eb.ref('excluded.counter')}`)
                    .else(eb.ref('excluded.counter'))
                    .end(),
                  month: eb.ref('excluded.month'),
                  updatedAt: eb.ref('excluded.updatedAt'),
                })),
              )
              .execute();
          }
          if (w.dailyCounters.length > 0) {
            await trx
              .insertInto('labelDailyCounters')
              .values(w.dailyCounters)
              .onConflict((oc) =>
                oc.columns(['label', 'module', 'useCase', 'day']).doUpdateSet((eb) => ({
                  counter: sql<number>`${eb.ref('labelDailyCounters.counter')} + ${eb.ref('excluded.counter')}`,
                })),
              )
              .execute();
          }
          if (w.monthlyCounters.length > 0) {
            await trx
              .insertInto('labelMonthlyCounters')
              .values(w.monthlyCounters)
              .onConflict((oc) =>
                oc.columns(['label', 'module', 'useCase', 'month']).doUpdateSet((eb) => ({
                  counter: sql<number>`${eb.ref('labelMonthlyCounters.counter')} + ${eb.ref('excluded.counter')}`,
                })),
              )
              .execute();
          }
          if (w.dailyTotals.length > 0) {
            await trx
              .insertInto('labelDailyTotals')
              .values(w.dailyTotals)
              .onConflict((oc) =>
                oc.columns(['label', 'day']).doUpdateSet((eb) => ({ counter: sql<number>`${eb.ref('labelDailyTotals.counter')} + ${eb.ref('excluded.counter')}` })),
              )
              .execute();
          }
          if (w.monthlyTotals.length > 0) {
            await trx
              .insertInto('labelMonthlyTotals')
              .values(w.monthlyTotals)
              .onConflict((oc) =>
                oc.columns(['label', 'month']).doUpdateSet((eb) => ({ counter: sql<number>`${eb.ref('labelMonthlyTotals.counter')} + ${eb.ref('excluded.counter')}` })),
              )
              .execute();
          }
        });
        return true;
      } catch (error) {
        if (error instanceof Duplicate) return false;
        throw error;
      }
    },
  };
}
