import { afterEach, describe, expect, it } from 'vitest';
import { fail, ok, parseCsv, removeTempDirs, runDs } from '../../test/harness.js';
import { barText, BAR_WIDTH } from './table.js';

afterEach(removeTempDirs);

/** Parsed CSV as objects; empty fields left out, as DS leaves out a dimension it did not group by. */
function csvObjects(text: string): Record<string, string>[] {
  const [header, ...lines] = parseCsv(text);
  return lines.map((line) => Object.fromEntries(header!.map((key, i) => [key, line[i]!] as const).filter(([, value]) => value !== '')));
}

/** The rows as CSV writes them: every value a string, null and absent the same (empty). */
function asCsv(rows: Record<string, unknown>[]): Record<string, string>[] {
  return rows.map((row) => Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, String(v)])));
}

const BAR = /[█▏▎▍▌▋▊▉]/;

function tableLine(stdout: string, text: string): string {
  const line = stdout.split('\n').find((l) => l.includes(text));
  if (!line) throw new Error(`no line with ${text} in\n${stdout}`);
  return line;
}

describe('bars', () => {
  it.each([
    [100, 100, '█'.repeat(BAR_WIDTH)],
    [50, 100, '█'.repeat(BAR_WIDTH / 2)],
    [1, 1000, '▏'],
    [0, 100, ''],
    [3, 16, '███▊'],
  ])('%i of %i is %j', (value, max, bar) => {
    expect(barText(value, max)).toBe(bar);
  });
});

describe('ds report transactions', () => {
  const byDay = [
    { month: '2026-02', day: null, label: 'acme-web', transactions: 900 },
    { month: '2026-03', day: '2026-03-01', label: 'acme-web', transactions: 40 },
    { month: '2026-03', day: '2026-03-02', label: 'acme-web', transactions: 60 },
  ];
  const routes = { 'GET /admin/reports/transactions': () => ok(byDay) };

  it('sends every filter, --by in API names and as one comma-separated value', async () => {
    const r = await runDs(
      ['report', 'transactions', '--org', 'acme', '--label', 'acme-web', '--module', 'beid', '--use-case', 'sign', '--from', '2026-02', '--to', '2026-03-02', '--by', 'day,label', '--by', 'use-case,org,day'],
      { routes },
    );
    expect(r.code).toBe(0);
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]!.query).toEqual({
      organization: 'acme',
      label: 'acme-web',
      module: 'beid',
      useCase: 'sign',
      from: '2026-02',
      to: '2026-03-02',
      by: 'day,label,useCase,organization',
    });
    expect(r.requests[0]!.authorization).toBe('Bearer ds_adm_test');
  });

  it('without flags leaves the period and grouping to DS (this month, by month)', async () => {
    const r = await runDs(['report', 'transactions'], { routes: { 'GET /admin/reports/transactions': () => ok([{ month: '2026-03', transactions: 1234567 }]) } });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.query).toEqual({});
    expect(tableLine(r.stdout, 'Month')).toMatch(/Month\s+│ Transactions/);
    expect(tableLine(r.stdout, '2026-03')).toMatch(/│ 2026-03 │\s+1,234,567 │/);
    expect(tableLine(r.stdout, 'TOTAL')).toMatch(/│ TOTAL\s+│\s+1,234,567 │/);
  });

  it('on a terminal: readable headers, a bar per row scaled to the largest, and a TOTAL row', async () => {
    const r = await runDs(['report', 'transactions', '--by', 'day,label'], { routes, terminal: true });
    expect(r.code).toBe(0);
    expect(tableLine(r.stdout, 'Day')).toMatch(/│ Day\s+│ Label\s+│ Transactions │/);
    expect(tableLine(r.stdout, '2026-02')).toContain('2026-02 (whole month)');
    expect(tableLine(r.stdout, '2026-02')).toContain('│ ' + '█'.repeat(BAR_WIDTH) + ' │');
    expect(tableLine(r.stdout, '2026-03-01')).toMatch(/│ acme-web │\s+40 │ ▉\s+│$/);
    expect(tableLine(r.stdout, '2026-03-02')).toMatch(/│\s+60 │ █▍\s+│/);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-2)).toMatch(/^│ TOTAL\s+│\s+│\s+1,000 │\s+│$/);
    expect(r.stderr).toBe('');
  });

  it('shows no bar when not grouped by day or month, and none when not on a terminal', async () => {
    const byLabel = await runDs(['report', 'transactions', '--by', 'label,module'], {
      routes: { 'GET /admin/reports/transactions': () => ok([{ label: 'acme-web', module: 'beid', transactions: 5 }]) },
      terminal: true,
    });
    expect(byLabel.stdout).not.toMatch(BAR);
    expect(tableLine(byLabel.stdout, 'Label')).toMatch(/│ Label\s+│ Module │ Transactions │$/);
    const piped = await runDs(['report', 'transactions', '--by', 'day,label'], { routes });
    expect(piped.stdout).not.toMatch(BAR);
    expect(piped.stdout).toContain('TOTAL');
  });

  it('names every dimension in the header, unattributed transactions too', async () => {
    const row = { organization: null, label: 'gone', module: 'emv', useCase: 'verify-pin', device: 'd-1', transactions: 3 };
    const r = await runDs(['report', 'transactions', '--by', 'org,label,module,use-case,device'], { routes: { 'GET /admin/reports/transactions': () => ok([row]) } });
    expect(tableLine(r.stdout, 'Organization')).toMatch(/│ Organization\s+│ Label │ Module │ Use case\s+│ Device │ Transactions │/);
    expect(tableLine(r.stdout, 'gone')).toMatch(/│ \(unattributed\)\s+│ gone\s+│ emv\s+│ verify-pin │ d-1\s+│\s+3 │/);
  });

  it('--json prints the rows exactly, without bars or totals', async () => {
    const r = await runDs(['report', 'transactions', '--by', 'day,label', '--json'], { routes, terminal: true });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(byDay);
    expect(r.stdout).not.toMatch(BAR);
    expect(r.stdout).not.toContain('TOTAL');
  });

  it('--csv prints the rows with their field names, and parses back to them', async () => {
    const r = await runDs(['report', 'transactions', '--by', 'day,label', '--csv'], { routes, terminal: true });
    expect(r.code).toBe(0);
    expect(parseCsv(r.stdout)[0]).toEqual(['month', 'day', 'label', 'transactions']);
    expect(csvObjects(r.stdout)).toEqual(asCsv(byDay));
    expect(r.stdout).not.toMatch(BAR);
    expect(r.stdout).not.toContain('TOTAL');
  });

  it('piped (or with --plain): tab-separated lines, the header first, counts as plain numbers, no borders, bars or TOTAL', async () => {
    const rows = [...byDay, { month: '2026-03', day: '2026-03-03', label: 'tab\there', transactions: 1234567 }];
    const answer = { 'GET /admin/reports/transactions': () => ok(rows) };
    const expected = [
      'Day\tLabel\tTransactions',
      '2026-02 (whole month)\tacme-web\t900',
      '2026-03-01\tacme-web\t40',
      '2026-03-02\tacme-web\t60',
      '2026-03-03\ttab\\there\t1234567',
      '',
    ].join('\n');
    const piped = await runDs(['report', 'transactions', '--by', 'day,label'], { routes: answer, stdoutTerminal: false, terminal: false });
    expect(piped.code).toBe(0);
    expect(piped.stdout).toBe(expected);
    expect(piped.stdout).not.toMatch(/[│─┌┐└┘├┤┬┴┼█▏▎▍▌▋▊▉]/);
    const plain = await runDs(['report', 'transactions', '--by', 'day,label', '--plain'], { routes: answer, terminal: true });
    expect(plain.stdout).toBe(expected);
    expect((await runDs(['report', 'transactions', '--plain', '--csv'], { routes: answer })).code).toBe(1); // one format at a time
  });

  it('--csv is the billing export: grouped by month too when --by leaves it out, so every row says its month', async () => {
    const perMonth = [
      { month: '2026-01', label: 'acme-web', module: 'beid', useCase: 'sign', transactions: 5 },
      { month: '2026-02', label: 'acme-web', module: 'beid', useCase: 'sign', transactions: 7 },
    ];
    const answer = { 'GET /admin/reports/transactions': () => ok(perMonth) };
    const csv = await runDs(['report', 'transactions', '--from', '2026-01', '--to', '2026-02', '--by', 'label,module,use-case', '--csv'], { routes: answer });
    expect(csv.code).toBe(0);
    expect(csv.requests[0]!.query.by).toBe('month,label,module,useCase');
    expect(parseCsv(csv.stdout)).toEqual([
      ['month', 'label', 'module', 'useCase', 'transactions'],
      ['2026-01', 'acme-web', 'beid', 'sign', '5'],
      ['2026-02', 'acme-web', 'beid', 'sign', '7'],
    ]);
    // Without --by (DS groups by month), by day, or already by month: the query is left as asked.
    expect((await runDs(['report', 'transactions', '--csv'], { routes: answer })).requests[0]!.query.by).toBe('month');
    expect((await runDs(['report', 'transactions', '--by', 'day,org', '--csv'], { routes: answer })).requests[0]!.query.by).toBe('day,organization');
    expect((await runDs(['report', 'transactions', '--by', 'label,month', '--csv'], { routes: answer })).requests[0]!.query.by).toBe('label,month');
    // The table and --json show what was asked.
    expect((await runDs(['report', 'transactions', '--by', 'label', '--json'], { routes: answer })).requests[0]!.query.by).toBe('label');
  });

  it('with no rows: a note in the table, [] in JSON, the header alone in CSV', async () => {
    const empty = { 'GET /admin/reports/transactions': () => ok([]) };
    const table = await runDs(['report', 'transactions', '--by', 'label,day'], { routes: empty });
    expect(table.stdout).toBe('');
    expect(table.stderr).toBe('no transactions in this period\n');
    expect(JSON.parse((await runDs(['report', 'transactions', '--json'], { routes: empty })).stdout)).toEqual([]);
    expect((await runDs(['report', 'transactions', '--by', 'label,day', '--csv'], { routes: empty })).stdout).toBe('label,month,day,transactions\r\n');
  });

  it.each([
    [['--by', 'week'], /option '--by <list>' argument 'week' is invalid\. unknown value "week": expected one or more of day, month, org, label, module, use-case, device/],
    [['--by', ','], /option '--by <list>' argument ',' is invalid/],
    [['--from', '2026-13'], /option '--from <period>' argument '2026-13' is invalid\. expected a day YYYY-MM-DD or a month YYYY-MM/],
    [['--to', '2026-02-30'], /option '--to <period>' argument '2026-02-30' is invalid/],
    [['--org', 'not a name'], /option '--org, --organization <name>' argument 'not a name' is invalid\. may contain only/],
  ])('rejects %j before asking DS', async (args, message) => {
    const r = await runDs(['report', 'transactions', ...args], { routes });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.requests).toEqual([]);
  });

  it('shows what DS says about a period it does not keep', async () => {
    const r = await runDs(['report', 'transactions', '--from', '2026-01-05'], {
      routes: { 'GET /admin/reports/transactions': () => fail(400, 'VALIDATION_ERROR', 'from: days are kept for the current month only') },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: VALIDATION_ERROR: from: days are kept for the current month only (request req-1)');
  });

  it('refuses an answer that is not a list of report rows', async () => {
    const r = await runDs(['report', 'transactions'], { routes: { 'GET /admin/reports/transactions': () => ok([{ month: '2026-03', transactions: 'many' }]) } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: BAD_RESPONSE: .*data\.0\.transactions/);
    expect(r.stdout).toBe('');
  });
});

describe('ds report devices', () => {
  const counts = (devices: number, extra: Record<string, unknown> = {}) => ({
    devices,
    active24h: Math.floor(devices / 2),
    active7d: devices - 1,
    active30d: devices,
    stopped: 1,
    notAllowed: 0,
    dailyLimited: 0,
    ...extra,
  });
  const byOs = [{ key: 'Windows', ...counts(40, { dailyLimited: 2 }) }, { key: 'macOS', ...counts(10) }, { key: null, ...counts(2) }];

  it('sends --by in the API name, the filters and --stale-intervals', async () => {
    const r = await runDs(['report', 'devices', '--by', 'org', '--org', 'acme', '--label', 'acme-web', '--stale-intervals', '5'], {
      routes: { 'GET /admin/reports/devices': () => ok([]) },
    });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.query).toEqual({ by: 'organization', organization: 'acme', label: 'acme-web', staleIntervals: '5' });
    expect(r.stderr).toBe('no devices\n');
  });

  it('on a terminal: the dimension as key header, a bar per row by devices, (unknown) for no value, and a TOTAL row', async () => {
    const r = await runDs(['report', 'devices', '--by', 'os'], { routes: { 'GET /admin/reports/devices': () => ok(byOs) }, terminal: true });
    expect(r.code).toBe(0);
    expect(tableLine(r.stdout, 'Devices')).toMatch(/│ OS\s+│ Devices │ Active 24h │ Active 7d │ Active 30d │ Stopped │ Not allowed │ Daily limit │/);
    expect(tableLine(r.stdout, 'Windows')).toMatch(/│ Windows\s+│\s+40 │\s+20 │\s+39 │\s+40 │\s+1 │\s+0 │\s+2 │ █{20} │/);
    expect(tableLine(r.stdout, 'macOS')).toMatch(/│\s+10 │.*│ █████\s+│/);
    expect(tableLine(r.stdout, '(unknown)')).toMatch(/│ \(unknown\)\s+│\s+2 │/);
    expect(tableLine(r.stdout, 'TOTAL')).toMatch(/│ TOTAL\s+│\s+52 │\s+26 │\s+49 │\s+52 │\s+3 │\s+0 │\s+2 │\s+│/);
    expect(r.stderr).toBe('');
  });

  it.each([
    ['label', '(none)', /a device counts once under each label it reported/],
    ['browser', '(unknown)', /a device counts once under each browser it reported/],
  ])('by %s: no TOTAL row (a device counts under several values), and says why', async (by, nullKey, footnote) => {
    const rows = [{ key: 'a', ...counts(3) }, { key: 'b', ...counts(3) }, { key: null, ...counts(1) }];
    const r = await runDs(['report', 'devices', '--by', by], { routes: { 'GET /admin/reports/devices': () => ok(rows) }, terminal: true });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('TOTAL');
    expect(r.stdout).toContain(nullKey);
    expect(r.stderr).toMatch(footnote);
    const json = await runDs(['report', 'devices', '--by', by, '--json'], { routes: { 'GET /admin/reports/devices': () => ok(rows) } });
    expect(json.stderr).toBe('');
  });

  it('--daily-limited --by device: which devices the daily limit refused transactions of', async () => {
    const rows = [{ key: 'd-1', ...counts(1, { dailyLimited: 1 }) }];
    const r = await runDs(['report', 'devices', '--daily-limited', '--by', 'device'], { routes: { 'GET /admin/reports/devices': () => ok(rows) } });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.query).toEqual({ by: 'device', dailyLimited: 'true' });
    expect(tableLine(r.stdout, 'Device')).toMatch(/│ Device │ Devices .* │ Daily limit │/);
    expect(tableLine(r.stdout, 'd-1')).toMatch(/│ d-1\s+│\s+1 │.*│\s+1 │/);
  });

  it('the organization dimension says (none) for devices without one', async () => {
    const r = await runDs(['report', 'devices', '--by', 'org'], { routes: { 'GET /admin/reports/devices': () => ok([{ key: null, ...counts(4) }]) } });
    expect(tableLine(r.stdout, 'Organization')).toMatch(/│ Organization │ Devices/);
    expect(tableLine(r.stdout, '(none)')).toMatch(/│ \(none\)\s+│\s+4 │/);
  });

  it('without --by: one row for all devices, no key column, no TOTAL', async () => {
    const r = await runDs(['report', 'devices'], { routes: { 'GET /admin/reports/devices': () => ok([counts(7)]) } });
    expect(r.requests[0]!.query).toEqual({});
    expect(r.stdout.split('\n')[1]).toMatch(/^│ Devices │ Active 24h/);
    expect(r.stdout).not.toContain('TOTAL');
  });

  it('--json is the rows; --csv has the field names, an empty key for null, and parses back', async () => {
    const routes = { 'GET /admin/reports/devices': () => ok(byOs) };
    const json = await runDs(['report', 'devices', '--by', 'os', '--json'], { routes, terminal: true });
    expect(JSON.parse(json.stdout)).toEqual(byOs);
    expect(json.stdout).not.toMatch(BAR);
    const csv = await runDs(['report', 'devices', '--by', 'os', '--csv'], { routes, terminal: true });
    const parsed = parseCsv(csv.stdout);
    expect(parsed[0]).toEqual(['key', 'devices', 'active24h', 'active7d', 'active30d', 'stopped', 'notAllowed', 'dailyLimited']);
    expect(parsed[3]![0]).toBe('');
    expect(csvObjects(csv.stdout)).toEqual(asCsv(byOs));
    expect(csv.stdout).not.toMatch(BAR);
    expect(csv.stdout).not.toContain('TOTAL');
  });

  it.each([
    [['--by', 'country'], /option '--by <dimension>' argument 'country' is invalid\. expected one of os, browser, version, status, org, label, device/],
    [['--by', 'os,label'], /option '--by <dimension>' argument 'os,label' is invalid/],
    [['--stale-intervals', '0'], /option '--stale-intervals <n>' argument '0' is invalid/],
    [['--stale-intervals', '1001'], /expected a whole number from 1 to 1000/],
  ])('rejects %j before asking DS', async (args, message) => {
    const r = await runDs(['report', 'devices', ...args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.requests).toEqual([]);
  });
});

describe('ds report downloads', () => {
  const rows = [
    { day: '2026-03-01', os: 'WIN64', downloads: 10, completed: 9, bytes: 10 * 52_428_800 },
    { day: '2026-03-02', os: 'MACOSARM', downloads: 5, completed: 5, bytes: 5 * 52_428_800 },
  ];
  const routes = { 'GET /admin/reports/downloads': () => ok(rows) };

  it('sends the filters and --by as one comma-separated value; --version belongs to the command', async () => {
    const r = await runDs(['report', 'downloads', '--from', '2026-03-01', '--to', '2026-03-31', '--os', 'WIN64', '--version', '3.8.1', '--by', 'day,os'], { routes });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.query).toEqual({ from: '2026-03-01', to: '2026-03-31', os: 'WIN64', version: '3.8.1', by: 'day,os' });
    expect(r.stdout).not.toContain('0.1.0');
  });

  it('on a terminal: bytes human readable, bars by downloads, TOTAL of downloads, completed and bytes', async () => {
    const r = await runDs(['report', 'downloads', '--by', 'day,os'], { routes, terminal: true });
    expect(r.code).toBe(0);
    expect(tableLine(r.stdout, 'Downloads')).toMatch(/│ Day\s+│ OS\s+│ Downloads │ Completed │ Bytes\s+│\s+│$/);
    expect(tableLine(r.stdout, '2026-03-01')).toMatch(/│ WIN64\s+│\s+10 │\s+9 │ 500\.0 MiB │ █{20} │/);
    expect(tableLine(r.stdout, '2026-03-02')).toMatch(/│\s+5 │\s+5 │ 250\.0 MiB │ █{10}\s+│/);
    expect(tableLine(r.stdout, 'TOTAL')).toMatch(/│ TOTAL\s+│\s+│\s+15 │\s+14 │ 750\.0 MiB │\s+│/);
  });

  it('without --by: DS groups by day, and the table has a Day column', async () => {
    const r = await runDs(['report', 'downloads'], { routes });
    expect(r.requests[0]!.query).toEqual({});
    expect(tableLine(r.stdout, 'Downloads')).toMatch(/│ Day\s+│ Downloads │/);
  });

  it('no bar when grouped by neither day nor month; an unknown browser says so', async () => {
    const r = await runDs(['report', 'downloads', '--by', 'browser,version'], {
      routes: { 'GET /admin/reports/downloads': () => ok([{ browser: null, version: '3.8.1', downloads: 1, completed: 0, bytes: 1024 }]) },
      terminal: true,
    });
    expect(r.stdout).not.toMatch(BAR);
    expect(tableLine(r.stdout, '3.8.1')).toMatch(/│ \(unknown\) │ 3\.8\.1\s+│\s+1 │\s+0 │ 1\.0 KiB │/);
  });

  it('--json and --csv: raw byte counts, no bars, no totals, and the CSV parses back to the rows', async () => {
    const json = await runDs(['report', 'downloads', '--by', 'day,os', '--json'], { routes, terminal: true });
    expect(JSON.parse(json.stdout)).toEqual(rows);
    const csv = await runDs(['report', 'downloads', '--by', 'day,os', '--csv'], { routes, terminal: true });
    expect(parseCsv(csv.stdout)[0]).toEqual(['day', 'os', 'downloads', 'completed', 'bytes']);
    expect(csvObjects(csv.stdout)).toEqual(asCsv(rows));
    for (const out of [json.stdout, csv.stdout]) {
      expect(out).not.toMatch(BAR);
      expect(out).not.toContain('TOTAL');
      expect(out).not.toContain('MiB');
    }
  });

  it('a user limited to an organization gets a clear error (downloads belong to no organization)', async () => {
    const r = await runDs(['report', 'downloads'], {
      routes: { 'GET /admin/reports/downloads': () => fail(403, 'FORBIDDEN', 'users limited to an organization cannot read the download report') },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'error: FORBIDDEN: users limited to an organization cannot read the download report (request req-1)\n' +
        'hint: the download report covers all of DS (downloads belong to no organization): use a login or token that is not limited to an organization\n',
    );
  });

  it('a token without the scope gets the DS error as it is', async () => {
    const r = await runDs(['report', 'downloads'], { routes: { 'GET /admin/reports/downloads': () => fail(403, 'INSUFFICIENT_SCOPE', 'this route needs the scope reports:read') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: INSUFFICIENT_SCOPE: this route needs the scope reports:read (request req-1)\n');
  });

  it('rejects an unknown --by value before asking DS', async () => {
    const r = await runDs(['report', 'downloads', '--by', 'day,label']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/option '--by <list>' argument 'day,label' is invalid\. unknown value "label": expected one or more of day, month, os, browser, version/);
    expect(r.requests).toEqual([]);
  });
});
