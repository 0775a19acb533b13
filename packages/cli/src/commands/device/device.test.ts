import { afterEach, describe, expect, it } from 'vitest';
import { fail, ok, page, parseCsv, removeTempDirs, runDs, T } from '../../test/harness.js';

afterEach(removeTempDirs);

const NOW = new Date('2026-03-15T10:00:00.000Z');
const clock = { now: () => NOW };

function device(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    version: '3.8.1',
    status: 'ACTIVE',
    os: { name: 'Windows', version: '11', architecture: 'x64' },
    installerOs: 'WIN64',
    hostname: 'DESKTOP-ABC1234',
    keyType: 'EC P-256',
    certificateSha256: 'ab'.repeat(32),
    registeredAt: T,
    lastSyncAt: T,
    labels: ['acme-web', 'acme-portal'],
    ...extra,
  };
}

const full = device('d-1', {
  userAgents: [
    {
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36',
      browser: 'Chrome',
      browserMajor: '138',
      os: 'Windows',
      lastSeenAt: T,
    },
  ],
  counters: [
    { label: 'acme-web', module: 'beid', useCase: 'sign', month: '2026-03', counter: 12 },
    { label: 'acme-web', module: 'emv', useCase: 'verify-pin', month: '2026-03', counter: 30 },
  ],
});

describe('ds device list', () => {
  it('shows id, version, status, os with architecture, installer os, last sync and labels', async () => {
    const never = device('d-2', { os: { name: 'macOS', version: '15.5', architecture: 'arm64' }, installerOs: 'MACOSARM', lastSyncAt: null, labels: [] });
    const r = await runDs(['device', 'list'], { routes: { 'GET /admin/devices': () => page([device('d-1'), never]) } });
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[1]).toMatch(/id\s+│ version │ status │ os\s+│ installer os │ last sync\s+│ labels/);
    const row = (id: string) => lines.find((line) => line.includes(id))!;
    expect(row('d-1')).toMatch(/3\.8\.1\s+│ ACTIVE │ Windows x64 │ WIN64\s+│ 2025-01-02T03:04:05\.000Z │ acme-web, acme-portal/);
    expect(row('d-2')).toMatch(/macOS arm64 │ MACOSARM\s+│ never/);
  });

  it('passes every filter, and --version goes to the command, not to ds itself', async () => {
    const r = await runDs(
      ['device', 'ls', '--org', 'acme', '--label', 'acme-web', '--version', '3.8.1', '--status', 'UPDATABLE', '--os', 'Windows', '--since', '2026-03-01', '--limit', '20'],
      { routes: { 'GET /admin/devices': () => page([device('d-1')]) } },
    );
    expect(r.code).toBe(0);
    expect(r.requests[0]!.query).toEqual({
      organization: 'acme',
      label: 'acme-web',
      version: '3.8.1',
      status: 'UPDATABLE',
      os: 'Windows',
      since: '2026-03-01T00:00:00.000Z',
      limit: '20',
    });
  });

  it.each([
    ['24h', '2026-03-14T10:00:00.000Z'],
    ['7d', '2026-03-08T10:00:00.000Z'],
    ['2026-03-10T08:30:00+01:00', '2026-03-10T07:30:00.000Z'],
  ])('--since %s asks for devices synced since %s', async (since, expected) => {
    const r = await runDs(['device', 'list', '--since', since], { routes: { 'GET /admin/devices': () => page([]) }, overrides: { clock } });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.query.since).toBe(expected);
    expect(r.stderr).toBe('no devices\n');
    expect(r.stdout).toBe('');
  });

  it('rejects an unknown status and a bad --since before asking DS', async () => {
    for (const args of [['--status', 'SLEEPING'], ['--since', 'yesterday']]) {
      const r = await runDs(['device', 'list', ...args]);
      expect(r.code).toBe(1);
      expect(r.requests).toEqual([]);
    }
  });

  it('follows cursors, and prints the API objects with --json and all fields with --csv', async () => {
    const routes = { 'GET /admin/devices': (q: { query: Record<string, string> }) => (q.query.cursor ? page([device('d-2')]) : page([device('d-1')], 'c2')) };
    const r = await runDs(['device', 'list', '--json'], { routes });
    expect(JSON.parse(r.stdout)).toEqual([device('d-1'), device('d-2')]);
    const csv = await runDs(['device', 'list', '--csv'], { routes });
    const [header, first] = parseCsv(csv.stdout);
    // No JSON in a cell: the OS as three columns, the labels one ;-joined cell.
    expect(header).toEqual(['id', 'version', 'status', 'os.name', 'os.version', 'os.architecture', 'installerOs', 'hostname', 'keyType', 'certificateSha256', 'registeredAt', 'lastSyncAt', 'labels']);
    expect(first!.slice(3, 6)).toEqual(['Windows', '11', 'x64']);
    expect(first![header!.indexOf('labels')]).toBe(device('d-1').labels.join(';'));
  });

  it('needs a login (exit 4)', async () => {
    const r = await runDs(['device', 'list'], { env: { DS_TOKEN: undefined } });
    expect(r.code).toBe(4);
    expect(r.requests).toEqual([]);
  });
});

describe('ds device get', () => {
  it("shows the labels, the User-Agents and this month's counters with their total", async () => {
    const r = await runDs(['device', 'get', 'd-1'], { routes: { 'GET /admin/devices/d-1': () => ok(full) } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/labels\s+│ acme-web, acme-portal/);
    expect(r.stdout).toMatch(/user agent 1\s+│ Chrome 138 on Windows, last seen 2025-01-02T03:04:05\.000Z/);
    expect(r.stdout).toContain('Chrome/138.0.0.0 Safari/537.36');
    expect(r.stdout).toMatch(/counter acme-web \/ beid \/ sign\s+│ 12/);
    expect(r.stdout).toMatch(/counter acme-web \/ emv \/ verify-pin\s+│ 30/);
    expect(r.stdout).toMatch(/counters total \(2026-03\)\s+│ 42/);
  });

  it('says when there is nothing to show', async () => {
    const r = await runDs(['device', 'get', 'd-1'], { routes: { 'GET /admin/devices/d-1': () => ok({ ...full, userAgents: [], counters: [] }) } });
    expect(r.stdout).toMatch(/user agents\s+│ none/);
    expect(r.stdout).toMatch(/counters\s+│ none this month/);
  });

  it('--json prints the API object', async () => {
    const r = await runDs(['device', 'get', 'd-1', '--json'], { routes: { 'GET /admin/devices/d-1': () => ok(full) } });
    expect(JSON.parse(r.stdout)).toEqual(full);
  });

  it('reports an unknown device with the DS code', async () => {
    const r = await runDs(['device', 'get', 'nope'], { routes: { 'GET /admin/devices/nope': () => fail(404, 'NOT_FOUND', 'device nope does not exist') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: NOT_FOUND: device nope does not exist');
  });
});

describe('ds device delete', () => {
  const routes = { 'DELETE /admin/devices/d-1': () => ok({ deleted: 'd-1', removed: { deviceCounters: 2 } }) };

  it('refuses without --yes when not interactive, and deletes nothing', async () => {
    const r = await runDs(['device', 'delete', 'd-1'], { routes });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pass --yes');
    expect(r.find('DELETE', '/devices/d-1')).toEqual([]);
    expect(r.requests).toEqual([]);
  });

  it('asks on a terminal; no is cancelled (exit 2)', async () => {
    const r = await runDs(['device', 'delete', 'd-1'], { terminal: true, answers: [false], routes });
    expect(r.code).toBe(2);
    expect(r.prompts[0]!.message).toMatch(/^Delete device d-1 \(it must register again/);
    expect(r.requests).toEqual([]);
  });

  it('with --yes deletes and says the device must register again', async () => {
    const r = await runDs(['device', 'delete', 'd-1', '--yes'], { routes });
    expect(r.code).toBe(0);
    expect(r.find('DELETE', '/admin/devices/d-1')).toHaveLength(1);
    expect(r.stdout).toBe('deleted device d-1 and its 2 counters of this month\n');
    expect(r.stderr).toContain('must register again');
  });

  it('--json prints the result', async () => {
    const r = await runDs(['device', 'delete', 'd-1', '--yes', '--json'], { routes });
    expect(JSON.parse(r.stdout)).toEqual({ deleted: 'd-1', removed: { deviceCounters: 2 } });
  });
});
