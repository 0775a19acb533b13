import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dailyVersions, runSimulation, type DailyDeviceVersion } from '../../../cli/src/commands/simulate/engine.js';
import { CounterScheduler } from '../counters/scheduler.js';
import { createTestContext, schedulerClock, type TestContext } from '../test/harness.js';
import { appFetch, seedOrganizations } from '../test/devices.js';
import { TestFleet } from '../test/fleet.js';
import { applyRetention } from '../counters/retention.js';
import { takeSnapshot } from './adoption.service.js';

// Adoption analytics against what devices really reported: `ds simulate`'s engine plays T1C
// installations for four days on DS's fake clock (hours pass in simulated time; DS's scheduler
// runs whenever the clock moves, as its timer would), some update to a new version when it is
// recommended, and the adoption report must equal the simulation's own per-day log, at every
// level (all devices, per organization, per label, per OS), across a month boundary.

const OSES = ['win32', 'win64', 'macos', 'macosarm', 'linux32', 'linux64'] as const;
let ds: TestContext;
let admin: string;

beforeEach(async () => {
  ds = await createTestContext();
  ds.clock.set('2026-03-30T10:00:00.000Z');
  admin = await ds.login();
  await seedOrganizations(ds, admin);
});

afterEach(async () => {
  await ds.close();
});

/** A version with real installer files for every OS, so updating devices download them through DS. */
async function putVersion(id: string, body: Record<string, unknown>, token = admin) {
  const installers = [];
  for (const os of OSES) {
    const bytes = randomBytes(2000);
    const path = join(ds.installerRoot, `t1c-${id}-${os}.bin`);
    await writeFile(path, bytes);
    installers.push({ os, uri: pathToFileURL(path).href, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  const r = await ds.request('PUT', `/v3_5/admin/versions/${id}`, { token, body: { installers, ...body } });
  if (r.status !== 201 && r.status !== 200) throw new Error(JSON.stringify(r.body));
  return r.body.data;
}

async function report(query: string, token = admin) {
  const r = await ds.request('GET', `/v3_5/admin/reports/adoption?${query}`, { token });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.data as Record<string, unknown>[];
}

type Key = (line: DailyDeviceVersion) => string[];

/**
 * What the report must say, from the log: devices per (period, key) where the period is the day,
 * or for a closed month its last logged day; `keys` gives the groups a device counts in (several
 * labels, several organizations: once in each).
 */
function expected(lines: DailyDeviceVersion[], keys: Key, closedMonths: string[]) {
  const lastDayOf = new Map<string, string>();
  for (const l of lines) if (closedMonths.includes(l.day.slice(0, 7)) && (lastDayOf.get(l.day.slice(0, 7)) ?? '') < l.day) lastDayOf.set(l.day.slice(0, 7), l.day);
  const out = new Map<string, { devices: number; errors: number }>();
  for (const l of lines) {
    const month = l.day.slice(0, 7);
    if (closedMonths.includes(month) && lastDayOf.get(month) !== l.day) continue;
    const day = closedMonths.includes(month) ? null : l.day;
    for (const k of keys(l)) {
      const key = JSON.stringify([month, day, k]);
      const entry = out.get(key) ?? { devices: 0, errors: 0 };
      entry.devices++;
      if (l.status === 'ERROR') entry.errors++;
      out.set(key, entry);
    }
  }
  return [...out].map(([key, counts]) => [key, counts] as const).sort(([a], [b]) => (a < b ? -1 : 1));
}

function actual(rows: Record<string, unknown>[], key: (row: Record<string, unknown>) => string) {
  return rows
    .map((r) => [JSON.stringify([r.month, r.day, key(r)]), { devices: r.devices, errors: r.errors }] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));
}

const ORGANIZATION_OF: Record<string, string> = { 'acme-web': 'acme', 'globex-web': 'globex' };

describe('the adoption report equals the simulated devices\' versions per day', () => {
  it('at every level, across a month boundary, with updates and failing devices', async () => {
    const { installationApiKey } = await putVersion('3.8.1', { recommended: true });
    await putVersion('3.9.0', { recommended: false });
    // 3.9.0 is recommended from 2026-04-01T12:00: devices update at their next check after it.
    const recommendedAt = new Date('2026-04-01T12:00:00.000Z');
    const clock = schedulerClock(ds, async (from, to) => {
      if (from < recommendedAt && to >= recommendedAt) await putVersion('3.9.0', { recommended: true }, await ds.login());
    });
    const { devices } = await runSimulation({
      baseUrl: 'https://ds.example.test',
      installationKey: installationApiKey,
      devices: 24,
      // Every 6 hours from 2026-03-30T10:00 to 2026-04-03T10:00.
      syncs: 17,
      intervalMs: 6 * 3600_000,
      concurrency: 8,
      keyType: 'ec',
      labels: ['acme-web', 'globex-web'],
      seed: 13,
      fetch: appFetch(ds),
      clock: ds.clock,
      failVersion: '3.9.0',
      failRate: 0.3,
      errorRate: 0,
      advance: clock.advance,
    });
    expect(ds.clock.now().toISOString()).toBe('2026-04-03T10:00:00.000Z');
    const lines = dailyVersions(devices, '2026-04-03');
    expect(lines).toHaveLength(24 * 5);
    // The run has both versions and failing devices to count.
    expect(new Set(lines.map((l) => l.version))).toEqual(new Set(['3.8.1', '3.9.0']));
    expect(lines.some((l) => l.status === 'ERROR')).toBe(true);

    // March was flattened into its last snapshot; April has its days (today computed when asked).
    const db = ds.database.db;
    expect(await db.selectFrom('adoptionDaily').select('day').where('day', '<', '2026-04-01').execute()).toEqual([]);
    expect((await db.selectFrom('adoptionSnapshots').select('period').orderBy('period').execute()).map((r) => r.period)).toEqual(['2026-03', '2026-04-01', '2026-04-02']);

    admin = await ds.login();
    const closed = ['2026-03'];
    expect(actual(await report('from=2026-03&to=2026-04&by=day,version'), (r) => r.version as string)).toEqual(expected(lines, (l) => [l.version], closed));
    expect(actual(await report('from=2026-03&to=2026-04&by=day,organization,version'), (r) => `${r.organization}/${r.version}`)).toEqual(
      expected(lines, (l) => [...new Set(l.labels.map((label) => ORGANIZATION_OF[label]!))].map((org) => `${org}/${l.version}`), closed),
    );
    expect(actual(await report('from=2026-03&to=2026-04&by=day,label,version'), (r) => `${r.label}/${r.version}`)).toEqual(
      expected(lines, (l) => l.labels.map((label) => `${label}/${l.version}`), closed),
    );
    expect(actual(await report('from=2026-03&to=2026-04&by=day,os,version'), (r) => `${r.os}/${r.version}`)).toEqual(expected(lines, (l) => [`${l.os}/${l.version}`], closed));
    expect(actual(await report('from=2026-03&to=2026-04&by=day,version&organization=globex'), (r) => r.version as string)).toEqual(
      expected(lines, (l) => (l.labels.includes('globex-web') ? [l.version] : []), closed),
    );

    // By month: a month is its last snapshot (today's for April), never a sum of days.
    const byMonth = await report('from=2026-03&to=2026-04&by=month,version');
    const lastOf = (day: string, version: string) => lines.filter((l) => l.day === day && l.version === version).length;
    for (const row of byMonth) expect(row.devices).toBe(lastOf(row.month === '2026-03' ? '2026-03-31' : '2026-04-03', row.version as string));
    // Without time: today's picture; shares add up to 1.
    const now = await report('by=version');
    expect(now.map((r) => [r.version, r.devices])).toEqual(['3.8.1', '3.9.0'].map((v) => [v, lastOf('2026-04-03', v)]).filter(([, n]) => n !== 0));
    expect((now as { share: number }[]).reduce((sum, r) => sum + r.share, 0)).toBeCloseTo(1, 3);
  });
});

describe('the adoption report for an organization-limited user', () => {
  it('counts only the devices that serve its organization; another organization is refused', async () => {
    await putVersion('3.8.1', { recommended: true });
    const fleet = new TestFleet(ds);
    await fleet.add(3, '3.8.1', ['acme-web']);
    await fleet.add(2, '3.9.0', ['acme-web', 'globex-web']);
    const globexOnly = await fleet.add(4, '3.9.0', ['globex-web']);
    await fleet.add(1, '3.7.0', []);
    const viewer = await ds.userToken('acme-viewer', 'viewer', 'acme');

    // Today, computed when asked: 5 devices serve acme; the globex-only and label-less ones are invisible.
    expect(await report('by=version', viewer)).toEqual([
      { version: '3.8.1', devices: 3, errors: 0, share: 0.6 },
      { version: '3.9.0', devices: 2, errors: 0, share: 0.4 },
    ]);
    expect(await report('by=label,version', viewer)).toEqual([
      { label: 'acme-web', version: '3.8.1', devices: 3, errors: 0, share: 0.6 },
      { label: 'acme-web', version: '3.9.0', devices: 2, errors: 0, share: 0.4 },
    ]);
    expect(await report('by=organization', viewer)).toEqual([{ organization: 'acme', devices: 5, errors: 0 }]);
    // Another organization's label is a filter within its own organization: nothing.
    expect(await report('by=version&label=globex-web', viewer)).toEqual([]);
    expect(await report('by=label', viewer)).toEqual([{ label: 'acme-web', devices: 5, errors: 0 }]);
    // An admin sees all ten, each once.
    expect(await report('by=version')).toEqual([
      { version: '3.7.0', devices: 1, errors: 0, share: 0.1 },
      { version: '3.8.1', devices: 3, errors: 0, share: 0.3 },
      { version: '3.9.0', devices: 6, errors: 0, share: 0.6 },
    ]);

    // The stored snapshot is scoped the same way.
    await fleet.sync(globexOnly[0]!, { status: 'ERROR' });
    ds.clock.advance(86_400_000);
    await new CounterScheduler(ds.app.services).tick();
    // Sessions do not last a day.
    admin = await ds.login();
    const viewerAgain = await ds.login('acme-viewer', 'acme-viewer-password-123');
    expect(await report('by=day,version&from=2026-03-30', viewerAgain)).toEqual([
      { month: '2026-03', day: '2026-03-30', version: '3.8.1', devices: 3, errors: 0, share: 0.6 },
      { month: '2026-03', day: '2026-03-30', version: '3.9.0', devices: 2, errors: 0, share: 0.4 },
      { month: '2026-03', day: '2026-03-31', version: '3.8.1', devices: 3, errors: 0, share: 0.6 },
      { month: '2026-03', day: '2026-03-31', version: '3.9.0', devices: 2, errors: 0, share: 0.4 },
    ]);
    expect(await report('by=day,version&from=2026-03-30&organization=globex')).toEqual([
      { month: '2026-03', day: '2026-03-30', version: '3.9.0', devices: 6, errors: 1, share: 1 },
      { month: '2026-03', day: '2026-03-31', version: '3.9.0', devices: 6, errors: 1, share: 1 },
    ]);

    const refused = await ds.request('GET', '/v3_5/admin/reports/adoption?organization=globex', { token: viewerAgain });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('FORBIDDEN');
  });
});

describe('adoption snapshots', () => {
  it('are taken once when two runs race, and a device registered later is not in an earlier day', async () => {
    const fleet = new TestFleet(ds);
    await fleet.add(2, '3.8.1', ['acme-web']);
    ds.clock.set('2026-03-31T00:00:30.000Z');
    await fleet.add(1, '3.8.1', ['acme-web']);
    const results = await Promise.all([takeSnapshot(ds.app.services, '2026-03-30'), takeSnapshot(ds.app.services, '2026-03-30')]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const rows = await ds.database.db.selectFrom('adoptionDaily').selectAll().where('day', '=', '2026-03-30').orderBy('organizationId').orderBy('label').execute();
    expect(rows.map((r) => [r.organizationId === '' ? '' : 'org', r.label, r.os, r.version, Number(r.devices)])).toEqual([
      ['', '', 'Windows', '3.8.1', 2],
      ['org', '', 'Windows', '3.8.1', 2],
      ['org', 'acme-web', 'Windows', '3.8.1', 2],
    ]);
  });

  it("on the 1st, a second DS node's job does not take the month's last day again once the month is flattened", async () => {
    const fleet = new TestFleet(ds);
    await fleet.add(2, '3.8.1', ['acme-web']);
    ds.clock.set('2026-04-01T00:00:30.000Z');
    // The first node: the snapshot of March 31, and March flattened into its month row.
    expect(await takeSnapshot(ds.app.services, '2026-03-31')).toBe(true);
    await new CounterScheduler(ds.app.services).tick();
    const month = async () => (await ds.database.db.selectFrom('adoptionMonthly').select(['month', 'devices']).where('month', '=', '2026-03').where('organizationId', '=', '').execute()).map((r) => Number(r.devices));
    expect(await month()).toEqual([2]);
    // A device registered since; then another node's first check of the day.
    await fleet.add(1, '3.8.1', ['acme-web']);
    expect(await takeSnapshot(ds.app.services, '2026-03-31')).toBe(false);
    expect(await month()).toEqual([2]);
    expect(await ds.database.db.selectFrom('adoptionDaily').select('day').where('day', '=', '2026-03-31').execute()).toEqual([]);
  });

  it('closed months go with the counters when DS_COUNTER_RETENTION_MONTHS says so', async () => {
    const kept = await createTestContext({ configOverrides: { DS_COUNTER_RETENTION_MONTHS: '2' } });
    try {
      kept.clock.set('2026-03-30T10:00:00.000Z');
      const db = kept.database.db;
      for (const month of ['2025-12', '2026-01', '2026-02']) {
        await db.insertInto('adoptionMonthly').values({ month, organizationId: '', label: '', os: 'Windows', version: '3.8.1', devices: 5, errors: 0 }).execute();
        await db.insertInto('adoptionSnapshots').values({ period: month, takenAt: '2026-01-01T00:00:00.000Z', devices: 5 }).execute();
      }
      await db.insertInto('adoptionSnapshots').values({ period: '2026-03-29', takenAt: '2026-03-30T00:00:00.000Z', devices: 0 }).execute();
      await applyRetention(kept.app.services);
      expect((await db.selectFrom('adoptionMonthly').select('month').orderBy('month').execute()).map((r) => r.month)).toEqual(['2026-01', '2026-02']);
      expect((await db.selectFrom('adoptionSnapshots').select('period').orderBy('period').execute()).map((r) => r.period)).toEqual(['2026-01', '2026-02', '2026-03-29']);
    } finally {
      await kept.close();
    }
  });

  describe.each([
    { query: 'by=device', message: 'by' },
    { query: 'from=2026-02-10', message: 'from: 2026-02-10 is not in the current month (2026-03); earlier months are kept per month: use 2026-02' },
    { query: 'organization=nobody', message: 'nobody', status: 404 },
  ])('refuses $query', ({ query, message, status }) => {
    it('naming what is wrong', async () => {
      const r = await ds.request('GET', `/v3_5/admin/reports/adoption?${query}`, { token: admin });
      expect(r.status).toBe(status ?? 400);
      expect(r.body.description).toContain(message);
    });
  });
});
