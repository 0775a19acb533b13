import { afterEach, describe, expect, it } from 'vitest';
import { fail, ok, parseCsv, removeTempDirs, runDs, T } from '../../test/harness.js';

afterEach(removeTempDirs);

const info = {
  version: '0.1.0',
  startedAt: T,
  uptimeSeconds: 42,
  database: { kind: 'sqlite', sizeBytes: 4096 },
  counts: { organizations: 1, labels: 2, versions: 3, users: 1, devices: { total: 5, byStatus: { ACTIVE: 4, ERROR: 1 }, active24h: 3, active30d: 5 } },
};

describe('ds system info', () => {
  it('flattens nested fields into the table', async () => {
    const r = await runDs(['system', 'info'], { routes: { 'GET /admin/system/info': () => ok(info) } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/database\.kind\s+│\s+sqlite/);
    expect(r.stdout).toMatch(/counts\.devices\.byStatus\.ACTIVE\s+│\s+4/);
  });

  it('--json is the API object and --csv flattens nested objects to dotted columns', async () => {
    const routes = { 'GET /admin/system/info': () => ok(info) };
    expect(JSON.parse((await runDs(['system', 'info', '--json'], { routes })).stdout)).toEqual(info);
    const [header, row] = parseCsv((await runDs(['system', 'info', '--csv'], { routes })).stdout);
    expect(header!.slice(0, 5)).toEqual(['version', 'startedAt', 'uptimeSeconds', 'database.kind', 'database.sizeBytes']);
    expect(row![header!.indexOf('counts.devices.byStatus.ACTIVE')]).toBe('4');
    expect(row!.join()).not.toMatch(/[{[]/);
  });
});

describe('ds system status', () => {
  it('needs no token', async () => {
    const status = { isAlive: true, version: '0.1.0', time: T, latestVersion: '3.8.1' };
    const r = await runDs(['system', 'status', '--json'], { env: { DS_TOKEN: undefined }, routes: { 'GET /system/status': () => ok(status) } });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.authorization).toBeNull();
    expect(JSON.parse(r.stdout)).toEqual(status);
  });

  it('exits 1 when DS cannot reach its database', async () => {
    const r = await runDs(['system', 'status'], { routes: { 'GET /system/status': () => fail(503, 'DATABASE_UNAVAILABLE', 'The database cannot be reached') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not alive');
  });
});
