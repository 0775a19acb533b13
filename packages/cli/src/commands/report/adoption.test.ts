import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appFetch, seedOrganizations } from '../../../../server/src/test/devices.js';
import { createTestContext, schedulerClock, type TestContext } from '../../../../server/src/test/harness.js';
import { ok, parseCsv, removeTempDirs, runDs, tempDir } from '../../test/harness.js';
import type { DailyDeviceVersion } from '../simulate/engine.js';

// `ds report adoption` end to end: `ds simulate` plays devices for two days on the in-process DS's
// fake clock (DS's scheduler runs when the clock moves, as its timer would), writes its per-day
// log, and the report in every format says what the log says.

const URL = 'https://ds.example.test';
let ds: TestContext;
let admin: string;

beforeEach(async () => {
  ds = await createTestContext();
  admin = await ds.login();
  await seedOrganizations(ds, admin);
});

afterEach(async () => {
  await ds.close();
  await removeTempDirs();
});

/** `ds args` against the in-process DS, as the admin (logged in anew: sessions do not last days). */
async function dsRun(args: string[], clock: { now(): Date; advance?(ms: number): void | Promise<void> } = ds.clock) {
  return runDs(args, { env: { DS_TOKEN: await ds.login(), DS_URL: URL }, overrides: { fetch: appFetch(ds), clock }, stdoutTerminal: false });
}

describe('ds report adoption', () => {
  it('says per day what the simulated devices ran, as --json, --csv and a table', async () => {
    const versionId = '3.8.1';
    const created = await ds.request('PUT', `/v3_5/admin/versions/${versionId}`, { token: admin, body: { installers: [{ os: 'win64', uri: 'https://cdn.example.test/a.exe' }] } });
    const installationKey = created.body.data.installationApiKey as string;
    const clock = schedulerClock(ds);
    const dir = await tempDir();
    const log = join(dir, 'log.jsonl');
    // From 2026-03-15T10:00, every 8 hours until 2026-03-17T10:00; a third of the devices fail.
    const sim = await dsRun(
      ['simulate', '--installation-key', installationKey, '--devices', '12', '--syncs', '7', '--interval', '8h', '--key-type', 'ec', '--labels', 'acme-web,globex-web', '--seed', '3', '--fail-version', versionId, '--fail-rate', '33%', '--error-rate', '0', '--log', log, '--json'],
      clock,
    );
    expect(sim.code, sim.stderr).toBe(0);
    expect(ds.clock.now().toISOString()).toBe('2026-03-17T10:00:00.000Z');
    const lines = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DailyDeviceVersion);
    const perDay = (day: string, onlyLabel?: string) => {
      const of = lines.filter((l) => l.day === day && (onlyLabel === undefined || l.labels.includes(onlyLabel)));
      return { devices: of.length, errors: of.filter((l) => l.status === 'ERROR').length };
    };
    const days = ['2026-03-15', '2026-03-16', '2026-03-17'];
    expect(perDay('2026-03-17').errors).toBeGreaterThan(0);

    const json = await dsRun(['report', 'adoption', '--from', '2026-03', '--by', 'day,version', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(days.map((day) => ({ month: '2026-03', day, version: versionId, ...perDay(day), share: 1 })));

    const acme = await dsRun(['report', 'adoption', '--from', '2026-03', '--by', 'day', '--org', 'acme', '--json']);
    expect(JSON.parse(acme.stdout)).toEqual(days.map((day) => ({ month: '2026-03', day, ...perDay(day, 'acme-web') })));

    const csv = await dsRun(['report', 'adoption', '--from', '2026-03-16', '--by', 'day,label,version', '--csv']);
    expect(csv.code, csv.stderr).toBe(0);
    const [header, ...rows] = parseCsv(csv.stdout);
    expect(header).toEqual(['month', 'day', 'label', 'version', 'devices', 'errors', 'share']);
    expect(rows).toEqual(
      ['2026-03-16', '2026-03-17'].flatMap((day) =>
        ['acme-web', 'globex-web'].map((label) => ['2026-03', day, label, versionId, String(perDay(day, label).devices), String(perDay(day, label).errors), '1']),
      ),
    );

    const table = await runDs(['report', 'adoption', '--by', 'version'], { env: { DS_TOKEN: await ds.login(), DS_URL: URL }, overrides: { fetch: appFetch(ds), clock: ds.clock } });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`│ 3\\.8\\.1 +│ +12 │ +${perDay('2026-03-17').errors} │ +100\\.0% │`));
    expect(table.stderr).toBe('as of the last snapshot of the period (today: now)\n');
  });
});

describe('ds report adoption (request and output)', () => {
  const rows = [
    { month: '2026-02', day: null, version: '3.8.1', devices: 90, errors: 1, share: 0.9 },
    { month: '2026-02', day: null, version: '3.9.0', devices: 10, errors: 0, share: 0.1 },
    { month: '2026-03', day: '2026-03-01', version: '3.9.0', devices: 100, errors: 2, share: 1 },
  ];
  const routes = { 'GET /admin/reports/adoption': () => ok(rows) };

  it('sends every filter and --by in API names; a closed month reads as its end', async () => {
    const r = await runDs(['report', 'adoption', '--org', 'acme', '--label', 'acme-web', '--os', 'Windows', '--version', '3.9.0', '--from', '2026-02', '--to', '2026-03-01', '--by', 'day,org,version'], { routes });
    expect(r.code, r.stderr).toBe(0);
    expect(r.requests[0]!.query).toEqual({ organization: 'acme', label: 'acme-web', os: 'Windows', version: '3.9.0', from: '2026-02', to: '2026-03-01', by: 'day,organization,version' });
    expect(r.stdout).toContain('2026-02 (end of month)');
    expect(r.stdout).not.toContain('TOTAL');
  });

  it('refuses an unknown --by naming the choices', async () => {
    const r = await runDs(['report', 'adoption', '--by', 'module'], { routes });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown value "module": expected one or more of day, month, org, label, os, version');
    expect(r.requests).toEqual([]);
  });
});
