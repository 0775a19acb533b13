import type { Rollout, RolloutEvent } from '@ds/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CounterScheduler } from '../counters/scheduler.js';
import { TestFleet } from '../test/fleet.js';
import { adminContext, type TestContext } from '../test/harness.js';
import { inWave } from './offer.js';

// Staged rollouts and organization policies through the admin API, with devices answered by the
// real message pipeline (test/fleet.ts) and the clock moved, on both dialects.

let ctx: TestContext;
let admin: string;
let fleet: TestFleet;
const HOUR = 3600_000;
const ROLLOUT = '/v3_5/admin/versions/3.10.0/rollout';
const installers = [{ os: 'win64', uri: 'https://cdn.example.test/t1c-win64.exe' }];

async function putVersion(id: string, body: Record<string, unknown> = {}) {
  const res = await ctx.request('PUT', `/v3_5/admin/versions/${id}`, { token: admin, body: { installers, ...body } });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
}

async function status(): Promise<Rollout> {
  const res = await ctx.request('GET', ROLLOUT, { token: admin });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data as Rollout;
}

async function history(): Promise<RolloutEvent[]> {
  const res = await ctx.request('GET', `${ROLLOUT}/history`, { token: admin });
  expect(res.status).toBe(200);
  return res.body.data as RolloutEvent[];
}

/** The rollout as stored: what the scheduler did, before a status read (which evaluates it too) could do it. */
const stored = () => ctx.database.db.selectFrom('rollouts').select(['state', 'waveIndex']).where('versionId', '=', '3.10.0').executeTakeFirstOrThrow();

async function start(body: Record<string, unknown> = {}) {
  const res = await ctx.request('PUT', ROLLOUT, { token: admin, body: { waves: [5, 25, 100], ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data as Rollout;
}

/** The devices offered 3.10.0 update to it: they report it at their next sync (`failing` of them with ERROR). */
async function update(ids: string[], failing = 0) {
  for (const [i, id] of ids.entries()) await fleet.sync(id, { version: '3.10.0', status: i < failing ? 'ERROR' : 'ACTIVE' });
}

/** Moves the clock (and logs in again: a session lasts hours, the test days). */
async function advance(ms: number) {
  ctx.clock.advance(ms);
  admin = await ctx.login();
}

async function setClock(time: string) {
  ctx.clock.set(time);
  admin = await ctx.login();
}

/** The updated devices sync once more (a live fleet does every hour): they are not silent. */
async function syncUpdated() {
  const rows = await ctx.database.db.selectFrom('devices').select('id').where('version', '=', '3.10.0').execute();
  for (const { id } of rows) await fleet.sync(id);
}

/** The devices inside the first wave (5 %) check their version: each is offered 3.10.0. */
async function offerFirstWave(): Promise<string[]> {
  const inside = fleet.ids.filter((id) => inWave(id, '3.10.0', 5));
  expect(await fleet.checkAll('3.10.0', inside)).toEqual(inside);
  return inside;
}

/** The devices not in `ids`, every `step`-th (a sample: each check is a real message). */
const othersThan = (ids: string[], step = 5) => fleet.ids.filter((id) => !ids.includes(id)).filter((_, i) => i % step === 0);

beforeEach(async () => {
  ({ ctx, admin } = await adminContext());
  await putVersion('3.9.0', { recommended: true });
  await putVersion('3.10.0');
  fleet = new TestFleet(ctx);
});
afterEach(async () => ctx.close());

describe('a rollout of 3.10.0 to 500 devices on 3.9.0, waves 5, 25, 100', () => {
  beforeEach(async () => {
    await fleet.add(500, '3.9.0');
  });

  it('offers the first wave to 5 % of the devices within binomial bounds, and to no device outside it', async () => {
    const started = await start();
    expect(started).toMatchObject({ state: 'active', waves: [5, 25, 100], waveIndex: 0, percent: 5, waveHoldSeconds: 86400, maxFailureRate: 0.02 });
    const offered = await fleet.checkAll('3.10.0');
    // 500 trials at p = 0.05: mean 25, standard deviation 4.9; 4 deviations either side.
    expect(offered.length).toBeGreaterThan(25 - 4 * 4.9);
    expect(offered.length).toBeLessThan(25 + 4 * 4.9);
    for (const id of fleet.ids) expect(offered.includes(id), id).toBe(inWave(id, '3.10.0', 5));
    const inside = await fleet.check(offered[0]!);
    expect(inside).toMatchObject({ action: 'RECOMMENDED', latest: { id: '3.10.0' }, downloadUri: 'https://ds.example.test/v3_5/downloads/installers/win64/versions/3.10.0' });
    // The answer lists the offered version's own installers, though it is nobody's public latest.
    expect(inside.latest!.uris).toEqual([{ os: 'WIN64', uri: 'https://ds.example.test/v3_5/downloads/installers/win64/versions/3.10.0' }]);
    const outside = await fleet.check(fleet.ids.find((id) => !offered.includes(id))!);
    expect(outside).toMatchObject({ action: 'NONE', latest: { id: '3.9.0' } });
    // Everyone's "latest" stays 3.9.0 until the rollout completes.
    expect((await ctx.request('GET', '/v3_5/system/status')).body.data.latestVersion).toBe('3.9.0');
    expect((await status()).gate).toMatchObject({ offered: offered.length, updated: 0, failed: 0, stuck: 0, failureRate: null, tripped: false });
    const [first] = await history();
    expect(first).toMatchObject({ kind: 'started', actor: 'admin', actorKind: 'user', fromPercent: 0, toPercent: 5 });
  });

  it('pauses itself when 30 % of the updated devices fail; then offers 3.10.0 to nobody and shows the numbers that tripped it', async () => {
    await start({ minSample: 10 });
    const offered = await offerFirstWave();
    const failing = Math.ceil(offered.length * 0.3);
    await update(offered, failing);
    await new CounterScheduler(ctx.app.services).tick();
    expect(await stored()).toMatchObject({ state: 'paused', waveIndex: 0 });
    const paused = await status();
    expect(paused.state).toBe('paused');
    expect(paused.percent).toBe(0);
    expect(paused.gate).toMatchObject({ offered: offered.length, updated: offered.length, failed: failing, tripped: true });
    expect(paused.gate.failureRate).toBeCloseTo(failing / offered.length);
    expect(paused.pausedReason).toContain(`${failing} of ${offered.length} updated devices failed`);
    const event = (await history()).at(-1)!;
    expect(event).toMatchObject({ kind: 'paused', actor: 'health gate', actorKind: 'health-gate', numbers: { updated: offered.length, failed: failing } });
    // No device is offered 3.10.0 any more; those that updated are left alone.
    expect(await fleet.checkAll('3.10.0', othersThan(offered))).toEqual([]);
    expect(await fleet.check(offered[0]!)).toMatchObject({ action: 'NONE' });
    // Time passing does not advance a paused rollout.
    await advance(48 * HOUR);
    expect((await status()).state).toBe('paused');

    // Resumed, the gate judges the devices offered from then on: it does not trip again on the same failures.
    const resumed = await ctx.request('POST', `${ROLLOUT}/resume`, { token: admin, body: { note: 'the ERRORs were a proxy outage' } });
    expect(resumed.status).toBe(200);
    expect(resumed.body.data).toMatchObject({ state: 'active', percent: 5, gate: { offered: 0, tripped: false } });
    expect((await status()).state).toBe('active');
    expect((await history()).at(-1)).toMatchObject({ kind: 'resumed', actor: 'admin', detail: 'the ERRORs were a proxy outage' });
  });

  it('the gate counts only devices DS offered the version: others reporting it with ERROR change nothing', async () => {
    await start({ minSample: 1 });
    const offered = await offerFirstWave();
    // Devices outside the wave, and one inside it that never asked (never offered), claim 3.10.0 and fail.
    const outside = othersThan(offered).slice(0, 5);
    const unasked = (await fleet.add(200, '3.9.0')).find((id) => inWave(id, '3.10.0', 5))!;
    for (const id of [...outside, unasked]) await fleet.sync(id, { version: '3.10.0', status: 'ERROR' });
    expect(await status()).toMatchObject({ state: 'active', gate: { offered: offered.length, updated: 0, failed: 0, tripped: false } });
    // A device registered on 3.10.0 itself (with its installation key) is never offered it.
    const [native] = await fleet.add(1, '3.10.0');
    expect(await fleet.check(native!)).toMatchObject({ action: 'NONE' });
    expect((await status()).gate.offered).toBe(offered.length);
  });

  it('advances by itself after each hold when the gate passes, reaches 100 % and makes 3.10.0 the recommended version', async () => {
    await start();
    const scheduler = new CounterScheduler(ctx.app.services);
    const wave1 = await offerFirstWave();
    await update(wave1);
    await advance(23 * HOUR);
    await syncUpdated();
    await scheduler.tick();
    expect(await stored()).toMatchObject({ state: 'active', waveIndex: 0 });
    await advance(1 * HOUR + 60_000);
    await syncUpdated();
    await scheduler.tick();
    // The scheduler moved it (read from the table: reading the status evaluates the rollout too).
    expect(await stored()).toMatchObject({ state: 'active', waveIndex: 1 });
    const second = await status();
    expect(second).toMatchObject({ state: 'active', waveIndex: 1, percent: 25, gate: { updated: wave1.length, failed: 0 } });
    expect(second.waveStats.map((w) => w.status)).toEqual(['done', 'current', 'pending']);
    expect(second.waveStats[0]).toMatchObject({ offered: wave1.length, updated: wave1.length });

    // The second wave: the devices inside 25 % are offered it (a sample of the others is not).
    const inside25 = fleet.ids.filter((id) => inWave(id, '3.10.0', 25) && !wave1.includes(id));
    const wave2 = await fleet.checkAll('3.10.0', inside25);
    expect(wave2).toEqual(inside25);
    expect(wave1.length + wave2.length).toBeGreaterThan(125 - 4 * 9.7);
    expect(wave1.length + wave2.length).toBeLessThan(125 + 4 * 9.7);
    expect(await fleet.checkAll('3.10.0', othersThan([...wave1, ...inside25], 10))).toEqual([]);
    await update(wave2);
    await advance(24 * HOUR + 60_000);
    await syncUpdated();
    await scheduler.tick();
    expect(await stored()).toMatchObject({ state: 'completed', waveIndex: 2 });
    const done = await status();
    expect(done).toMatchObject({ state: 'completed', percent: 100, nextWaveAt: null });
    expect(done.completedAt).not.toBeNull();
    expect((await ctx.request('GET', '/v3_5/admin/versions/3.10.0', { token: admin })).body.data.recommended).toBe(true);
    expect((await ctx.request('GET', '/v3_5/system/status')).body.data.latestVersion).toBe('3.10.0');
    expect((await history()).map((e) => [e.kind, e.actorKind, e.toPercent])).toEqual([
      ['started', 'user', 5],
      ['advanced', 'schedule', 25],
      ['advanced', 'schedule', 100],
      ['completed', 'schedule', 100],
    ]);
    // Now the devices still on 3.9.0 are offered it (a sample; ds simulate shows them all updating: rollouts.simulate.test.ts).
    const rest = fleet.ids.filter((id) => !wave1.includes(id) && !wave2.includes(id));
    expect(await fleet.check(rest[0]!)).toMatchObject({ action: 'RECOMMENDED', latest: { id: '3.10.0' } });
    const sample = rest.filter((_, i) => i % 5 === 0);
    expect(await fleet.checkAll('3.10.0', sample)).toEqual(sample);
  });

  it('abort drops it to 0 %: everyone not on 3.10.0 is offered the previous recommended version', async () => {
    await putVersion('3.8.0');
    const old = (await fleet.add(1, '3.8.0'))[0]!;
    await start();
    const offered = await offerFirstWave();
    await update(offered.slice(0, 3));
    const res = await ctx.request('POST', `${ROLLOUT}/abort`, { token: admin, body: { note: 'crash on start' } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ state: 'aborted', percent: 0 });
    expect(await fleet.checkAll('3.10.0', [...offered.slice(3), ...othersThan(offered)])).toEqual([]);
    expect(await fleet.check(offered[5]!)).toMatchObject({ action: 'NONE', latest: { id: '3.9.0' } });
    expect(await fleet.check(offered[0]!)).toMatchObject({ action: 'NONE', current: { id: '3.10.0' } });
    expect(await fleet.check(old)).toMatchObject({ action: 'RECOMMENDED', latest: { id: '3.9.0' } });
    expect((await history()).at(-1)).toMatchObject({ kind: 'aborted', fromPercent: 5, toPercent: 0, actor: 'admin', detail: 'crash on start' });
    // An aborted rollout can be started again, from its first wave.
    const again = await ctx.request('PUT', ROLLOUT, { token: admin, body: {} });
    expect(again.status).toBe(200);
    expect(again.body.data).toMatchObject({ state: 'active', percent: 5 });
  });
});

describe('the health gate and the state version checks read', () => {
  it('counts stuck devices (offered, still on the old version) and silent ones (updated, then no sync) as failed', async () => {
    await fleet.add(400, '3.9.0');
    // A limit of 100 %: the gate never trips here, the numbers are what is tested.
    await start({ maxFailureRate: 1, stuckAfter: 3 });
    const offered = await offerFirstWave();
    expect(offered.length).toBeGreaterThanOrEqual(8);
    const [healthy, silent, stuck] = [offered.slice(0, 3), offered.slice(3, 6), offered.slice(6)];
    await update([...healthy, ...silent]);
    expect((await status()).gate).toMatchObject({ offered: offered.length, updated: 6, failed: 0, stuck: 0 });
    // Three sync intervals (1 h each by default) later: the healthy ones synced, the silent ones did not.
    await advance(3 * HOUR + 60_000);
    for (const id of [...healthy, ...stuck]) await fleet.sync(id);
    const gate = (await status()).gate;
    expect(gate).toMatchObject({ offered: offered.length, updated: 6, failed: 3, stuck: stuck.length, failureRate: 0.5, tripped: false });
    // A silent device that syncs again is no longer failed.
    await fleet.sync(silent[0]!);
    expect((await status()).gate).toMatchObject({ failed: 2 });
  });

  it('version checks read rollouts from a copy refreshed every few seconds (no query per check), and at once after a change in this process', async () => {
    const cache = ctx.app.services.offerCache;
    const before = await cache.get(ctx.database.db);
    expect(before.anyActive).toBe(false);
    // Written behind this process's back (as another DS node would): not seen until the copy expires.
    const now = ctx.clock.now().toISOString();
    await ctx.database.db
      .insertInto('rollouts')
      .values({ versionId: '3.10.0', state: 'active', waves: '[5,100]', waveStarted: JSON.stringify([now, null]), waveIndex: 0, waveHoldSeconds: 3600, maxFailureBp: 200, minSample: 20, stuckAfter: 3, gateSince: now, pausedReason: null, revision: 1, startedAt: now, updatedAt: now, completedAt: null })
      .execute();
    expect(await cache.get(ctx.database.db)).toBe(before);
    ctx.clock.advance(5_000);
    const after = await cache.get(ctx.database.db);
    expect(after.anyActive).toBe(true);
    expect(after.rollouts.get('3.10.0')).toEqual({ versionId: '3.10.0', state: 'active', percent: 5, waveIndex: 0 });
    // A change made through this process is seen at once.
    admin = await ctx.login();
    expect((await ctx.request('POST', `${ROLLOUT}/pause`, { token: admin, body: {} })).status).toBe(200);
    expect((await cache.get(ctx.database.db)).rollouts.get('3.10.0')?.state).toBe('paused');
  });
});

describe('operating a rollout', () => {
  it('promote advances one wave; two promotes from the same state advance one wave, not two', async () => {
    await start();
    const read = await ctx.request('GET', ROLLOUT, { token: admin });
    const etag = read.headers.get('etag')!;
    expect(etag).toMatch(/^"/);
    const [a, b] = await Promise.all([
      ctx.request('POST', `${ROLLOUT}/promote`, { token: admin, body: {}, headers: { 'if-match': etag } }),
      ctx.request('POST', `${ROLLOUT}/promote`, { token: admin, body: {}, headers: { 'if-match': etag } }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 412]);
    expect((a.status === 412 ? a : b).body.code).toBe('PRECONDITION_FAILED');
    expect(await status()).toMatchObject({ waveIndex: 1, percent: 25 });
    const promoted = await ctx.request('POST', `${ROLLOUT}/promote`, { token: admin, body: {} });
    expect(promoted.body.data).toMatchObject({ state: 'completed', percent: 100 });
    expect((await history()).map((e) => `${e.kind}:${e.toPercent}`)).toEqual(['started:5', 'promoted:25', 'promoted:100', 'completed:100']);
    const again = await ctx.request('POST', `${ROLLOUT}/promote`, { token: admin, body: {} });
    expect(again.status).toBe(409);
    expect(again.body.description).toContain('completed');
  });

  it('pause and resume by an operator; promote of a paused rollout is refused', async () => {
    await start();
    const paused = await ctx.request('POST', `${ROLLOUT}/pause`, { token: admin, body: {} });
    expect(paused.body.data).toMatchObject({ state: 'paused', pausedReason: 'paused by admin' });
    expect((await ctx.request('POST', `${ROLLOUT}/pause`, { token: admin, body: {} })).status).toBe(409);
    const promote = await ctx.request('POST', `${ROLLOUT}/promote`, { token: admin, body: {} });
    expect(promote.status).toBe(409);
    expect(promote.body.description).toContain('resume it first');
    expect((await ctx.request('POST', `${ROLLOUT}/resume`, { token: admin, body: {} })).body.data.state).toBe('active');
  });

  it('a change of waves never grows the share offered', async () => {
    await start({ waves: [10, 50, 100] });
    await ctx.request('POST', `${ROLLOUT}/promote`, { token: admin, body: {} });
    const changed = await ctx.request('PUT', ROLLOUT, { token: admin, body: { waves: [5, 25, 75, 100], maxFailureRate: 0.05 } });
    expect(changed.status).toBe(200);
    expect(changed.body.data).toMatchObject({ waves: [5, 25, 75, 100], waveIndex: 1, percent: 25, maxFailureRate: 0.05 });
    expect((await history()).at(-1)).toMatchObject({ kind: 'changed', fromPercent: 50, toPercent: 25 });
    // Waves that all start above the share offered now would widen it: refused, nothing changed.
    const wider = await ctx.request('PUT', ROLLOUT, { token: admin, body: { waves: [100] } });
    expect(wider.status).toBe(400);
    expect(wider.body.description).toContain('a change never widens a rollout');
    expect(await status()).toMatchObject({ waves: [5, 25, 75, 100], percent: 25 });
  });

  it.each([
    [{ waves: [5, 3, 100] }, 'strictly increasing'],
    [{ waves: [5, 25] }, 'must end with 100'],
    [{ maxFailureRate: 2 }, 'between 0 and 1'],
    [{ maxFailureRate: 0.00001 }, 'steps of 0.0001'],
    [{ wavesTypo: [1] }, 'wavesTypo'],
  ])('refuses %j naming what is wrong', async (body, message) => {
    const res = await ctx.request('PUT', ROLLOUT, { token: admin, body });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain(message);
    expect((await ctx.request('GET', ROLLOUT, { token: admin })).status).toBe(404);
  });

  it('refuses to roll out a recommended or unknown version, and says when there is no rollout', async () => {
    const recommended = await ctx.request('PUT', '/v3_5/admin/versions/3.9.0/rollout', { token: admin, body: {} });
    expect(recommended.status).toBe(409);
    expect(recommended.body.description).toContain('already recommended');
    expect((await ctx.request('PUT', '/v3_5/admin/versions/9.9.9/rollout', { token: admin, body: {} })).status).toBe(404);
    const none = await ctx.request('GET', ROLLOUT, { token: admin });
    expect(none.status).toBe(404);
    expect(none.body.description).toContain('ds rollout start 3.10.0');
  });

  it('a user limited to an organization cannot start, promote or abort a rollout: it reaches every organization', async () => {
    await ctx.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} });
    const limited = await ctx.userToken('acme-admin', 'admin', 'acme');
    const res = await ctx.request('PUT', ROLLOUT, { token: limited, body: {} });
    expect(res.status).toBe(403);
    await start();
    for (const verb of ['promote', 'pause', 'abort']) {
      expect((await ctx.request('POST', `${ROLLOUT}/${verb}`, { token: limited, body: {} })).status).toBe(403);
    }
    expect(await status()).toMatchObject({ state: 'active', waveIndex: 0, revision: 1 });
    // It may read the rollout (versions are shared).
    expect((await ctx.request('GET', ROLLOUT, { token: limited })).status).toBe(200);
  });
});

describe('what a user limited to an organization reads of a rollout', () => {
  it("its own devices' numbers, the gate's verdict, and neither operators' names and notes nor the fleet's numbers", async () => {
    for (const [org, label] of [
      ['acme', 'acme-web'],
      ['globex', 'globex-web'],
    ]) {
      await ctx.request('PUT', `/v3_5/admin/organizations/${org}`, { token: admin, body: {} });
      await ctx.request('PUT', `/v3_5/admin/labels/${label}`, { token: admin, body: { organization: org } });
    }
    const acmeIds = await fleet.add(20, '3.9.0', ['acme-web']);
    const globexIds = await fleet.add(40, '3.9.0', ['globex-web']);
    await start({ waves: [50, 100], minSample: 1000 });
    const offered = await fleet.checkAll('3.10.0');
    const acmeOffered = offered.filter((id) => acmeIds.includes(id));
    expect(offered.filter((id) => globexIds.includes(id)).length).toBeGreaterThan(0);
    await update(offered, 2);
    const pause = await ctx.request('POST', `${ROLLOUT}/pause`, { token: admin, body: { note: 'globex reports crashes on its kiosks' } });
    expect(pause.status).toBe(200);

    const all = await status();
    expect(all.gate).toMatchObject({ offered: offered.length, updated: offered.length });
    const acme = await ctx.userToken('acme-viewer', 'viewer', 'acme');
    const res = await ctx.request('GET', ROLLOUT, { token: acme });
    expect(res.status).toBe(200);
    const limited = res.body.data as Rollout;
    expect(limited).toMatchObject({ state: 'paused', waves: [50, 100], percent: 0, pausedReason: 'paused by an operator' });
    expect(limited.gate).toMatchObject({ offered: acmeOffered.length, updated: acmeOffered.length, tripped: all.gate.tripped });
    expect(limited.waveStats[0]).toMatchObject({ offered: acmeOffered.length });

    const events = await ctx.request('GET', `${ROLLOUT}/history`, { token: acme });
    expect(events.status).toBe(200);
    const text = JSON.stringify(events.body.data);
    expect(text).not.toContain('admin');
    expect(text).not.toContain('globex');
    expect(events.body.data).toEqual([
      expect.objectContaining({ kind: 'started', actor: 'an operator', actorKind: 'user', numbers: null }),
      expect.objectContaining({ kind: 'paused', actor: 'an operator', actorKind: 'user', numbers: null, detail: null }),
    ]);
    // Users who see all of DS still read everything.
    expect((await history())[1]).toMatchObject({ actor: 'admin', detail: 'globex reports crashes on its kiosks', numbers: { offered: offered.length } });
  });
});

describe('organization update policy', () => {
  let device: string;
  const POLICY = '/v3_5/admin/organizations/acme/policy';

  beforeEach(async () => {
    for (const org of ['acme', 'globex']) await ctx.request('PUT', `/v3_5/admin/organizations/${org}`, { token: admin, body: {} });
    await ctx.request('PUT', '/v3_5/admin/labels/acme-web', { token: admin, body: { organization: 'acme' } });
    await ctx.request('PUT', '/v3_5/admin/labels/globex-web', { token: admin, body: { organization: 'globex' } });
    await putVersion('3.10.0', { recommended: true });
    device = (await fleet.add(1, '3.9.0', ['acme-web']))[0]!;
  });

  it('a hold keeps the devices of the organization within its range; clearing it lets the update through', async () => {
    expect(await fleet.check(device)).toMatchObject({ action: 'RECOMMENDED', latest: { id: '3.10.0' } });
    const set = await ctx.request('PUT', POLICY, { token: admin, body: { hold: '<3.10' } });
    expect(set.status).toBe(200);
    expect(set.body.data).toMatchObject({ organization: 'acme', hold: '<3.10', window: null, prereleases: false, updatedBy: 'admin' });
    expect(await fleet.check(device)).toMatchObject({ action: 'NONE', latest: { id: '3.9.0' } });
    await putVersion('3.9.5');
    expect(await fleet.check(device)).toMatchObject({ action: 'UPDATE_AVAILABLE', latest: { id: '3.9.5' } });
    // A device of another organization is not held.
    const other = (await fleet.add(1, '3.9.0', ['globex-web']))[0]!;
    expect(await fleet.check(other)).toMatchObject({ action: 'RECOMMENDED', latest: { id: '3.10.0' } });
    // A mandatory version overrides the hold.
    await putVersion('3.10.1', { mandatory: true });
    expect(await fleet.check(device)).toMatchObject({ action: 'MANDATORY', latest: { id: '3.10.1' } });
    expect((await ctx.request('DELETE', POLICY, { token: admin })).body.data).toMatchObject({ hold: null, window: null });
    expect((await ctx.request('GET', POLICY, { token: admin })).body.data).toMatchObject({ hold: null, updatedAt: null });
  });

  it('a maintenance window holds non-mandatory updates until it opens, in its own time zone', async () => {
    // The test clock starts on Sunday 2026-03-15 10:00 UTC.
    const set = await ctx.request('PUT', POLICY, { token: admin, body: { window: 'sat 2:00-06:00 Europe/Brussels' } });
    expect(set.body.data.window).toBe('Sat 02:00-06:00 Europe/Brussels');
    expect(await fleet.check(device)).toMatchObject({ action: 'NONE' });
    await setClock('2026-03-21T01:30:00Z'); // Saturday 02:30 in Brussels
    expect(await fleet.check(device)).toMatchObject({ action: 'RECOMMENDED', latest: { id: '3.10.0' } });
    await setClock('2026-03-21T05:30:00Z'); // Saturday 06:30 in Brussels
    expect(await fleet.check(device)).toMatchObject({ action: 'NONE' });
    await putVersion('3.10.1', { mandatory: true });
    expect(await fleet.check(device)).toMatchObject({ action: 'MANDATORY', latest: { id: '3.10.1' } });
    // Setting the hold keeps the window (absent fields keep their value).
    expect((await ctx.request('PUT', POLICY, { token: admin, body: { hold: '~3.9' } })).body.data).toMatchObject({ hold: '~3.9', window: 'Sat 02:00-06:00 Europe/Brussels' });
  });

  it('pre-releases reach the devices of an organization that opted in', async () => {
    await putVersion('3.11.0-beta.1');
    expect(await fleet.check(device)).toMatchObject({ latest: { id: '3.10.0' } });
    await ctx.request('PUT', POLICY, { token: admin, body: { prereleases: true } });
    const check = await fleet.check(device);
    expect(check).toMatchObject({ action: 'UPDATE_AVAILABLE', latest: { id: '3.11.0-beta.1' } });
    expect(check.latest!.uris).toEqual([{ os: 'WIN64', uri: 'https://ds.example.test/v3_5/downloads/installers/win64/versions/3.11.0-beta.1' }]);
  });

  it("one organization's opt-in never brings pre-releases to a device it shares with an organization that has no policy", async () => {
    await putVersion('3.11.0-beta.1');
    const shared = (await fleet.add(1, '3.9.0', ['acme-web', 'globex-web']))[0]!;
    // acme's own admin opts acme in; globex has no policy at all (so it never opted in).
    const acme = await ctx.userToken('acme-admin', 'admin', 'acme');
    expect((await ctx.request('PUT', POLICY, { token: acme, body: { prereleases: true } })).status).toBe(200);
    expect(await fleet.check(device)).toMatchObject({ latest: { id: '3.11.0-beta.1' } });
    expect(await fleet.check(shared)).toMatchObject({ action: 'RECOMMENDED', latest: { id: '3.10.0' } });
    // Once globex opts in too, the shared device gets them.
    await ctx.request('PUT', '/v3_5/admin/organizations/globex/policy', { token: admin, body: { prereleases: true } });
    expect(await fleet.check(shared)).toMatchObject({ latest: { id: '3.11.0-beta.1' } });
  });

  it.each([
    [{ hold: 'banana' }, 'hold: "banana" is not a version range'],
    [{ hold: '>4 <3' }, 'matches no version'],
    [{ window: 'Sat 02:00-06:00 Mars/Olympus' }, 'window: "Mars/Olympus" is not a time zone'],
    [{ window: 'Sat 02:00-06:00' }, 'must be "<days> HH:MM-HH:MM <time zone>"'],
  ])('refuses %j naming what is wrong', async (body, message) => {
    const res = await ctx.request('PUT', POLICY, { token: admin, body });
    expect(res.status).toBe(400);
    expect(res.body.description).toContain(message);
    expect((await ctx.request('GET', POLICY, { token: admin })).body.data.updatedAt).toBeNull();
  });

  it("a user limited to an organization sets its own organization's policy, never another's", async () => {
    const acme = await ctx.userToken('acme-admin', 'admin', 'acme');
    const own = await ctx.request('PUT', POLICY, { token: acme, body: { hold: '<3.10' } });
    expect(own.status).toBe(200);
    expect(own.body.data.updatedBy).toBe('acme-admin');
    const other = await ctx.request('PUT', '/v3_5/admin/organizations/globex/policy', { token: acme, body: { hold: '<3.0' } });
    expect(other.status).toBe(403);
    expect((await ctx.request('DELETE', '/v3_5/admin/organizations/globex/policy', { token: acme })).status).toBe(403);
    expect((await ctx.request('GET', '/v3_5/admin/organizations/globex/policy', { token: admin })).body.data.hold).toBeNull();
    // A viewer reads it but cannot change it.
    const viewer = await ctx.userToken('acme-viewer', 'viewer', 'acme');
    expect((await ctx.request('GET', POLICY, { token: viewer })).body.data.hold).toBe('<3.10');
    const refused = await ctx.request('PUT', POLICY, { token: viewer, body: { hold: null } });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('INSUFFICIENT_SCOPE');
    expect((await ctx.request('GET', POLICY, { token: admin })).body.data.hold).toBe('<3.10');
  });
});
