// bench:reports — the generated databases: a large installation's counters (for the reports) and a
// month of daily rows waiting for its rollover. Each is created with DS's own migrations and first
// start (`initDs`), so the schema is exactly DS's, then filled with better-sqlite3 prepared
// statements in big transactions. Files are cached by generator version, size and date, so a rerun
// reuses them; the JSON next to each file records what was generated (counts, sums, time taken).
// The cache key includes a fingerprint of DS's schema, so a changed migration regenerates them.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { initDs, loadConfig } from '@ds/server';
import { ADMIN_PASSWORD, fmt } from './lib.js';

type Value = string | number | null;

/** Bump when what is generated changes: cached files of another version are regenerated. */
export const GENERATOR_VERSION = 4;

export const MODULES = ['beid', 'emv', 'file-exchange', 'luxeid', 'pkcs11'];
export const USE_CASES = ['authenticate', 'encrypt', 'read-data', 'sign', 'verify-pin'];
/** Organizations and labels per organization of the 10-million-row installation (scaled with --rows). */
const ORGANIZATIONS = 100;
const LABELS_PER_ORGANIZATION = 20;
/** (module, use case) pairs each device has counters for this month. */
const PAIRS_PER_DEVICE = 8;

export const monthOf = (date: Date): string => date.toISOString().slice(0, 7);
export function addMonths(month: string, n: number): string {
  const [y = 0, m = 1] = month.split('-').map(Number);
  const index = y * 12 + (m - 1) + n;
  return `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
}
export const daysIn = (month: string): number => new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)), 0)).getUTCDate();
const dayName = (month: string, d: number) => `${month}-${String(d).padStart(2, '0')}`;

/** A small seeded PRNG (mulberry32): the same data on every generation. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Organizations `org-001`… with `perOrg` labels each (`org-001-l01`…), names in key order. */
interface Organization {
  id: string;
  name: string;
  labels: { id: string; name: string }[];
  created: string;
}

function organizations(count: number, perOrg: number, now: string): Organization[] {
  const width = Math.max(2, String(perOrg).length);
  const orgWidth = Math.max(3, String(count).length);
  const out: Organization[] = [];
  for (let o = 1; o <= count; o++) {
    const name = `org-${String(o).padStart(orgWidth, '0')}`;
    const labels = [];
    for (let l = 1; l <= perOrg; l++) labels.push({ id: randomUUID(), name: `${name}-l${String(l).padStart(width, '0')}` });
    out.push({ id: randomUUID(), name, labels, created: now });
  }
  return out;
}

/**
 * Opens a new database at `path` with DS's schema and first admin, tuned for bulk loading; the
 * counter tables' secondary indexes are dropped (rebuilt by `finish`, with DS's own definitions).
 */
async function create(path: string, tables: string[]): Promise<Bulk> {
  rmSync(path, { force: true });
  for (const suffix of ['-wal', '-shm']) rmSync(path + suffix, { force: true });
  await initDs(loadConfig({}, { databaseUrl: path, logLevel: 'warn' }), { adminPassword: ADMIN_PASSWORD });
  const db = new SQLite(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -1000000');
  db.pragma('temp_store = MEMORY');
  const indexes = db
    .prepare<string[], { name: string; sql: string }>(`select name, sql from sqlite_master where type = 'index' and sql is not null and tbl_name in (${tables.map(() => '?').join(', ')})`)
    .all(...tables);
  for (const i of indexes) db.exec(`drop index "${i.name}"`);
  return { db, indexes };
}

/**
 * Tables DS writes from the counters in the same transactions (totals per organization and label),
 * filled from the generated counters as DS would have.
 */
const DERIVED: [table: string, sql: string][] = [
  [
    'label_daily_totals',
    'insert into label_daily_totals (organization_id, label, day, counter) select organization_id, label, day, sum(counter) from label_daily_counters group by organization_id, label, day',
  ],
  [
    'label_monthly_totals',
    'insert into label_monthly_totals (organization_id, label, month, counter) select organization_id, label, month, sum(counter) from label_monthly_counters group by organization_id, label, month',
  ],
];
export const DERIVED_TABLES = DERIVED.map(([table]) => table);

/** A database being filled, and the secondary indexes to build once it is. */
interface Bulk {
  db: SQLite.Database;
  indexes: { name: string; sql: string }[];
}

/** Fills the derived tables, builds the indexes and moves `tmp` to `path`; answers the seconds that took. */
function finish({ db, indexes }: Bulk, path: string, tmp: string): number {
  const started = performance.now();
  const tables = new Set(db.prepare<[], string>("select name from sqlite_master where type = 'table'").pluck().all());
  for (const [table, sql] of DERIVED) if (tables.has(table)) db.exec(sql);
  for (const i of indexes) db.exec(i.sql);
  const seconds = (performance.now() - started) / 1000;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  for (const suffix of ['-wal', '-shm']) rmSync(tmp + suffix, { force: true });
  renameSync(tmp, path);
  return seconds;
}

function insertOrganizations(db: SQLite.Database, orgs: Organization[], now: string) {
  const org = db.prepare('insert into organizations (id, name, description, created_at, updated_at) values (?, ?, null, ?, ?)');
  const label = db.prepare('insert into labels (id, name, organization_id, description, created_at, updated_at) values (?, ?, ?, null, ?, ?)');
  db.transaction(() => {
    for (const o of orgs) {
      org.run(o.id, o.name, now, now);
      for (const l of o.labels) label.run(l.id, l.name, o.id, now, now);
    }
  })();
}

/**
 * Runs `fill(insert)`, inserting into `table` in statements of 50 rows (fewer calls into SQLite
 * than one row at a time) and transactions of `chunk` rows.
 */
function bulk(db: SQLite.Database, table: string, columns: string[], fill: (insert: (...row: Value[]) => void) => void, chunk = 500_000) {
  const ROWS = 50;
  const row = `(${columns.map(() => '?').join(', ')})`;
  const sql = (n: number) => `insert into ${table} (${columns.join(', ')}) values ${Array(n).fill(row).join(', ')}`;
  const many = db.prepare(sql(ROWS));
  const one = db.prepare(sql(1));
  let values: Value[] = [];
  let pending = 0;
  db.exec('begin');
  fill((...row) => {
    values.push(...row);
    if (values.length === ROWS * columns.length) {
      many.run(values);
      values = [];
      pending += ROWS;
      if (pending >= chunk) {
        db.exec('commit');
        db.exec('begin');
        pending = 0;
      }
    }
  });
  for (let i = 0; i < values.length; i += columns.length) one.run(values.slice(i, i + columns.length));
  db.exec('commit');
}

function progress(label: string, done: number, total: number) {
  if (process.stderr.isTTY) process.stderr.write(`\r${label}: ${fmt((100 * done) / total)}%   `);
}

/** What `generateReportsDb` made; written as JSON next to the database. */
export interface ReportsMeta {
  generator: number;
  generatedAt: string;
  month: string;
  /** Days of `month` with daily rows (1 to today). */
  days: number;
  organizations: number;
  labels: number;
  devices: number;
  dailyRows: number;
  dailySum: number;
  deviceRows: number;
  deviceSum: number;
  monthlyRows: number;
  monthlySum: number;
  closedMonths: string[];
  /** Seconds spent on the derived tables and indexes, and on the whole generation. */
  indexSeconds: number;
  seconds: number;
}

/** What `generateRolloverDb` made; written as JSON next to the database. */
export interface RolloverMeta {
  generator: number;
  generatedAt: string;
  month: string;
  days: number;
  organizations: number;
  labels: number;
  dailyRows: number;
  dailySum: number;
  indexSeconds: number;
  seconds: number;
}

/**
 * The installation the reports read, as of `now`: organizations × 20 labels; this month's daily
 * label rows (every label × module × use case × day so far); this month's per-device rows (the
 * rest of `rows`, 8 (module, use case) pairs per device, one label each); the 11 closed months
 * before it archived per label, with their completed rollovers.
 */
export async function generateReportsDb(path: string, rows: number, now: Date): Promise<ReportsMeta> {
  const started = performance.now();
  const tmp = `${path}.tmp`;
  const handle = await create(tmp, ['label_daily_counters', 'device_counters', 'label_monthly_counters', ...DERIVED_TABLES]);
  const { db } = handle;
  const nowIso = now.toISOString();
  const current = monthOf(now);
  const today = now.getUTCDate();
  const rand = random(42);
  const orgCount = Math.max(2, Math.round((ORGANIZATIONS * rows) / 10_000_000));
  const orgs = organizations(orgCount, LABELS_PER_ORGANIZATION, nowIso);
  insertOrganizations(db, orgs, nowIso);
  const labels = orgs.flatMap((o) => o.labels.map((l) => l.name)).sort();
  // Counter rows carry the organization they were counted for (migration 0007).
  const organizationOf = new Map(orgs.flatMap((o) => o.labels.map((l) => [l.name, o.id] as const)));

  // This month's daily rows, in the order DS writes them: a day's rows appear that day.
  const keys = labels.flatMap((label) => MODULES.flatMap((module) => USE_CASES.map((useCase) => [label, module, useCase] as const)));
  let daily = 0;
  let dailySum = 0;
  const dailyTarget = Math.min(rows, keys.length * today);
  bulk(db, 'label_daily_counters', ['organization_id', 'label', 'module', 'use_case', 'day', 'counter'], (insert) => {
    for (let d = 1; d <= today; d++) {
      for (const [label, module, useCase] of keys) {
        if (daily === dailyTarget) break;
        const counter = 1 + Math.floor(rand() * 200);
        insert(organizationOf.get(label)!, label, module, useCase, dayName(current, d), counter);
        daily += 1;
        dailySum += counter;
      }
      progress('daily label rows', daily, dailyTarget);
    }
  });

  // This month's per-device rows: device ids sorted so rows go in primary-key order.
  const deviceTarget = rows - daily;
  const deviceCount = Math.ceil(deviceTarget / PAIRS_PER_DEVICE);
  const deviceIds = Array.from({ length: deviceCount }, () => randomUUID()).sort();
  const pairs = MODULES.flatMap((module) => USE_CASES.map((useCase) => [module, useCase] as const));
  const monthStart = Date.parse(`${current}-01T00:00:00Z`);
  let device = 0;
  let deviceSum = 0;
  bulk(db, 'device_counters', ['device_id', 'organization_id', 'label', 'module', 'use_case', 'month', 'counter', 'updated_at'], (insert) => {
    for (let i = 0; i < deviceIds.length; i++) {
      const label = labels[Math.floor(rand() * labels.length)]!;
      const updatedAt = new Date(monthStart + Math.floor(rand() * (now.getTime() - monthStart))).toISOString();
      // PAIRS_PER_DEVICE distinct pairs, in key order.
      const chosen = new Set<number>();
      while (chosen.size < PAIRS_PER_DEVICE) chosen.add(Math.floor(rand() * pairs.length));
      for (const p of [...chosen].sort((a, b) => a - b)) {
        if (device === deviceTarget) break;
        const counter = 1 + Math.floor(rand() * 100);
        const [module, useCase] = pairs[p]!;
        insert(deviceIds[i]!, organizationOf.get(label)!, label, module, useCase, current, counter, updatedAt);
        device += 1;
        deviceSum += counter;
      }
      if (i % 20_000 === 0) progress('per-device rows', device, deviceTarget);
    }
  });

  // The 11 closed months before this one, archived (a month's rows appear at its rollover).
  const closed = Array.from({ length: 11 }, (_, i) => addMonths(current, i - 11));
  let monthly = 0;
  let monthlySum = 0;
  bulk(db, 'label_monthly_counters', ['organization_id', 'label', 'module', 'use_case', 'month', 'counter'], (insert) => {
    for (const month of closed) {
      for (const [label, module, useCase] of keys) {
        const counter = 1 + Math.floor(rand() * 6000);
        insert(organizationOf.get(label)!, label, module, useCase, month, counter);
        monthly += 1;
        monthlySum += counter;
      }
    }
  });
  const rollover = db.prepare(
    'insert into counter_rollovers (month, started_at, completed_at, daily_rows_archived, device_rows_reset, device_rows_deleted) values (?, ?, ?, ?, 0, 0)',
  );
  for (const month of closed) {
    const at = `${addMonths(month, 1)}-01T00:01:00.000Z`;
    rollover.run(month, at, at, labels.length * MODULES.length * USE_CASES.length * daysIn(month));
  }
  if (process.stderr.isTTY) process.stderr.write('\rbuilding indexes…            ');
  const meta: Omit<ReportsMeta, 'indexSeconds' | 'seconds'> = {
    generator: GENERATOR_VERSION,
    generatedAt: nowIso,
    month: current,
    days: today,
    organizations: orgs.length,
    labels: labels.length,
    devices: deviceCount,
    dailyRows: daily,
    dailySum,
    deviceRows: device,
    deviceSum,
    monthlyRows: monthly,
    monthlySum,
    closedMonths: closed,
  };
  const indexSeconds = finish(handle, path, tmp);
  const done = { ...meta, indexSeconds, seconds: (performance.now() - started) / 1000 };
  writeFileSync(`${path}.json`, JSON.stringify(done, null, 2));
  if (process.stderr.isTTY) process.stderr.write('\r');
  return done;
}

/**
 * A month that has ended with `rows` daily label rows, not rolled over yet: labels × 5 modules ×
 * 5 use cases × every day of the previous month, as many labels as that takes (in 100
 * organizations at 10 million rows).
 */
export async function generateRolloverDb(path: string, rows: number, now: Date): Promise<RolloverMeta> {
  const started = performance.now();
  const tmp = `${path}.tmp`;
  const handle = await create(tmp, ['label_daily_counters', ...DERIVED_TABLES]);
  const { db } = handle;
  const nowIso = now.toISOString();
  const month = addMonths(monthOf(now), -1);
  const days = daysIn(month);
  // Enough (label, module, use case) keys for `rows` rows over the month's days; the last day
  // has rows for the first keys only, so the count is exact.
  const keysPerDay = Math.ceil(rows / days);
  const perLabel = MODULES.length * USE_CASES.length;
  const labelCount = Math.ceil(keysPerDay / perLabel);
  const orgCount = Math.max(1, Math.min(ORGANIZATIONS, Math.round((ORGANIZATIONS * rows) / 10_000_000)));
  const orgs = organizations(orgCount, Math.ceil(labelCount / orgCount), nowIso);
  insertOrganizations(db, orgs, nowIso);
  const labels = orgs.flatMap((o) => o.labels.map((l) => l.name)).sort();
  const organizationOf = new Map(orgs.flatMap((o) => o.labels.map((l) => [l.name, o.id] as const)));
  const keys = labels.flatMap((label) => MODULES.flatMap((module) => USE_CASES.map((useCase) => [label, module, useCase] as const))).slice(0, keysPerDay);
  const rand = random(7);
  let daily = 0;
  let dailySum = 0;
  // In the order DS writes them: a day's rows appear that day.
  bulk(db, 'label_daily_counters', ['organization_id', 'label', 'module', 'use_case', 'day', 'counter'], (insert) => {
    for (let d = 1; d <= days; d++) {
      for (const [label, module, useCase] of keys) {
        if (daily === rows) break;
        const counter = 1 + Math.floor(rand() * 200);
        insert(organizationOf.get(label)!, label, module, useCase, dayName(month, d), counter);
        daily += 1;
        dailySum += counter;
      }
      progress('daily label rows', daily, rows);
    }
  });
  if (process.stderr.isTTY) process.stderr.write('\rbuilding indexes…            ');
  const meta: Omit<RolloverMeta, 'indexSeconds' | 'seconds'> = { generator: GENERATOR_VERSION, generatedAt: nowIso, month, days, organizations: orgs.length, labels: labelCount, dailyRows: daily, dailySum };
  const indexSeconds = finish(handle, path, tmp);
  const done = { ...meta, indexSeconds, seconds: (performance.now() - started) / 1000 };
  writeFileSync(`${path}.json`, JSON.stringify(done, null, 2));
  if (process.stderr.isTTY) process.stderr.write('\r');
  return done;
}

/** A fingerprint of the schema DS creates (its migrations as built): part of the cache key. */
async function schemaFingerprint(dir: string): Promise<string> {
  const path = join(dir, `schema-${process.pid}.db`);
  const remove = () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  };
  remove();
  try {
    await initDs(loadConfig({}, { databaseUrl: path, logLevel: 'warn' }), { adminPassword: ADMIN_PASSWORD });
    const db = new SQLite(path, { readonly: true });
    const schema = db.prepare('select type, name, tbl_name, sql from sqlite_master order by type, name').all();
    db.close();
    return createHash('sha256').update(JSON.stringify(schema)).digest('hex').slice(0, 8);
  } finally {
    remove();
  }
}

/**
 * The cached database `<kind>-g<version>-s<schema>-r<rows>-<key>.db` in `dir`, generated when
 * missing (or when `regenerate`); other files of the same kind are removed (each is a gigabyte or more).
 */
export async function cachedDb<M>(
  dir: string,
  kind: string,
  rows: number,
  key: string,
  regenerate: boolean | undefined,
  generate: (path: string) => Promise<M>,
): Promise<{ path: string; meta: M; cached: boolean }> {
  mkdirSync(dir, { recursive: true });
  const name = `${kind}-g${GENERATOR_VERSION}-s${await schemaFingerprint(dir)}-r${rows}-${key}.db`;
  const path = join(dir, name);
  for (const f of readdirSync(dir)) {
    if (f.startsWith(`${kind}-`) && !f.startsWith(name)) rmSync(join(dir, f), { force: true });
  }
  if (!regenerate && existsSync(path) && existsSync(`${path}.json`)) {
    return { path, meta: JSON.parse(readFileSync(`${path}.json`, 'utf8')) as M, cached: true };
  }
  rmSync(`${path}.json`, { force: true });
  const meta = await generate(path);
  return { path, meta, cached: false };
}
