import type SQLite from 'better-sqlite3';
import { CompiledQuery, sql } from 'kysely';
import type { DatabaseHandle } from './database.js';
import { UNATTRIBUTED, type DeviceMessageTable, type DeviceRow, type DeviceTable, type DeviceUserAgentTable, type Executor } from './types.js';

/** A processed device message, kept to answer retries of its jti. */
export type MessageRecord = DeviceMessageTable;

/**
 * What a sync writes besides its message record (at the record's `receivedAt`, for its device).
 * Counter rows name their label; the store binds each to the label's organization in the statement
 * that counts it (UNATTRIBUTED when DS does not know the label), so which organization transactions
 * belong to is decided once, when they are counted, in the same transaction.
 */
export interface SyncWrite {
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
  /** The device's counted transactions per transaction day, added to what the daily limit is checked against. */
  deviceDailyTotals: { day: string; counter: number }[];
  /** The daily limit refused entries of this sync: the device is flagged (`daily_limit_reached_at`). */
  dailyLimitReached: boolean;
}

/**
 * What a device message writes besides its record. The store applies it in the transaction that
 * records the message, and only when the record is new. A message kind that writes something
 * else adds a field here and its statements to both stores (the contract test runs both).
 */
export interface MessageWrites {
  sync?: SyncWrite | undefined;
  /** A version check that offered a version in rollout: the device's first offer of it is recorded (rollouts/). */
  offer?: RolloutOfferWrite | undefined;
  /**
   * An event for the audit log and webhooks (a sync over the daily limit: `device.rejected`),
   * kept in `pending_device_events` with the message and recorded from there (devices/events.ts);
   * one per device, action and day (a second one that day is dropped).
   */
  event?: PendingEventWrite | undefined;
}

export interface PendingEventWrite {
  action: string;
  day: string;
  /** The event's `after`, as JSON. */
  payload: string;
}

/** The first time a device is offered a version in rollout (later offers keep the first). */
export interface RolloutOfferWrite {
  versionId: string;
  fromVersion: string;
  waveIndex: number;
  offeredAt: string;
}

/** The device's counted transactions per day, for the days a message asked about (absent: none). */
export type DeviceUsage = ReadonlyMap<string, number>;

/** What a sync reports about its device: written with the record, whose time becomes the device's last sync. */
export interface DeviceReport {
  status: string;
  version: string;
  jwksVersion: string;
}

/** A message to record: who sent it, when, and how its answer and writes are decided. */
export interface NewMessage extends Omit<MessageRecord, 'response'> {
  /** The device's message rate-limit window this message counts in (`deviceMessageWindow`). */
  window: string;
  /** The device's state as the message reports it (a sync's); written whatever `decide` decides. */
  device?: DeviceReport;
  /** Days whose per-device transaction totals `decide` needs (the daily limit); none by default. */
  usageDays?: readonly string[];
  /**
   * Decides the answer (JSON, stored for retries) and the writes from the device's totals of
   * `usageDays`. Runs inside the record's transaction, after the device's row is written (which on
   * PostgreSQL locks it until the transaction ends; SQLite has one writer at a time), so two
   * syncs of one device are decided one after the other, never against the same totals.
   * Synchronous, since SQLite's transaction is.
   */
  decide(usage: DeviceUsage): { response: string; writes?: MessageWrites };
}

/**
 * The device message hot path: the reads and the one write transaction of a message. On SQLite it
 * runs prepared better-sqlite3 statements in a synchronous transaction (a Kysely builder call per
 * statement costs several times more than the statement; see ARCHITECTURE.md, known costs); on
 * PostgreSQL one statement reads and one writes (`postgresSyncStore`: each statement is a round
 * trip). The Kysely store is the reference both follow; all run through the same contract test
 * (sync-store.test.ts).
 */
export interface SyncStore {
  findDevice(id: string): Promise<DeviceRow | undefined>;
  findStoredResponse(deviceId: string, jti: string): Promise<Pick<MessageRecord, 'kind' | 'response'> | undefined>;
  /**
   * Records a processed message, counts it against its device's message rate limit and applies
   * its writes, in one transaction; false (and nothing written) when a message with this jti was
   * recorded first (a retry or a concurrent twin).
   */
  recordMessage(message: NewMessage): Promise<boolean>;
}

export function createSyncStore(handle: DatabaseHandle): SyncStore {
  if (handle.withRawSqlite) return rawSqliteSyncStore(handle);
  return handle.kind === 'postgres' ? postgresSyncStore(handle) : kyselySyncStore(handle);
}

/**
 * Every column of `devices`, by its property name. The type makes it exhaustive: a column added
 * to DeviceTable and not here is a compile error, not a property missing on SQLite only.
 */
const DEVICE_COLUMNS: Record<keyof DeviceTable, true> = {
  id: true,
  certFingerprint: true,
  certificate: true,
  publicJwk: true,
  keyAlg: true,
  version: true,
  osName: true,
  osVersion: true,
  osArch: true,
  hostname: true,
  status: true,
  registeredAt: true,
  lastSyncAt: true,
  updatedAt: true,
  jwksVersion: true,
  dailyLimitReachedAt: true,
  messageWindow: true,
  messageCount: true,
};
const DEVICE_KEYS = Object.keys(DEVICE_COLUMNS) as (keyof DeviceTable)[];

/**
 * The device lookup as a prepared statement whose SQL Kysely compiles (so column names follow the
 * same CamelCasePlugin as every other query); rows come back as arrays in select order and are
 * keyed by the property names.
 */
function prepareFindDevice(handle: DatabaseHandle, s: SQLite.Database): (id: string) => DeviceRow | undefined {
  const query = handle.db.selectFrom('devices').select(DEVICE_KEYS).where('id', '=', '').compile();
  const statement = s.prepare(query.sql).raw(true);
  return (id) => {
    const values = statement.get(id) as unknown[] | undefined;
    if (!values) return undefined;
    const row: Record<string, unknown> = {};
    DEVICE_KEYS.forEach((key, i) => (row[key] = values[i]));
    return row as unknown as DeviceRow;
  };
}

/** The organization a label belongs to now, as SQL for the statement that counts it (UNATTRIBUTED when unknown). */
const ORGANIZATION_OF_LABEL = `coalesce((select organization_id from labels where name = ?), '${UNATTRIBUTED}')`;
/** Counts a message in its device's rate-limit window (parameters: window, window, [..., ] device id). */
const COUNT_MESSAGE = 'message_count = case when message_window = ? then message_count + 1 else 1 end, message_window = ?';

/** SQLite: prepared better-sqlite3 statements, one synchronous transaction per message. */
export function rawSqliteSyncStore(handle: DatabaseHandle): SyncStore {
  const withRaw = handle.withRawSqlite;
  if (!withRaw) throw new Error('the raw SQLite store needs a SQLite database');
  let statements: ReturnType<typeof prepare> | undefined;
  const prepare = (s: SQLite.Database) => ({
    device: prepareFindDevice(handle, s),
    stored: s.prepare('select kind, response from device_messages where device_id = ? and jti = ?'),
    message: s.prepare('insert into device_messages (device_id, jti, kind, response, received_at) values (?, ?, ?, ?, ?) on conflict (device_id, jti) do nothing'),
    countMessage: s.prepare(`update devices set ${COUNT_MESSAGE} where id = ?`),
    updateDevice: s.prepare(
      `update devices set status = ?, version = ?, last_sync_at = ?, updated_at = ?, jwks_version = ?,
         daily_limit_reached_at = coalesce(?, daily_limit_reached_at), ${COUNT_MESSAGE} where id = ?`,
    ),
    flagDailyLimit: s.prepare('update devices set daily_limit_reached_at = ? where id = ?'),
    event: s.prepare('insert into pending_device_events (device_id, action, day, payload, created_at) values (?, ?, ?, ?, ?) on conflict (device_id, action, day) do nothing'),
    offer: s.prepare(
      'insert into rollout_offers (version_id, device_id, offered_at, from_version, wave_index) values (?, ?, ?, ?, ?) on conflict (version_id, device_id) do nothing',
    ),
    usage: s.prepare('select counter from device_daily_totals where device_id = ? and day = ?').pluck(),
    deviceDailyTotal: s.prepare(
      `insert into device_daily_totals (device_id, day, counter) values (?, ?, ?)
       on conflict (device_id, day) do update set counter = device_daily_totals.counter + excluded.counter`,
    ),
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
      `insert into device_counters (device_id, organization_id, label, module, use_case, month, counter, updated_at) values (?, ${ORGANIZATION_OF_LABEL}, ?, ?, ?, ?, ?, ?)
       on conflict (device_id, organization_id, label, module, use_case) do update set
         counter = case when device_counters.month = excluded.month then device_counters.counter + excluded.counter else excluded.counter end,
         month = excluded.month, updated_at = excluded.updated_at`,
    ),
    dailyCounter: s.prepare(
      `insert into label_daily_counters (organization_id, label, module, use_case, day, counter) values (${ORGANIZATION_OF_LABEL}, ?, ?, ?, ?, ?)
       on conflict (organization_id, label, module, use_case, day) do update set counter = label_daily_counters.counter + excluded.counter`,
    ),
    dailyTotal: s.prepare(
      `insert into label_daily_totals (organization_id, label, day, counter) values (${ORGANIZATION_OF_LABEL}, ?, ?, ?)
       on conflict (organization_id, label, day) do update set counter = label_daily_totals.counter + excluded.counter`,
    ),
    monthlyTotal: s.prepare(
      `insert into label_monthly_totals (organization_id, label, month, counter) values (${ORGANIZATION_OF_LABEL}, ?, ?, ?)
       on conflict (organization_id, label, month) do update set counter = label_monthly_totals.counter + excluded.counter`,
    ),
    monthlyCounter: s.prepare(
      `insert into label_monthly_counters (organization_id, label, module, use_case, month, counter) values (${ORGANIZATION_OF_LABEL}, ?, ?, ?, ?, ?)
       on conflict (organization_id, label, module, use_case, month) do update set counter = label_monthly_counters.counter + excluded.counter`,
    ),
  });
  const use = <T>(fn: (st: ReturnType<typeof prepare>, s: SQLite.Database) => T) =>
    withRaw((s) => {
      statements ??= prepare(s);
      return fn(statements, s);
    });
  /** The device's row: its report (a sync's), the message counted in its window, the daily limit flag. */
  const writeDevice = (st: ReturnType<typeof prepare>, m: NewMessage, w: SyncWrite | undefined) => {
    const now = m.receivedAt;
    const limited = w?.dailyLimitReached ? now : null;
    if (m.device) st.updateDevice.run(m.device.status, m.device.version, now, now, m.device.jwksVersion, limited, m.window, m.window, m.deviceId);
    else {
      st.countMessage.run(m.window, m.window, m.deviceId);
      if (limited) st.flagDailyLimit.run(limited, m.deviceId);
    }
  };
  const writeSync = (st: ReturnType<typeof prepare>, deviceId: string, now: string, w: SyncWrite) => {
    for (const label of w.labels) st.label.run(deviceId, label, now, now);
    for (const ua of w.userAgents) {
      st.userAgent.run(deviceId, ua.uaHash, ua.userAgent, ua.browserName, ua.browserMajor, ua.osName, ua.osVersion, now, now);
    }
    if (w.userAgents.length > 0) st.trimUserAgents.run(deviceId, deviceId, w.userAgentLimit);
    for (const c of w.deviceCounters) st.deviceCounter.run(deviceId, c.label, c.label, c.module, c.useCase, c.month, c.counter, now);
    for (const c of w.dailyCounters) st.dailyCounter.run(c.label, c.label, c.module, c.useCase, c.day, c.counter);
    for (const c of w.monthlyCounters) st.monthlyCounter.run(c.label, c.label, c.module, c.useCase, c.month, c.counter);
    for (const c of w.dailyTotals) st.dailyTotal.run(c.label, c.label, c.day, c.counter);
    for (const c of w.monthlyTotals) st.monthlyTotal.run(c.label, c.label, c.month, c.counter);
    for (const c of w.deviceDailyTotals) st.deviceDailyTotal.run(deviceId, c.day, c.counter);
  };
  return {
    findDevice: (id) => use((st) => st.device(id)),
    findStoredResponse: (deviceId, jti) => use((st) => st.stored.get(deviceId, jti) as Pick<MessageRecord, 'kind' | 'response'> | undefined),
    // BEGIN IMMEDIATE: the transaction reads the device's totals before it writes, and a deferred
    // one would then fail at once (SQLITE_BUSY, no busy wait) whenever another process had written
    // since the read; taking the write lock first waits for it instead, and the totals read are
    // the latest.
    recordMessage: (m) =>
      use((st, s) => timed(handle, () =>
        s.transaction(() => {
          const usage = new Map<string, number>();
          for (const day of m.usageDays ?? []) {
            const counter = st.usage.get(m.deviceId, day) as number | bigint | undefined;
            if (counter !== undefined) usage.set(day, Number(counter));
          }
          const { response, writes = {} } = m.decide(usage);
          if (st.message.run(m.deviceId, m.jti, m.kind, response, m.receivedAt).changes === 0) return false;
          writeDevice(st, m, writes.sync);
          if (writes.sync) writeSync(st, m.deviceId, m.receivedAt, writes.sync);
          if (writes.offer) st.offer.run(writes.offer.versionId, m.deviceId, writes.offer.offeredAt, writes.offer.fromVersion, writes.offer.waveIndex);
          if (writes.event) st.event.run(m.deviceId, writes.event.action, writes.event.day, writes.event.payload, m.receivedAt);
          return true;
        }).immediate(),
      )),
  };
}

/** Runs a transaction of its own (outside Kysely, whose are timed by the driver), reporting its duration. */
function timed<T>(handle: DatabaseHandle, transaction: () => T): T {
  const started = performance.now();
  let committed = false;
  try {
    const result = transaction();
    committed = true;
    return result;
  } finally {
    handle.transactionTimed(committed, (performance.now() - started) / 1000);
  }
}

/** Thrown inside the transaction to roll back when the jti was already recorded. */
class Duplicate extends Error {}

/**
 * Whether PostgreSQL undid the whole transaction for a reason that running it again resolves: a
 * deadlock (40P01: it aborted this transaction to break a cycle of lock waits, say with another
 * node's rollover or an operator's change) or a serialization failure (40001). A message's
 * transaction is all or nothing and its replay check runs again with it, so it is retried
 * (at most {@link TRANSIENT_RETRIES} times) instead of failing the device's sync with a 500.
 */
export function isTransientPostgresError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return code === '40P01' || code === '40001';
}
const TRANSIENT_RETRIES = 5;

async function insertMessage(db: Executor, r: MessageRecord): Promise<boolean> {
  const result = await db.insertInto('deviceMessages').values(r).onConflict((oc) => oc.columns(['deviceId', 'jti']).doNothing()).executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** The organization a label belongs to now (UNATTRIBUTED when unknown), evaluated in the statement that counts. */
const organizationOf = (label: string) => sql<string>`coalesce((select organization_id from labels where name = ${label}), ${UNATTRIBUTED})`;

/** Counts a message in its device's rate-limit window. */
const countMessage = (window: string) => ({
  messageCount: sql<number>`case when message_window = ${window} then message_count + 1 else 1 end`,
  messageWindow: window,
});

async function writeSync(trx: Executor, deviceId: string, now: string, w: SyncWrite): Promise<void> {
  if (w.dailyLimitReached) await trx.updateTable('devices').set({ dailyLimitReachedAt: now }).where('id', '=', deviceId).execute();
  if (w.labels.length > 0) {
    await trx
      .insertInto('deviceLabels')
      .values(w.labels.map((label) => ({ deviceId, label, firstSeenAt: now, lastSeenAt: now })))
      .onConflict((oc) => oc.columns(['deviceId', 'label']).doUpdateSet((eb) => ({ lastSeenAt: eb.ref('excluded.lastSeenAt') })))
      .execute();
  }
  if (w.userAgents.length > 0) {
    await trx
      .insertInto('deviceUserAgents')
      .values(w.userAgents.map((ua) => ({ deviceId, ...ua, firstSeenAt: now, lastSeenAt: now })))
      .onConflict((oc) => oc.columns(['deviceId', 'uaHash']).doUpdateSet((eb) => ({ lastSeenAt: eb.ref('excluded.lastSeenAt') })))
      .execute();
    await trx
      .deleteFrom('deviceUserAgents')
      .where('deviceId', '=', deviceId)
      .where('uaHash', 'not in', (eb) =>
        eb.selectFrom('deviceUserAgents').select('uaHash').where('deviceId', '=', deviceId).orderBy('lastSeenAt', 'desc').orderBy('uaHash').limit(w.userAgentLimit),
      )
      .execute();
  }
  if (w.deviceCounters.length > 0) {
    await trx
      .insertInto('deviceCounters')
      .values(w.deviceCounters.map((c) => ({ deviceId, organizationId: organizationOf(c.label), ...c, updatedAt: now })))
      .onConflict((oc) =>
        oc.columns(['deviceId', 'organizationId', 'label', 'module', 'useCase']).doUpdateSet((eb) => ({
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
      .values(w.dailyCounters.map((c) => ({ organizationId: organizationOf(c.label), ...c })))
      .onConflict((oc) =>
        oc.columns(['organizationId', 'label', 'module', 'useCase', 'day']).doUpdateSet((eb) => ({
          counter: sql<number>`${eb.ref('labelDailyCounters.counter')} + ${eb.ref('excluded.counter')}`,
        })),
      )
      .execute();
  }
  if (w.monthlyCounters.length > 0) {
    await trx
      .insertInto('labelMonthlyCounters')
      .values(w.monthlyCounters.map((c) => ({ organizationId: organizationOf(c.label), ...c })))
      .onConflict((oc) =>
        oc.columns(['organizationId', 'label', 'module', 'useCase', 'month']).doUpdateSet((eb) => ({
          counter: sql<number>`${eb.ref('labelMonthlyCounters.counter')} + ${eb.ref('excluded.counter')}`,
        })),
      )
      .execute();
  }
  if (w.dailyTotals.length > 0) {
    await trx
      .insertInto('labelDailyTotals')
      .values(w.dailyTotals.map((c) => ({ organizationId: organizationOf(c.label), ...c })))
      .onConflict((oc) =>
        oc.columns(['organizationId', 'label', 'day']).doUpdateSet((eb) => ({ counter: sql<number>`${eb.ref('labelDailyTotals.counter')} + ${eb.ref('excluded.counter')}` })),
      )
      .execute();
  }
  if (w.monthlyTotals.length > 0) {
    await trx
      .insertInto('labelMonthlyTotals')
      .values(w.monthlyTotals.map((c) => ({ organizationId: organizationOf(c.label), ...c })))
      .onConflict((oc) =>
        oc.columns(['organizationId', 'label', 'month']).doUpdateSet((eb) => ({ counter: sql<number>`${eb.ref('labelMonthlyTotals.counter')} + ${eb.ref('excluded.counter')}` })),
      )
      .execute();
  }
  if (w.deviceDailyTotals.length > 0) {
    await trx
      .insertInto('deviceDailyTotals')
      .values(w.deviceDailyTotals.map((c) => ({ deviceId, ...c })))
      .onConflict((oc) =>
        oc.columns(['deviceId', 'day']).doUpdateSet((eb) => ({ counter: sql<number>`${eb.ref('deviceDailyTotals.counter')} + ${eb.ref('excluded.counter')}` })),
      )
      .execute();
  }
}

/** The device's totals of `days`. */
async function readUsage(trx: Executor, deviceId: string, days: readonly string[]): Promise<Map<string, number>> {
  const rows = await trx.selectFrom('deviceDailyTotals').select(['day', 'counter']).where('deviceId', '=', deviceId).where('day', 'in', [...days]).execute();
  return new Map(rows.map((r) => [r.day, Number(r.counter)]));
}

/** Kysely (PostgreSQL, and SQLite in the contract test): the same statements as builder calls. */
export function kyselySyncStore(handle: DatabaseHandle): SyncStore {
  const db = handle.db;
  return {
    findDevice: (id) => db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst(),
    findStoredResponse: (deviceId, jti) =>
      db.selectFrom('deviceMessages').select(['kind', 'response']).where('deviceId', '=', deviceId).where('jti', '=', jti).executeTakeFirst(),
    async recordMessage(m) {
      const { window, usageDays = [], decide, device, ...record } = m;
      const now = m.receivedAt;
      for (let transient = 0; ; transient++) {
        try {
          await db.transaction().execute(async (trx) => {
            // The device's row first: on PostgreSQL this locks it until the transaction ends, so a
            // concurrent message of the device waits here, and the totals read next (a new
            // statement, a new snapshot) include what that one counted. (A FOR UPDATE on a join
            // would lock the row but read the totals as of before the wait.) Undone with the rest
            // when the jti turns out to be recorded already.
            await trx
              .updateTable('devices')
              .set({ ...(device ? { status: device.status, version: device.version, jwksVersion: device.jwksVersion, lastSyncAt: now, updatedAt: now } : {}), ...countMessage(window) })
              .where('id', '=', m.deviceId)
              .execute();
            const usage = usageDays.length > 0 ? await readUsage(trx, m.deviceId, usageDays) : new Map<string, number>();
            const { response, writes = {} } = decide(usage);
            if (!(await insertMessage(trx, { ...record, response }))) throw new Duplicate();
            if (writes.sync) await writeSync(trx, m.deviceId, now, writes.sync);
            if (writes.offer) {
              await trx
                .insertInto('rolloutOffers')
                .values({ ...writes.offer, deviceId: m.deviceId })
                .onConflict((oc) => oc.columns(['versionId', 'deviceId']).doNothing())
                .execute();
            }
            if (writes.event) {
              await trx
                .insertInto('pendingDeviceEvents')
                .values({ deviceId: m.deviceId, ...writes.event, createdAt: now })
                .onConflict((oc) => oc.columns(['deviceId', 'action', 'day']).doNothing())
                .execute();
            }
          });
          return true;
        } catch (error) {
          if (error instanceof Duplicate) return false;
          // PostgreSQL rolled it all back: run it again, reading and deciding anew.
          if (isTransientPostgresError(error) && transient < TRANSIENT_RETRIES) continue;
          throw error;
        }
      }
    },
  };
}

/**
 * PostgreSQL: a message in two round trips after its replay check, instead of a dozen (each a
 * round trip: node-postgres does not pipeline). One statement reads what `decide` needs (the
 * device's rate-limit window and count, which change with every message the device records,
 * and its totals of `usageDays`), then ONE statement writes everything, itself the transaction:
 * the device's row, the record, and the sync's rows, each data-modifying CTE writing only when
 * the record is new. The device's row is updated only if its window and count are still those
 * read: a concurrent message of the device that committed in between changed them (PostgreSQL
 * re-checks the WHERE of a row it waited for against its newest version), so nothing is written,
 * and the state is read and decided again. Two messages of one device are thus decided one after
 * the other, never against the same totals, as in the other stores.
 */
export function postgresSyncStore(handle: DatabaseHandle): SyncStore {
  const kysely = kyselySyncStore(handle);
  const db = handle.db;
  // Prepared once per connection: the write is a large statement, and PostgreSQL (on the same
  // machine, often) would otherwise parse and plan it for every message.
  const query = async <R>(name: string, text: string, values: unknown[]) =>
    handle.preparedPostgres ? handle.preparedPostgres<R>(name, text, values) : (await db.executeQuery<R>(CompiledQuery.raw(text, values))).rows;
  // Column aliases are lower case without underscores: the CamelCasePlugin leaves them alone.
  const READ = `select d.message_window as mwindow, d.message_count as mcount,
      exists (select 1 from device_messages m where m.device_id = d.id and m.jti = $2) as recorded,
      (select coalesce(json_object_agg(t.day, t.counter), '{}') from device_daily_totals t where t.device_id = d.id and t.day = any($3::text[])) as usage
    from devices d where d.id = $1`;
  const prepared = handle.preparedPostgres;
  return {
    // Prepared too: a Kysely builder call costs DS more CPU than these statements cost PostgreSQL.
    findDevice: prepared ? async (id) => (await prepared<DeviceRow>('ds_find_device', FIND_DEVICE, [id]))[0] : kysely.findDevice,
    findStoredResponse: prepared
      ? async (deviceId, jti) => (await prepared<Pick<MessageRecord, 'kind' | 'response'>>('ds_stored_response', STORED_RESPONSE, [deviceId, jti]))[0]
      : kysely.findStoredResponse,
    async recordMessage(m) {
      const days = [...(m.usageDays ?? [])];
      let transient = 0;
      for (let attempt = 0; attempt < 20; attempt++) {
        const [state] = await query<{ mwindow: string | null; mcount: number; recorded: boolean; usage: Record<string, number> }>('ds_message_state', READ, [m.deviceId, m.jti, days]);
        if (!state) throw new Error(`device ${m.deviceId} is gone`);
        if (state.recorded) return false;
        const usage = new Map(Object.entries(state.usage).map(([day, n]) => [day, Number(n)]));
        const { response, writes = {} } = m.decide(usage);
        const started = performance.now();
        let written = false;
        let result: { updated: number; inserted: number } | undefined;
        try {
          [result] = await query<{ updated: number; inserted: number }>('ds_record_message', RECORD_MESSAGE, [
            m.deviceId,
            m.jti,
            m.kind,
            response,
            m.receivedAt,
            m.window,
            state.mwindow,
            state.mcount,
            m.device ? JSON.stringify(m.device) : null,
            JSON.stringify(postgresWrites(writes)),
          ]);
          written = Number(result?.inserted) > 0;
        } catch (error) {
          // The statement is the transaction, undone whole: read, decide and write again.
          if (isTransientPostgresError(error) && transient++ < TRANSIENT_RETRIES) continue;
          throw error;
        } finally {
          // The statement is the message's transaction: timed like the others (the app's metrics).
          handle.transactionTimed(written, (performance.now() - started) / 1000);
        }
        if (written) return true;
        // Not updated: another message of the device was recorded since the read (or this jti).
      }
      // Twenty messages of the device in between: answer as for a twin still being processed.
      return false;
    },
  };
}

/** Every column of the devices row, named by its property (`cert_fingerprint as "certFingerprint"`). */
const FIND_DEVICE = `select ${DEVICE_KEYS.map((key) => `${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)} as "${key}"`).join(', ')} from devices where id = $1`;
const STORED_RESPONSE = 'select kind, response from device_messages where device_id = $1 and jti = $2';

/** The writes as the statement's JSON parameter, rows sorted by key (the same lock order in every statement). */
function postgresWrites(writes: MessageWrites) {
  const w = writes.sync;
  const by = <T>(key: (row: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  return {
    labels: [...(w?.labels ?? [])].sort(),
    userAgents: w?.userAgents ?? [],
    userAgentLimit: w?.userAgentLimit ?? 0,
    deviceCounters: [...(w?.deviceCounters ?? [])].sort(by((c) => `${c.label}\u0000${c.module}\u0000${c.useCase}`)),
    dailyCounters: [...(w?.dailyCounters ?? [])].sort(by((c) => `${c.label}\u0000${c.module}\u0000${c.useCase}\u0000${c.day}`)),
    monthlyCounters: [...(w?.monthlyCounters ?? [])].sort(by((c) => `${c.label}\u0000${c.module}\u0000${c.useCase}\u0000${c.month}`)),
    dailyTotals: [...(w?.dailyTotals ?? [])].sort(by((c) => `${c.label}\u0000${c.day}`)),
    monthlyTotals: [...(w?.monthlyTotals ?? [])].sort(by((c) => `${c.label}\u0000${c.month}`)),
    deviceDailyTotals: [...(w?.deviceDailyTotals ?? [])].sort(by((c) => c.day)),
    dailyLimitReached: w?.dailyLimitReached ?? false,
    offer: writes.offer ?? null,
    event: writes.event ?? null,
  };
}

const PG_ORGANIZATION_OF = (label: string) => `coalesce((select organization_id from labels where name = ${label}), '${UNATTRIBUTED}')`;

/**
 * The record and every write of a message, one statement. Parameters: $1 device id, $2 jti,
 * $3 kind, $4 response, $5 received at, $6 the message's window, $7/$8 the window and count read,
 * $9 the device report (JSON, or null), $10 the writes (JSON, `postgresWrites`). Data-modifying
 * CTEs all see the statement's snapshot, not each other's rows: the User-Agents to keep are
 * computed once (the device's rows as they will be, newest first, up to the limit), then only
 * those are upserted and only the others deleted.
 */
const RECORD_MESSAGE = `
with w as (select $10::jsonb as j, $9::jsonb as report),
dev as (
  update devices set
    status = coalesce((select report->>'status' from w), status),
    version = coalesce((select report->>'version' from w), version),
    jwks_version = coalesce((select report->>'jwksVersion' from w), jwks_version),
    last_sync_at = case when $9::jsonb is null then last_sync_at else $5 end,
    updated_at = case when $9::jsonb is null then updated_at else $5 end,
    daily_limit_reached_at = case when (select (j->>'dailyLimitReached')::boolean from w) then $5 else daily_limit_reached_at end,
    message_count = case when message_window = $6 then message_count + 1 else 1 end,
    message_window = $6
  where id = $1 and message_window is not distinct from $7 and message_count = $8
    and not exists (select 1 from device_messages where device_id = $1 and jti = $2)
  returning id
),
msg as (
  insert into device_messages (device_id, jti, kind, response, received_at)
  select $1, $2, $3::text, $4::text, $5 from dev
  on conflict (device_id, jti) do nothing
  returning device_id
),
lbl as (
  insert into device_labels (device_id, label, first_seen_at, last_seen_at)
  select $1, l, $5, $5 from w, jsonb_array_elements_text(w.j->'labels') as l where exists (select 1 from msg)
  on conflict (device_id, label) do update set last_seen_at = excluded.last_seen_at
),
incoming as (
  select u.* from w, jsonb_to_recordset(w.j->'userAgents') as u("uaHash" text, "userAgent" text, "browserName" text, "browserMajor" text, "osName" text, "osVersion" text)
),
keep as (
  select ua_hash from (
    select "uaHash" as ua_hash, $5::text as last_seen_at from incoming
    union all
    select ua_hash, last_seen_at from device_user_agents where device_id = $1 and ua_hash not in (select "uaHash" from incoming)
  ) merged order by last_seen_at desc, ua_hash limit (select (j->>'userAgentLimit')::int from w)
),
ua as (
  insert into device_user_agents (device_id, ua_hash, user_agent, browser_name, browser_major, os_name, os_version, first_seen_at, last_seen_at)
  select $1, "uaHash", "userAgent", "browserName", "browserMajor", "osName", "osVersion", $5, $5 from incoming
  where exists (select 1 from msg) and "uaHash" in (select ua_hash from keep)
  on conflict (device_id, ua_hash) do update set last_seen_at = excluded.last_seen_at
),
trim as (
  delete from device_user_agents where device_id = $1 and exists (select 1 from msg) and exists (select 1 from incoming)
    and ua_hash not in (select ua_hash from keep)
),
dc as (
  insert into device_counters (device_id, organization_id, label, module, use_case, month, counter, updated_at)
  select $1, ${PG_ORGANIZATION_OF('c.label')}, c.label, c.module, c."useCase", c.month, c.counter, $5
  from w, jsonb_to_recordset(w.j->'deviceCounters') as c(label text, module text, "useCase" text, month text, counter bigint) where exists (select 1 from msg)
  on conflict (device_id, organization_id, label, module, use_case) do update set
    counter = case when device_counters.month = excluded.month then device_counters.counter + excluded.counter else excluded.counter end,
    month = excluded.month, updated_at = excluded.updated_at
),
ldc as (
  insert into label_daily_counters (organization_id, label, module, use_case, day, counter)
  select ${PG_ORGANIZATION_OF('c.label')}, c.label, c.module, c."useCase", c.day, c.counter
  from w, jsonb_to_recordset(w.j->'dailyCounters') as c(label text, module text, "useCase" text, day text, counter bigint) where exists (select 1 from msg)
  on conflict (organization_id, label, module, use_case, day) do update set counter = label_daily_counters.counter + excluded.counter
),
lmc as (
  insert into label_monthly_counters (organization_id, label, module, use_case, month, counter)
  select ${PG_ORGANIZATION_OF('c.label')}, c.label, c.module, c."useCase", c.month, c.counter
  from w, jsonb_to_recordset(w.j->'monthlyCounters') as c(label text, module text, "useCase" text, month text, counter bigint) where exists (select 1 from msg)
  on conflict (organization_id, label, module, use_case, month) do update set counter = label_monthly_counters.counter + excluded.counter
),
ldt as (
  insert into label_daily_totals (organization_id, label, day, counter)
  select ${PG_ORGANIZATION_OF('c.label')}, c.label, c.day, c.counter
  from w, jsonb_to_recordset(w.j->'dailyTotals') as c(label text, day text, counter bigint) where exists (select 1 from msg)
  on conflict (organization_id, label, day) do update set counter = label_daily_totals.counter + excluded.counter
),
lmt as (
  insert into label_monthly_totals (organization_id, label, month, counter)
  select ${PG_ORGANIZATION_OF('c.label')}, c.label, c.month, c.counter
  from w, jsonb_to_recordset(w.j->'monthlyTotals') as c(label text, month text, counter bigint) where exists (select 1 from msg)
  on conflict (organization_id, label, month) do update set counter = label_monthly_totals.counter + excluded.counter
),
ddt as (
  insert into device_daily_totals (device_id, day, counter)
  select $1, c.day, c.counter from w, jsonb_to_recordset(w.j->'deviceDailyTotals') as c(day text, counter bigint) where exists (select 1 from msg)
  on conflict (device_id, day) do update set counter = device_daily_totals.counter + excluded.counter
),
offer as (
  insert into rollout_offers (version_id, device_id, offered_at, from_version, wave_index)
  select o."versionId", $1, o."offeredAt", o."fromVersion", o."waveIndex"
  from w, jsonb_to_record(w.j->'offer') as o("versionId" text, "offeredAt" text, "fromVersion" text, "waveIndex" integer)
  where w.j->'offer' <> 'null'::jsonb and exists (select 1 from msg)
  on conflict (version_id, device_id) do nothing
),
event as (
  insert into pending_device_events (device_id, action, day, payload, created_at)
  select $1, e.action, e.day, e.payload, $5
  from w, jsonb_to_record(w.j->'event') as e(action text, day text, payload text)
  where w.j->'event' <> 'null'::jsonb and exists (select 1 from msg)
  on conflict (device_id, action, day) do nothing
)
select (select count(*) from dev) as updated, (select count(*) from msg) as inserted`;
