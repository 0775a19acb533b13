import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, jsonLines, killServe, parseCsv, requireFromServer, runDs, startServe, type ServeProcess } from './helpers.js';

// Reports and the month boundary end to end, on SQLite and PostgreSQL: `ds simulate` plays
// installations that report usage of the last 45 days (so a closed month has transactions),
// `ds report transactions --csv` of that month must equal what DS acknowledged to the devices,
// and two `ds serve` processes started together on one database roll a month over exactly once.

const PASSWORD = 'reports-e2e-password';
const dialect = process.env.DS_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';
const postgresBase = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const monthOf = (d: Date) => d.toISOString().slice(0, 7);
function previousMonth(): string {
  const now = new Date();
  return monthOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15)));
}

/** Runs SQL on the test database (SQLite file or the PostgreSQL schema). */
interface Sql {
  exec(statement: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

describe('reports and the month rollover', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let databaseUrl: string;
  let schema: string | undefined;
  let sqlDb: Sql;
  const servers: ServeProcess[] = [];
  let url: string;
  const ds = async (args: string[], timeoutMs = 60_000) => {
    const r = await runDs(args, { env, timeoutMs });
    expect(r.code, `ds ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const serve = async () => {
    const server = await startServe([], env);
    servers.push(server);
    return { server, url: server.url };
  };
  const stop = async (server: ServeProcess) => {
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-e2e-reports-'));
    if (dialect === 'postgres') {
      schema = `e2e_reports_${process.pid}_${Date.now().toString(36)}`;
      const pg = requireFromServer('pg');
      const client = new pg.Client({ connectionString: postgresBase });
      await client.connect();
      await client.query(`create schema "${schema}"`);
      await client.query(`set search_path to "${schema}"`);
      sqlDb = {
        exec: async (statement, params = []) => {
          let i = 0;
          return (await client.query(statement.replace(/\?/g, () => `$${++i}`), params)).rows;
        },
        close: async () => {
          await client.query(`drop schema if exists "${schema}" cascade`);
          await client.end();
        },
      };
      const u = new URL(postgresBase);
      u.search = `?options=-c%20search_path%3D${schema}`;
      databaseUrl = u.toString();
    } else {
      databaseUrl = join(dir, 'ds.db');
    }
    env = cleanEnv(dir, {
      XDG_CONFIG_HOME: join(dir, 'config'),
      DS_ADMIN_PASSWORD: PASSWORD,
      DATABASE_URL: databaseUrl,
      DS_INSTALLER_ROOT: dir,
      DS_LOG_LEVEL: 'info',
      // The DS processes of one deployment share a master key (on SQLite it is master.key beside the database).
      ...(dialect === 'postgres' ? { DS_MASTER_KEY: randomBytes(32).toString('base64') } : {}),
    });
    const first = await serve();
    url = first.url;
    if (dialect === 'sqlite') {
      const Sqlite = requireFromServer('better-sqlite3');
      const db = new Sqlite(databaseUrl);
      db.pragma('busy_timeout = 5000');
      sqlDb = {
        exec: async (statement, params = []) => {
          const st = db.prepare(statement);
          return st.reader ? st.all(...params) : (st.run(...params), []);
        },
        close: async () => db.close(),
      };
    }
  });

  afterAll(async () => {
    for (const s of servers) await killServe(s);
    await sqlDb?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let acknowledged: { month: string; label: string; module: string; useCase: string; transactions: number }[];

  it('simulated installations report 45 days of usage', async () => {
    const login = await runDs(['login', '--url', url, '--username', 'admin', '--password-stdin'], { env, stdin: PASSWORD });
    expect(login.code, login.stderr).toBe(0);
    await ds(['org', 'create', 'acme']);
    await ds(['org', 'create', 'globex']);
    await ds(['label', 'create', 'acme-web', '--org', 'acme']);
    await ds(['label', 'create', 'acme-kiosk', '--org', 'acme']);
    await ds(['label', 'create', 'globex-web', '--org', 'globex']);
    const installationKey = JSON.parse(await ds(['version', 'create', '3.8.1', '--json'])).installationApiKey as string;
    const summary = JSON.parse(
      await ds(['simulate', '--installation-key', installationKey, '--devices', '12', '--syncs', '4', '--days', '45', '--seed', '11', '--labels', 'acme-web,acme-kiosk,globex-web', '--verify', '--json'], 120_000),
    );
    expect(summary).toMatchObject({ registrations: 12, failures: 0, unacknowledgedEntries: 0 });
    acknowledged = summary.acknowledged;
    expect(acknowledged.some((a) => a.month === previousMonth())).toBe(true);
    expect(acknowledged.reduce((s, a) => s + a.transactions, 0)).toBe(summary.transactionsSent);
  });

  it('the billing CSV of one organization and a closed month matches what its devices sent, to the transaction', async () => {
    const month = previousMonth();
    const rollover = JSON.parse(await ds(['counters', 'rollover', '--json']));
    expect(Array.isArray(rollover)).toBe(true);
    for (const org of ['acme', 'globex']) {
      const csv = parseCsv(await ds(['report', 'transactions', '--org', org, '--from', month, '--to', month, '--by', 'label,module,use-case', '--csv']));
      const [header, ...rows] = csv;
      // The billing export says its month even when not grouped by month.
      expect(header).toEqual(['month', 'label', 'module', 'useCase', 'transactions']);
      expect(new Set(rows.map((r) => r[0]))).toEqual(new Set([month]));
      const got = new Map(rows.map((r) => [`${r[1]}|${r[2]}|${r[3]}`, Number(r[4])]));
      const expected = new Map<string, number>();
      for (const a of acknowledged.filter((a) => a.month === month && a.label.startsWith(`${org}-`))) {
        const k = `${a.label}|${a.module}|${a.useCase}`;
        expected.set(k, (expected.get(k) ?? 0) + a.transactions);
      }
      expect(got).toEqual(expected);
      expect(expected.size).toBeGreaterThan(0);
    }
  });

  it('every report reads as plain lines (piped), JSON and CSV', async () => {
    const total = acknowledged.filter((a) => a.month >= previousMonth()).reduce((s, a) => s + a.transactions, 0);
    // Piped: a header line, then tab-separated rows with plain counts; no borders, bars or TOTAL.
    const [head, ...lines] = (await ds(['report', 'transactions', '--from', previousMonth(), '--by', 'month,org'])).trimEnd().split('\n');
    expect(head).toBe('Month\tOrganization\tTransactions');
    expect(lines.join('\n')).not.toMatch(/TOTAL|│|█/);
    expect(lines.reduce((s, line) => s + Number(line.split('\t')[2]), 0)).toBe(total);
    const rows = JSON.parse(await ds(['report', 'transactions', '--from', previousMonth(), '--by', 'month,org', '--json']));
    expect(rows.reduce((s: number, r: { transactions: number }) => s + r.transactions, 0)).toBe(total);
    const devices = JSON.parse(await ds(['report', 'devices', '--by', 'os', '--json']));
    expect(devices.reduce((s: number, r: { devices: number }) => s + r.devices, 0)).toBe(12);
    const byLabel = parseCsv(await ds(['report', 'devices', '--by', 'label', '--csv']));
    expect(byLabel[0]![0]).toBe('key');
    // No downloads: the table prints nothing (it says so on stderr), the JSON is an empty list.
    expect(await ds(['report', 'downloads'])).toBe('');
    expect(JSON.parse(await ds(['report', 'downloads', '--json']))).toEqual([]);
  });

  it('two DS processes started together on one database roll a month over exactly once', async () => {
    await stop(servers[0]!);
    // Daily rows of a closed month that no rollover has moved yet, as after a DS outage over
    // the month boundary.
    const month = previousMonth();
    let total = 0;
    for (let i = 0; i < 300; i++) {
      const day = `${month}-${String((i % 28) + 1).padStart(2, '0')}`;
      total += i + 1;
      await sqlDb.exec('insert into label_daily_counters (label, module, use_case, day, counter) values (?, ?, ?, ?, ?)', [`race-${i % 30}`, 'm', `u${Math.floor(i / 30)}`, day, i + 1]);
      // As a sync writes them: the per-label total beside the detail row.
      await sqlDb.exec(
        'insert into label_daily_totals (label, day, counter) values (?, ?, ?) on conflict (organization_id, label, day) do update set counter = label_daily_totals.counter + excluded.counter',
        [`race-${i % 30}`, day, i + 1],
      );
    }
    // No DS ran over the boundary: the month has no rollover record yet.
    await sqlDb.exec('delete from counter_rollovers where month = ?', [month]);
    const sumArchived = async (table = 'label_monthly_counters') => Number((await sqlDb.exec(`select coalesce(sum(counter), 0) as n from ${table} where label like 'race-%'`))[0]!.n);
    expect(await sumArchived()).toBe(0);

    const [a, b] = await Promise.all([serve(), serve()]);
    // Each scheduler ticks once at start. The month is rolled over when one of them says so (its
    // last batch is done then; stopping a process mid-rollover is a logged failure, by design).
    // The other one then finds nothing to do; SIGTERM lets a tick that is still running finish.
    const rolledOver = (l: Record<string, unknown>) => l.msg === 'counters rolled over';
    await Promise.any([a.server.waitForLog(rolledOver), b.server.waitForLog(rolledOver)]);
    await stop(a.server);
    await stop(b.server);
    const leftOver = async () =>
      Number((await sqlDb.exec('select count(*) as n from label_daily_counters where day < ?', [`${monthOf(new Date())}-01`]))[0]!.n) +
      Number((await sqlDb.exec('select count(*) as n from label_daily_totals where day < ?', [`${monthOf(new Date())}-01`]))[0]!.n);
    expect(await leftOver()).toBe(0);
    expect(await sumArchived()).toBe(total);
    expect(await sumArchived('label_monthly_totals')).toBe(total);
    const rolled = [a.server, b.server].flatMap((s) => jsonLines(s.stderr()).filter((l) => l.msg === 'counters rolled over'));
    expect(rolled).toHaveLength(1);
    expect(rolled[0]).toMatchObject({ month, dailyRowsArchived: 300 });
    const failures = [a.server, b.server].flatMap((s) => jsonLines(s.stderr()).filter((l) => l.level === 'error'));
    expect(failures).toEqual([]);
  });
});
