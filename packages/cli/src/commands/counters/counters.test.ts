import { afterEach, describe, expect, it } from 'vitest';
import { fail, ok, parseCsv, removeTempDirs, runDs } from '../../test/harness.js';

afterEach(removeTempDirs);

const february = { month: '2026-02', dailyRowsArchived: 112, deviceRowsReset: 40, deviceRowsDeleted: 3, completedAt: '2026-03-01T00:00:05.000Z' };
const january = { month: '2026-01', dailyRowsArchived: 0, deviceRowsReset: 0, deviceRowsDeleted: 0, completedAt: '2026-02-01T00:00:04.000Z' };

describe('ds counters rollover', () => {
  it('asks for every closed month by default, and shows what was done per month', async () => {
    const r = await runDs(['counters', 'rollover'], { routes: { 'POST /admin/counters/rollover': () => ok([january, february]) } });
    expect(r.code).toBe(0);
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]!.body).toEqual({});
    const lines = r.stdout.split('\n');
    expect(lines[1]).toMatch(/│ Month\s+│ Daily rows archived │ Device rows reset │ Device rows deleted │ Completed at\s+│/);
    expect(lines.find((l) => l.startsWith('│ 2026-02'))).toMatch(/│ 2026-02 │ 112\s+│ 40\s+│ 3\s+│ 2026-03-01T00:00:05\.000Z │/);
    // A month rolled over before shows zeros; say that nothing changed rather than leave people guessing.
    expect(r.stderr).toBe('2026-01: nothing changed (rolled over at 2026-02-01T00:00:04.000Z)\n');
  });

  it('--month sends that month', async () => {
    const r = await runDs(['counters', 'rollover', '--month', '2026-02'], { routes: { 'POST /admin/counters/rollover': () => ok([february]) } });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.body).toEqual({ month: '2026-02' });
    expect(r.stderr).toBe('');
  });

  it('says there is nothing to roll over when DS rolled no month', async () => {
    const routes = { 'POST /admin/counters/rollover': () => ok([]) };
    expect((await runDs(['counters', 'rollover'], { routes })).stdout).toBe('nothing to roll over\n');
    expect((await runDs(['counters', 'rollover', '--month', '2026-02'], { routes })).stdout).toBe('nothing to roll over for 2026-02\n');
    const json = await runDs(['counters', 'rollover', '--json'], { routes });
    expect(JSON.parse(json.stdout)).toEqual([]);
    expect(json.stderr).toBe('');
  });

  it('--json prints the results exactly, --csv with the field names', async () => {
    const routes = { 'POST /admin/counters/rollover': () => ok([january, february]) };
    const json = await runDs(['counters', 'rollover', '--json'], { routes });
    expect(JSON.parse(json.stdout)).toEqual([january, february]);
    expect(json.stderr).toBe('');
    const [header, ...rows] = parseCsv((await runDs(['counters', 'rollover', '--csv'], { routes })).stdout);
    expect(header).toEqual(['month', 'dailyRowsArchived', 'deviceRowsReset', 'deviceRowsDeleted', 'completedAt']);
    expect(rows).toEqual([january, february].map((r) => Object.values(r).map(String)));
  });

  it.each(['2026-13', '2026-2', 'february', '2026-02-01'])('rejects --month %s before asking DS', async (month) => {
    const r = await runDs(['counters', 'rollover', '--month', month], { routes: { 'POST /admin/counters/rollover': () => ok([]) } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`option '--month <YYYY-MM>' argument '${month}' is invalid. expected a month YYYY-MM`);
    expect(r.requests).toEqual([]);
  });

  it('explains a 409: another DS process holds the rollover lock', async () => {
    const r = await runDs(['counters', 'rollover'], {
      routes: { 'POST /admin/counters/rollover': () => fail(409, 'CONFLICT', 'another DS process is rolling over the counters') },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'error: CONFLICT: another DS process is rolling over the counters (request req-1)\n' +
        'hint: another DS process is running the rollover right now; run it again in a moment (it is safe to repeat)\n',
    );
  });

  it('shows a missing scope as DS says it, and needs a login', async () => {
    const scope = await runDs(['counters', 'rollover'], {
      routes: { 'POST /admin/counters/rollover': () => fail(403, 'INSUFFICIENT_SCOPE', 'this route needs the scope counters:write') },
    });
    expect(scope.code).toBe(1);
    expect(scope.stderr).toBe('error: INSUFFICIENT_SCOPE: this route needs the scope counters:write (request req-1)\n');
    const anonymous = await runDs(['counters', 'rollover'], { env: { DS_TOKEN: undefined } });
    expect(anonymous.code).toBe(4);
    expect(anonymous.requests).toEqual([]);
  });
});
