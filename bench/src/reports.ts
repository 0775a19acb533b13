#!/usr/bin/env node
// bench:reports — the transactions reports and the month rollover on a large SQLite installation
// (issue 5, "Speed"). On a generated database of 10 million per-label daily and per-device counter
// rows, times over HTTP against a running DS the current-month report of one organization by day
// and label and the twelve-month reports by month, next to a plain indexed SELECT count(*) over
// the same rows; on another, a month of 10 million daily rows, times the rollover through the admin
// API while a probe process writes like a sync every 20 ms and records how long it was kept waiting.
// The generated databases are cached (see bench/src/reports-data.ts); --regenerate makes new ones.
// Usage: node bench/dist/reports.js [--rows 10000000] [--rollover-rows N] [--runs 20] [--only reports|rollover]
//        [--plans] [--regenerate] [--cache-dir DIR] [--rollover-timeout 180]
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import { CamelCasePlugin, Kysely, SqliteDialect } from 'kysely';
import { transactionsReport } from '@ds/server';
import { SCOPES, TransactionReportQuerySchema, type TransactionReportRow } from '@ds/shared';
import { ADMIN_PASSWORD, api, fmt, percentile, script, startDs, type RunningDs } from './lib.js';
import type { ProbeSample } from './reports-probe.js';
import { addMonths, cachedDb, generateReportsDb, generateRolloverDb, monthOf } from './reports-data.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    'rollover-rows': { type: 'string' },
    runs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    only: { type: 'string' },
    plans: { type: 'boolean', default: false },
    regenerate: { type: 'boolean', default: false },
    'cache-dir': { type: 'string', default: join(tmpdir(), 'ds-bench-reports') },
    'rollover-timeout': { type: 'string', default: '180' },
  },
});
const ROWS = Number(args.rows);
const ROLLOVER_ROWS = Number(args['rollover-rows'] ?? args.rows);
const RUNS = Number(args.runs);
const WARMUP = Number(args.warmup);
const REPORT_LIMIT_MS = 200;
const ROLLOVER_LIMIT_S = 60;
const BLOCK_LIMIT_MS = 1000;
/** DS waits this long for SQLite's write lock (busy_timeout) before a sync fails. */
const DS_BUSY_TIMEOUT_MS = 5000;
const PROBE_INTERVAL_MS = 20;
const ROLLOVER_JOB = 'counters.rollover';
const HOLDER = 'bench:reports (holds off the scheduler until the bench starts the rollover)';

const work = mkdtempSync(join(tmpdir(), 'ds-bench-reports-'));
const now = new Date();
const current = monthOf(now);
const today = now.toISOString().slice(0, 10);
const median = (xs: readonly number[]) => percentile([...xs].sort((a, b) => a - b), 50);
interface Stats {
  n: number;
  median: number;
  p95: number;
  p99: number;
  max: number;
}
const stats = (xs: readonly number[]): Stats => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, median: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s.at(-1) ?? NaN };
};
const ok = (ratio: number) => (ratio < 1 ? 'ok' : 'OVER');
const say = (text: string) => process.stderr.write(text);

function describeGeneration(kind: string, { meta, cached }: { meta: { generatedAt: string; seconds: number }; cached: boolean }) {
  return `${kind}: ${cached ? `cached, generated ${meta.generatedAt.slice(0, 16).replace('T', ' ')} UTC in` : 'generated in'} ${fmt(meta.seconds, 1)} s`;
}

/** Times `sql` (warm: once before, then the median of `runs`). */
function timeQuery(db: SQLite.Database, sql: string, runs = 5) {
  const statement = db.prepare<[], { n: number }>(sql);
  let result = statement.get();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    result = statement.get();
    times.push(performance.now() - started);
  }
  return { ms: median(times), n: Number(result?.n ?? 0) };
}

const plan = (db: SQLite.Database, sql: string, parameters: readonly unknown[]): string[] =>
  db
    .prepare<unknown[], { detail: string }>(`explain query plan ${sql}`)
    .all(...parameters)
    .map((r) => r.detail);

/** The report as the bench calls it: outside an app, on its own read-only connection. */
type ReportServices = Parameters<typeof transactionsReport>[0];
type ReportPrincipal = Parameters<typeof transactionsReport>[1];
/** DS's table types, as its Kysely instance has them. */
type Tables = ReportServices['db'] extends Kysely<infer T> ? T : never;
/** A report's query string (`organization`, `from`, `to`, `by`). */
type ReportQuery = Record<string, string>;

interface CapturedQuery {
  sql: string;
  parameters: readonly unknown[];
  ms: number;
}

interface QueryBreakdown extends CapturedQuery {
  rows: number;
  plan: string[];
}

/**
 * The SQL statements the report service runs for `query`, each with its in-process time (median
 * of 5, same code as DS, read-only connection), rows answered and EXPLAIN QUERY PLAN.
 */
async function breakdown(path: string, query: ReportQuery): Promise<QueryBreakdown[]> {
  const sqlite = new SQLite(path, { readonly: true });
  const captured: CapturedQuery[] = [];
  const db = new Kysely<Tables>({
    dialect: new SqliteDialect({ database: sqlite }),
    plugins: [new CamelCasePlugin()],
    log: (event) => {
      captured.push({ sql: event.query.sql, parameters: event.query.parameters, ms: event.queryDurationMillis });
    },
  });
  // The report reads only the database and the clock of an app's services.
  const services = { db, clock: { now: () => new Date() } } as ReportServices;
  // An administrator of every organization, as DS's first admin.
  const principal: ReportPrincipal = {
    userId: 'bench',
    username: 'admin',
    role: 'admin',
    organizationId: null,
    organizationName: null,
    credential: 'session',
    tokenId: 'bench',
    tokenName: null,
    scopes: new Set(SCOPES),
    expiresAt: null,
  };
  const parsed = TransactionReportQuerySchema.parse(query);
  const runs: CapturedQuery[][] = [];
  for (let i = 0; i < 6; i++) {
    captured.length = 0;
    await transactionsReport(services, principal, parsed);
    if (i > 0) runs.push([...captured]);
  }
  const queries = runs[0]!.map((q, i) => {
    const rows = sqlite.prepare<unknown[]>(q.sql).all(...q.parameters).length;
    return { sql: q.sql, parameters: q.parameters, ms: median(runs.map((r) => r[i]!.ms)), rows, plan: plan(sqlite, q.sql, q.parameters) };
  });
  await db.destroy();
  return queries;
}

async function reportsBench() {
  const generated = await cachedDb(args['cache-dir'], 'reports', ROWS, today, args.regenerate, (p) => {
    say(`generating ${fmt(ROWS)} counter rows for the reports (once per day; cached in ${args['cache-dir']})…\n`);
    return generateReportsDb(p, ROWS, now);
  });
  const { path, meta } = generated;
  const ro = new SQLite(path, { readonly: true });
  // The reference: a plain count(*) over the same rows, which SQLite answers from its smallest index.
  const countDaily = timeQuery(ro, 'select count(*) as n from label_daily_counters');
  const countDevice = timeQuery(ro, 'select count(*) as n from device_counters');
  const countPlans = [...plan(ro, 'select count(*) from label_daily_counters', []), ...plan(ro, 'select count(*) from device_counters', [])];
  const orgs = ro.prepare<[], { id: string; name: string }>('select id, name from organizations order by name').all();
  const org = orgs[Math.floor(orgs.length / 2)]!;
  const from = addMonths(current, -11);
  const labelRange = [`${org.name}-`, `${org.name}.`];
  const sum = (sql: string, ...p: string[]) => Number(ro.prepare<string[], { n: number | null }>(sql).get(...p)?.n ?? 0);
  const orgDaily = sum('select sum(counter) as n from label_daily_counters where label >= ? and label < ? and day >= ?', ...labelRange, `${current}-01`);
  const orgMonthly = sum('select sum(counter) as n from label_monthly_counters where label >= ? and label < ? and month >= ?', ...labelRange, from);
  const allDaily = sum('select sum(counter) as n from label_daily_counters where day >= ?', `${current}-01`);
  const allMonthly = sum('select sum(counter) as n from label_monthly_counters where month >= ?', from);
  const orgLabels = sum('select count(*) as n from labels where organization_id = ?', org.id);

  const reports: { name: string; query: ReportQuery; expect: { total: number; rows: number } }[] = [
    {
      name: `this month, ${org.name}, by day,label`,
      query: { organization: org.name, by: 'day,label' },
      expect: { total: orgDaily, rows: orgLabels * meta.days },
    },
    {
      name: `${from}..${current}, all orgs, by month`,
      query: { from, to: current, by: 'month' },
      expect: { total: allMonthly + allDaily, rows: 12 },
    },
    {
      name: `${from}..${current}, ${org.name}, by month`,
      query: { organization: org.name, from, to: current, by: 'month' },
      expect: { total: orgMonthly + orgDaily, rows: 12 },
    },
  ];

  const timed: ((typeof reports)[number] & { path: string; stats: Stats; rows: number; total: number; checked: boolean })[] = [];
  say(`starting DS on ${path}…\n`);
  const ds = await startDs({ databaseUrl: path, env: { DS_LOG_LEVEL: 'warn' }, logFile: join(work, 'reports-ds.log') });
  try {
    const { token } = await api<{ token: string }>(ds.url, 'POST', '/admin/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
    for (const r of reports) {
      const path_ = `/admin/reports/transactions?${new URLSearchParams(r.query)}`;
      say(`GET ${path_} (${WARMUP} warm-up, ${RUNS} timed)… `);
      let rows: TransactionReportRow[] = [];
      for (let i = 0; i < WARMUP; i++) rows = await api<TransactionReportRow[]>(ds.url, 'GET', path_, { token });
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const started = performance.now();
        rows = await api<TransactionReportRow[]>(ds.url, 'GET', path_, { token });
        times.push(performance.now() - started);
      }
      const total = rows.reduce((s, row) => s + row.transactions, 0);
      timed.push({ ...r, path: path_, stats: stats(times), rows: rows.length, total, checked: total === r.expect.total && rows.length === r.expect.rows });
      say(`median ${fmt(timed.at(-1)!.stats.median, 1)} ms\n`);
    }
  } finally {
    await ds.stop();
  }
  const measured = [];
  for (const r of timed) measured.push({ ...r, queries: await breakdown(path, r.query) });
  ro.close();
  return { generated, meta, countDaily, countDevice, countPlans, reports: measured };
}

/** Prints rows under headers: the first column left-aligned, the last as is, the others right-aligned. */
function table(headers: string[], rows: (string | number)[][]) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells: (string | number)[]) =>
    cells
      .map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : i === cells.length - 1 ? String(c) : String(c).padStart(widths[i]!)))
      .join('   ')
      .trimEnd();
  console.log(line(headers));
  for (const r of rows) console.log(line(r));
}

function printReports({ generated, meta, countDaily, countDevice, countPlans, reports }: Awaited<ReturnType<typeof reportsBench>>) {
  const counted = countDaily.n + countDevice.n;
  const countMs = countDaily.ms + countDevice.ms;
  console.log(`\nbench:reports — transactions reports, SQLite, Node ${process.version}; ${describeGeneration('database', generated)}`);
  console.log(
    `  ${fmt(counted)} counter rows: ${fmt(meta.dailyRows)} daily label rows (${fmt(meta.labels)} labels in ${fmt(meta.organizations)} organizations × 5 modules × 5 use cases × ${
      meta.days
    } days of ${meta.month}) + ${fmt(meta.deviceRows)} per-device rows (${fmt(meta.devices)} devices × 8); plus ${fmt(meta.monthlyRows)} archived month rows (${
      meta.closedMonths[0]
    }..${meta.closedMonths.at(-1)})`,
  );
  console.log(
    `  reference: select count(*) over label_daily_counters + device_counters: ${fmt(countMs, 1)} ms (${fmt(countDaily.ms, 1)} + ${fmt(countDevice.ms, 1)}; ${countPlans.join('; ')})`,
  );
  table(
    [`GET /v3_5/admin/reports/transactions (${RUNS} runs)`, 'rows', 'median ms', 'p95 ms', 'limit ms', 'ratio', '', 'median/count(*)', 'totals'],
    reports.map((r) => {
      const ratio = r.stats.median / REPORT_LIMIT_MS;
      return [
        r.name,
        fmt(r.rows),
        fmt(r.stats.median, 1),
        fmt(r.stats.p95, 1),
        REPORT_LIMIT_MS,
        fmt(ratio, 2),
        ok(ratio),
        `${fmt(r.stats.median / countMs, 2)}×`,
        r.checked ? 'OK' : `MISMATCH (${fmt(r.total)} in ${r.rows} rows, expected ${fmt(r.expect.total)} in ${r.expect.rows})`,
      ];
    }),
  );
  console.log('  (ratio = median / limit: below 1 is within the target)');
  for (const r of reports) {
    const slow = r.stats.median >= REPORT_LIMIT_MS;
    console.log(`  ${r.name}: ${r.queries.map((q) => `${fmt(q.ms, 1)} ms`).join(' + ')} in SQL (in-process, the same service code)`);
    for (const q of r.queries) {
      if (!(args.plans || slow) || (q.ms < 1 && !args.plans)) continue;
      console.log(`    ${fmt(q.ms, 1)} ms, ${fmt(q.rows)} rows: ${q.sql}`);
      console.log(`      parameters: ${JSON.stringify(q.parameters)}`);
      for (const line of q.plan) console.log(`      plan: ${line}`);
    }
  }
}

/** POSTs without a client timeout (a slow rollover must be timed, not cut off). */
function post(url: string, path: string, token: string, body: unknown) {
  return new Promise<{ status: number | undefined; json: { code?: string; requestId?: string } }>((resolve, reject) => {
    const req = request(`${url}/v3_5${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Holds the rollover lease in the bench's name: DS's scheduler, which rolls a pending month over
 * as soon as DS starts, then waits (it retries each minute), so the rollover timed is the one asked for. */
function holdScheduler(path: string) {
  const db = new SQLite(path);
  db.pragma('busy_timeout = 5000');
  db.prepare('insert or replace into job_locks (name, holder, acquired_at, expires_at) values (?, ?, ?, ?)').run(
    ROLLOVER_JOB,
    HOLDER,
    new Date().toISOString(),
    new Date(Date.now() + 3600_000).toISOString(),
  );
  db.close();
}

function releaseScheduler(path: string) {
  const db = new SQLite(path);
  db.pragma('busy_timeout = 5000');
  db.prepare('delete from job_locks where name = ? and holder = ?').run(ROLLOVER_JOB, HOLDER);
  db.close();
}

async function stopDs(ds: RunningDs) {
  const stopped = ds.stop();
  const killed = setTimeout(() => process.kill(ds.pid, 'SIGKILL'), 20_000);
  await stopped;
  clearTimeout(killed);
}

/**
 * One `POST /admin/counters/rollover {}` against a DS started on `path`, with the sync-like probe
 * writing alongside when `withProbe`. Stops at `--rollover-timeout` (DS is stopped mid-rollover;
 * the next run finishes the month).
 */
async function rolloverAttempt(path: string, month: string, withProbe: boolean, logFile: string) {
  holdScheduler(path);
  say(`starting DS on ${path}…\n`);
  const ds = await startDs({ databaseUrl: path, env: { DS_LOG_LEVEL: 'info' }, logFile });
  let probe: ChildProcessByStdio<Writable, Readable, Readable> | undefined;
  try {
    const { token } = await api<{ token: string }>(ds.url, 'POST', '/admin/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
    let probeDone: Promise<ProbeSample[]> | undefined;
    if (withProbe) {
      const child = spawn(process.execPath, [script('reports-probe'), path, today, String(PROBE_INTERVAL_MS)], { stdio: ['pipe', 'pipe', 'pipe'] });
      probe = child;
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      probeDone = new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as ProbeSample[]) : reject(new Error(`probe exited ${code}`)))));
      await new Promise((resolve) => child.stderr.once('data', resolve));
      child.stderr.pipe(process.stderr);
      // A second of the probe alone: what such a write costs with nothing else going on.
      await new Promise((r) => setTimeout(r, 1000));
    }
    const watch = new SQLite(path, { readonly: true });
    const archived = () => Number(watch.prepare<[string], { n: number }>('select daily_rows_archived as n from counter_rollovers where month = ?').get(month)?.n ?? 0);
    const archivedBefore = archived();
    releaseScheduler(path);
    say(`POST /v3_5/admin/counters/rollover {} (${withProbe ? `a sync-like write every ${PROBE_INTERVAL_MS} ms alongside` : 'nothing else writing'})…\n`);
    const started = performance.now();
    const startedEpoch = Date.now();
    const elapsed = () => (performance.now() - started) / 1000;
    const progress = setInterval(() => {
      const n = archived() - archivedBefore;
      say(`  ${fmt(elapsed())} s: ${fmt(n)} daily rows archived (${fmt(n / elapsed())} rows/s)\n`);
    }, 10_000);
    let response: Awaited<ReturnType<typeof post>> | null;
    try {
      response = await Promise.race([post(ds.url, '/admin/counters/rollover', token, {}), new Promise<null>((r) => setTimeout(() => r(null), Number(args['rollover-timeout']) * 1000))]);
    } finally {
      clearInterval(progress);
    }
    const seconds = elapsed();
    const endedEpoch = Date.now();
    const rows = archived() - archivedBefore;
    watch.close();
    let samples: ProbeSample[] = [];
    if (probe && probeDone) {
      await new Promise((r) => setTimeout(r, 200));
      probe.stdin.end();
      samples = await probeDone;
    }
    const during = samples.filter(([at]) => at >= startedEpoch && at <= endedEpoch);
    let error: string | undefined;
    if (response && response.status !== 200) {
      // Why, from DS's log: the first line of the error it logged for this request.
      const requestId = response.json.requestId ?? '\u0000';
      const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes(requestId));
      const logged = lines.map((l) => JSON.parse(l) as { error?: string }).find((l) => l.error);
      error = `HTTP ${response.status} ${response.json.code}${logged?.error ? `: ${logged.error.split('\n')[0]}` : ''}`;
    }
    return {
      withProbe,
      finished: response?.status === 200,
      response,
      error,
      seconds,
      rows,
      during: stats(during.map((s) => s[1])),
      idle: stats(samples.filter(([at]) => at < startedEpoch).map((s) => s[1])),
      over1s: during.filter((s) => s[1] > BLOCK_LIMIT_MS).length,
      overBusy: during.filter((s) => s[1] > DS_BUSY_TIMEOUT_MS).length,
      probeErrors: [...new Set(during.filter((s) => s[2] !== undefined).map((s) => s[2]))],
    };
  } finally {
    if (probe && probe.exitCode === null) probe.kill('SIGTERM');
    await stopDs(ds);
  }
}

async function rolloverBench() {
  const generated = await cachedDb(args['cache-dir'], 'rollover', ROLLOVER_ROWS, current, args.regenerate, (p) => {
    say(`generating ${fmt(ROLLOVER_ROWS)} daily rows of ${addMonths(current, -1)} (once per month; cached in ${args['cache-dir']})…\n`);
    return generateRolloverDb(p, ROLLOVER_ROWS, now);
  });
  const { meta } = generated;
  const month = meta.month;
  const path = join(work, 'rollover.db');
  say('copying the database (the rollover changes it)… ');
  copyFileSync(generated.path, path);
  // The DS private keys in it are encrypted under the master key DS made beside it (keys at rest):
  // a copy of the database needs the key too.
  copyFileSync(join(dirname(generated.path), 'master.key'), join(work, 'master.key'));
  say('done\n');
  // As in production: syncs write while the rollover runs. When that attempt fails, a second one
  // on the same database with nothing else writing gives the time the rollover itself takes (and
  // shows that a failed rollover is finished by the next run).
  const attempts = [await rolloverAttempt(path, month, true, join(work, 'rollover-ds-1.log'))];
  if (!attempts[0]!.finished) attempts.push(await rolloverAttempt(path, month, false, join(work, 'rollover-ds-2.log')));

  const ro = new SQLite(path, { readonly: true });
  const until = `${addMonths(month, 1)}-01`;
  const n = (sql: string, ...p: string[]) => Number(ro.prepare<string[], { n: number | null }>(sql).get(...p)?.n ?? 0);
  const monthlySum = n('select sum(counter) as n from label_monthly_counters where month = ?', month);
  const leftRows = n('select count(*) as n from label_daily_counters where day >= ? and day < ?', `${month}-01`, until);
  const leftSum = n('select sum(counter) as n from label_daily_counters where day >= ? and day < ?', `${month}-01`, until);
  const record = ro.prepare('select * from counter_rollovers where month = ?').get(month);
  // The per-label totals, where the schema has them, must have moved the same way.
  const tables = new Set(ro.prepare<[], string>("select name from sqlite_master where type = 'table'").pluck().all());
  const totals =
    tables.has('label_monthly_totals') && tables.has('label_daily_totals')
      ? {
          monthlySum: n('select sum(counter) as n from label_monthly_totals where month = ?', month),
          leftSum: n('select sum(counter) as n from label_daily_totals where day >= ? and day < ?', `${month}-01`, until),
        }
      : null;
  ro.close();
  return { generated, meta, month, attempts, monthlySum, leftRows, leftSum, record, totals };
}

function printRollover(r: Awaited<ReturnType<typeof rolloverBench>>) {
  console.log(`\nbench:reports — month rollover, SQLite, Node ${process.version}; ${describeGeneration('database', r.generated)}`);
  console.log(
    `  ${fmt(r.meta.dailyRows)} daily label rows of ${r.month} (${fmt(r.meta.labels)} labels in ${fmt(r.meta.organizations)} organizations × 5 modules × 5 use cases × ${r.meta.days} days), POST /v3_5/admin/counters/rollover {}`,
  );
  table(
    ['rollover', 'time s', 'limit s', 'ratio', '', 'rows archived', 'longest wait ms', 'limit ms', 'ratio', '', 'sync-like writes (one every 20 ms)'],
    r.attempts.map((a) => {
      const ratio = a.seconds / ROLLOVER_LIMIT_S;
      const blocked = a.during.max / BLOCK_LIMIT_MS;
      return [
        a.withProbe ? 'while syncs write' : 'alone (resumed)',
        fmt(a.seconds, 1),
        ROLLOVER_LIMIT_S,
        a.finished ? fmt(ratio, 2) : a.response ? '-' : `>${fmt(ratio, 2)}`,
        a.finished ? ok(ratio) : a.response ? 'FAILED' : 'UNFINISHED',
        fmt(a.rows),
        a.withProbe ? fmt(a.during.max, 0) : '-',
        BLOCK_LIMIT_MS,
        a.withProbe ? fmt(blocked, 2) : '-',
        a.withProbe ? ok(blocked) : '',
        a.withProbe
          ? `${fmt(a.during.n)} during the rollover: p99 ${fmt(a.during.p99, 0)} ms, ${a.over1s} over 1 s, ${a.overBusy} over DS's ${DS_BUSY_TIMEOUT_MS / 1000} s busy timeout${
              a.probeErrors.length ? `, failed: ${a.probeErrors.join(', ')}` : ''
            }; before it: max ${fmt(a.idle.max, 1)} ms`
          : 'none',
      ];
    }),
  );
  for (const a of r.attempts) {
    const name = a.withProbe ? 'while syncs write' : 'alone';
    if (a.error) console.log(`  ${name}: ${a.error}`);
    if (!a.response) console.log(`  ${name}: no answer after ${args['rollover-timeout']} s (--rollover-timeout), ${fmt(a.rows / a.seconds)} rows/s; DS was stopped mid-rollover`);
  }
  const finished = r.attempts.some((a) => a.finished);
  let sumOk = finished ? r.monthlySum === r.meta.dailySum && r.leftRows === 0 : r.monthlySum + r.leftSum === r.meta.dailySum;
  console.log(
    finished
      ? `check: archived sum of ${r.month} ${fmt(r.monthlySum)} = generated ${fmt(r.meta.dailySum)}, ${fmt(r.leftRows)} daily rows of ${r.month} left: ${sumOk ? 'OK' : 'MISMATCH'}`
      : `check (unfinished): archived ${fmt(r.monthlySum)} + still daily ${fmt(r.leftSum)} (${fmt(r.leftRows)} rows) = generated ${fmt(r.meta.dailySum)}: ${sumOk ? 'OK' : 'MISMATCH'}`,
  );
  if (r.totals) {
    const t = r.totals;
    const totalsOk = finished ? t.monthlySum === r.meta.dailySum && t.leftSum === 0 : t.monthlySum + t.leftSum === r.meta.dailySum;
    console.log(
      `check: per-label totals of ${r.month}: label_monthly_totals ${fmt(t.monthlySum)} + label_daily_totals still ${fmt(t.leftSum)} = generated ${fmt(r.meta.dailySum)}${
        finished ? ', none left daily' : ''
      }: ${totalsOk ? 'OK' : 'MISMATCH'}`,
    );
    sumOk &&= totalsOk;
  }
  return sumOk;
}

let failed = false;
try {
  say(`bench:reports — caches in ${args['cache-dir']} (--regenerate makes new databases)\n`);
  // Printed together at the end: the progress lines go to stderr as it runs.
  const reportsResult = args.only !== 'rollover' ? await reportsBench() : undefined;
  const rolloverResult = args.only !== 'reports' ? await rolloverBench() : undefined;
  if (reportsResult) printReports(reportsResult);
  // Fails only when a figure is wrong (a report's totals, a transaction lost or counted twice);
  // figures over their limits are printed as OVER, as the other benchmarks do.
  if (rolloverResult && !printRollover(rolloverResult)) failed = true;
  if (reportsResult?.reports.some((r) => !r.checked)) failed = true;
} catch (error) {
  console.error(error);
  failed = true;
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
