import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Rollout, RolloutEvent } from '@ds/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeTempDirs, runDs } from '../../../cli/src/test/harness.js';
import { appFetch } from '../test/devices.js';
import { adminContext, schedulerClock, type TestContext } from '../test/harness.js';
import { inWave } from './offer.js';

// Issue 13, "Tests that show it": `ds simulate` devices (real device clients: registration, signed
// and encrypted version checks and syncs, installers downloaded through DS and checked) against
// this DS, rolled out to with `ds rollout`, hours passing on the shared fake clock. Each time the
// simulated devices have all paused, the clock moves and DS's scheduler runs, as it would every
// minute. On both dialects.

const URL = 'https://ds.example.test';
const OSES = ['win32', 'win64', 'macos', 'macosarm', 'linux32', 'linux64'] as const;
const HOUR = 3600_000;
let ds: TestContext;
let admin: string;
let installationKey: string;

/** A version with a real installer file per OS under DS's installer root. */
async function putVersion(id: string, body: Record<string, unknown>) {
  const installers = [];
  for (const os of OSES) {
    const bytes = randomBytes(2000 + OSES.indexOf(os));
    const path = join(ds.installerRoot, `t1c-${id}-${os}.bin`);
    await writeFile(path, bytes);
    installers.push({ os, uri: pathToFileURL(path).href, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  const r = await ds.request('PUT', `/v3_5/admin/versions/${id}`, { token: admin, body: { installers, ...body } });
  if (r.status !== 201 && r.status !== 200) throw new Error(JSON.stringify(r.body));
  return r.body.data;
}

/** `ds ...` against this DS, its clock moved by the simulation (then the scheduler runs). */
async function ds_(args: string[]) {
  const clock = schedulerClock(ds);
  return runDs(['--url', URL, ...args], { env: { DS_TOKEN: admin }, overrides: { fetch: appFetch(ds), clock, stderrTerminal: false } });
}

async function simulate(args: string[]) {
  const r = await ds_(['simulate', '--installation-key', installationKey, '--key-type', 'ec', '--labels', 'acme-web', '--concurrency', '16', '--interval', '1h', '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { versions: Record<string, number>; updatesInstalled: number; updateFailures: number };
}

async function status(): Promise<Rollout> {
  const r = await ds_(['rollout', 'status', '3.10.0', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Rollout;
}

async function history(): Promise<RolloutEvent[]> {
  const r = await ds_(['rollout', 'history', '3.10.0', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RolloutEvent[];
}

const devices = () => ds.database.db.selectFrom('devices').select(['id', 'version', 'status']).execute();
const offers = () => ds.database.db.selectFrom('rolloutOffers').select(['deviceId', 'offeredAt', 'waveIndex']).execute();

beforeEach(async () => {
  // 500 devices register from this one address within the hour: above the default limit of 300.
  ({ ctx: ds, admin } = await adminContext({ configOverrides: { DS_REGISTRATIONS_PER_ADDRESS_PER_HOUR: '1000' } }));
  // The admin's session lasts 12 hours: longer than each simulation below.
  await ds.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} });
  await ds.request('PUT', '/v3_5/admin/labels/acme-web', { token: admin, body: { organization: 'acme' } });
  installationKey = (await putVersion('3.9.0', { recommended: true })).installationApiKey;
  await putVersion('3.10.0', {});
});
afterEach(async () => {
  await ds.close();
  await removeTempDirs();
});

describe('500 simulated devices on 3.9.0, a rollout of 3.10.0 in waves 5, 25, 100', () => {
  it('offers the first wave to 5 % within binomial bounds and to no device outside it; with 30 % failing, the gate pauses it in the first wave', async () => {
    const started = await ds_(['rollout', 'start', '3.10.0', '--waves', '5,25,100', '--wave-hold', '24h', '--min-sample', '10']);
    expect(started.code, started.stderr).toBe(0);
    const summary = await simulate(['--devices', '500', '--syncs', '3', '--seed', '13', '--fail-version', '3.10.0', '--fail-rate', '30%', '--error-rate', '0']);

    const all = await devices();
    expect(all).toHaveLength(500);
    const offered = await offers();
    // 500 trials at p = 0.05: mean 25, standard deviation 4.9; 4 deviations either side.
    expect(offered.length).toBeGreaterThan(25 - 4 * 4.9);
    expect(offered.length).toBeLessThan(25 + 4 * 4.9);
    // Offered only inside the wave, and every device inside it was offered at its first check.
    for (const d of all) expect(offered.some((o) => o.deviceId === d.id), d.id).toBe(inWave(d.id, '3.10.0', 5));
    const updated = all.filter((d) => d.version === '3.10.0');
    expect(updated).toHaveLength(offered.length);
    expect(summary.versions).toEqual({ '3.9.0': 500 - offered.length, '3.10.0': offered.length });
    const failing = updated.filter((d) => d.status === 'ERROR');
    expect(failing.length).toBeGreaterThan(0);

    // The gate paused it at the first scheduler run after the updated devices reported: no device
    // was offered 3.10.0 after that.
    const rollout = await status();
    expect(rollout).toMatchObject({ state: 'paused', percent: 0, waveIndex: 0 });
    expect(rollout.gate).toMatchObject({ offered: offered.length, updated: offered.length, failed: failing.length, tripped: true });
    expect(rollout.pausedReason).toContain(`${failing.length} of ${offered.length} updated devices failed`);
    const paused = (await history()).at(-1)!;
    expect(paused).toMatchObject({ kind: 'paused', actor: 'health gate', numbers: { offered: offered.length, updated: offered.length, failed: failing.length } });
    expect(paused.at).toBe(new Date(new Date(rollout.startedAt).getTime() + HOUR).toISOString());
    for (const o of offered) expect(o.offeredAt < paused.at).toBe(true);
    // The devices that updated were left alone: they still run 3.10.0.
    expect(updated.every((d) => inWave(d.id, '3.10.0', 5))).toBe(true);
  }, 480_000);

  it('with no failures the rollout advances by itself, reaches 100 %, makes 3.10.0 recommended, and every device ends on it', async () => {
    const started = await ds_(['rollout', 'start', '3.10.0', '--waves', '5,25,100', '--wave-hold', '2h']);
    expect(started.code, started.stderr).toBe(0);
    const summary = await simulate(['--devices', '500', '--syncs', '5', '--seed', '21', '--error-rate', '0']);
    expect(summary).toMatchObject({ versions: { '3.10.0': 500 }, updatesInstalled: 500, updateFailures: 0 });
    expect((await devices()).every((d) => d.version === '3.10.0')).toBe(true);

    const rollout = await status();
    expect(rollout).toMatchObject({ state: 'completed', percent: 100 });
    expect(rollout.waveStats.map((w) => w.status)).toEqual(['done', 'done', 'done']);
    expect(rollout.waveStats[0]!.offered).toBeGreaterThan(25 - 4 * 4.9);
    expect(rollout.waveStats[0]!.offered).toBeLessThan(25 + 4 * 4.9);
    expect(rollout.waveStats[1]!.offered + rollout.waveStats[0]!.offered).toBeGreaterThan(125 - 4 * 9.7);
    expect(rollout.waveStats[1]!.offered + rollout.waveStats[0]!.offered).toBeLessThan(125 + 4 * 9.7);
    expect((await history()).map((e) => [e.kind, e.actorKind, e.toPercent])).toEqual([
      ['started', 'user', 5],
      ['advanced', 'schedule', 25],
      ['advanced', 'schedule', 100],
      ['completed', 'schedule', 100],
    ]);
    const version = await ds.request('GET', '/v3_5/admin/versions/3.10.0', { token: admin });
    expect(version.body.data.recommended).toBe(true);
    expect((await ds.request('GET', '/v3_5/system/status')).body.data.latestVersion).toBe('3.10.0');
  }, 480_000);
});
