import { describe, expect, it } from 'vitest';
import type { VersionRow } from '../db/types.js';
import { semverSortKey } from '../lib/semver.js';
import { decideOffer, devicePlace, inWave, type OfferInput, type OfferPolicy, type OfferRollout, type OfferVersion } from './offer.js';
import { parseWindow } from './window.js';

const NOW = new Date('2026-03-18T12:00:00Z'); // a Wednesday

function version(id: string, flags: { recommended?: boolean; mandatory?: boolean; allowed?: boolean; oses?: string[] } = {}): OfferVersion {
  const row: VersionRow = {
    id,
    sortKey: semverSortKey(id),
    recommended: flags.recommended ? 1 : 0,
    mandatory: flags.mandatory ? 1 : 0,
    allowed: flags.allowed === false ? 0 : 1,
    releaseNotes: null,
    contextConfig: null,
    sslKeystoreConfig: null,
    publishedAt: NOW.toISOString(),
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
  };
  return { row, oses: new Set(flags.oses ?? ['WIN64', 'LINUX64']) };
}

const rollout = (versionId: string, percent: number, state: OfferRollout['state'] = 'active'): [string, OfferRollout] => [versionId, { versionId, state, percent, waveIndex: 0 }];
const policy = (p: Partial<OfferPolicy>): OfferPolicy => ({ organization: 'acme', hold: null, window: null, prereleases: false, ...p });

function decide(input: Partial<OfferInput> & { versions: OfferVersion[] }) {
  const d = decideOffer({ deviceId: 'device-1', currentId: '3.9.0', os: 'WIN64', rollouts: new Map(), policies: [], now: NOW, ...input });
  return { action: d.action, latest: d.latest?.id, rollout: d.rollout?.versionId };
}

/** Device ids inside and outside a wave of `percent` % of `versionId`. */
function devicesFor(versionId: string, percent: number) {
  let inside: string | undefined;
  let outside: string | undefined;
  for (let i = 0; (!inside || !outside) && i < 10_000; i++) {
    const id = `device-${i}`;
    if (inWave(id, versionId, percent)) inside ??= id;
    else outside ??= id;
  }
  return { inside: inside!, outside: outside! };
}

describe('device place', () => {
  it('is stable, in 0..9999, and differs between versions', () => {
    expect(devicePlace('a', '3.10.0')).toBe(devicePlace('a', '3.10.0'));
    const places = Array.from({ length: 2000 }, (_, i) => devicePlace(`d${i}`, '3.10.0'));
    expect(Math.min(...places)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...places)).toBeLessThan(10_000);
    const other = Array.from({ length: 2000 }, (_, i) => devicePlace(`d${i}`, '3.11.0'));
    expect(places.filter((p, i) => p === other[i]).length).toBeLessThan(10);
  });

  it('puts about the wave share of devices inside a wave (binomial bounds), and a larger wave contains a smaller one', () => {
    const n = 10_000;
    const ids = Array.from({ length: n }, (_, i) => `device-${i}`);
    for (const percent of [1, 5, 25]) {
      const inside = ids.filter((id) => inWave(id, '3.10.0', percent)).length;
      const p = percent / 100;
      const sd = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(inside - n * p)).toBeLessThan(4 * sd);
    }
    expect(ids.filter((id) => inWave(id, '3.10.0', 5) && !inWave(id, '3.10.0', 25))).toEqual([]);
    expect(inWave('x', '3.10.0', 100)).toBe(true);
    expect(inWave('x', '3.10.0', 0)).toBe(false);
  });
});

describe('decideOffer without rollouts or policies (as before)', () => {
  const versions = [version('3.8.1'), version('3.9.0', { recommended: true }), version('3.9.1'), version('3.10.0-beta.1')];
  it.each([
    ['3.8.1', 'UPDATE_AVAILABLE', '3.9.1'],
    ['3.9.1', 'NONE', '3.9.1'],
    ['4.0.0', 'NONE', '3.9.1'],
  ])('a device on %s: %s %s (a pre-release that is not recommended is never latest)', (currentId, action, latest) => {
    expect(decide({ currentId, versions })).toEqual({ action, latest, rollout: undefined });
  });

  it('RECOMMENDED and MANDATORY follow the latest; NOT_ALLOWED wins', () => {
    expect(decide({ currentId: '3.8.1', versions: [version('3.8.1'), version('3.9.0', { recommended: true })] }).action).toBe('RECOMMENDED');
    expect(decide({ currentId: '3.8.1', versions: [version('3.8.1'), version('3.9.0', { mandatory: true })] }).action).toBe('MANDATORY');
    expect(decide({ currentId: '3.8.1', versions: [version('3.8.1', { allowed: false }), version('3.9.0', { mandatory: true })] })).toMatchObject({
      action: 'NOT_ALLOWED',
      latest: '3.9.0',
    });
  });

  it('only versions with an installer for the device os', () => {
    const vs = [version('3.8.1'), version('3.9.0', { recommended: true, oses: ['WIN64'] })];
    expect(decide({ currentId: '3.8.1', os: 'LINUX64', versions: vs })).toMatchObject({ action: 'NONE', latest: '3.8.1' });
    expect(decide({ currentId: '3.8.1', os: null, versions: vs })).toMatchObject({ action: 'RECOMMENDED', latest: '3.9.0' });
  });

  it('gives the same answer on every version as on the current and the public latest alone (the fast path)', () => {
    const all = [version('3.7.0'), version('3.8.1', { allowed: false }), version('3.9.0', { recommended: true }), version('3.9.1', { mandatory: true }), version('3.10.0-rc.1')];
    const publicLatest = all[3]!;
    for (const currentId of ['3.7.0', '3.8.1', '3.9.0', '3.9.1', '3.10.0-rc.1', '3.6.0']) {
      const current = all.filter((v) => v.row.id === currentId);
      expect(decide({ currentId, versions: [...current, publicLatest] }), currentId).toEqual(decide({ currentId, versions: all }));
    }
  });
});

describe('decideOffer with a rollout', () => {
  const versions = [version('3.9.0', { recommended: true }), version('3.10.0')];
  const { inside, outside } = devicesFor('3.10.0', 5);

  it('offers the version as recommended inside the current wave, the previous recommended one outside', () => {
    const rollouts = new Map([rollout('3.10.0', 5)]);
    expect(decide({ deviceId: inside, versions, rollouts })).toEqual({ action: 'RECOMMENDED', latest: '3.10.0', rollout: '3.10.0' });
    expect(decide({ deviceId: outside, versions, rollouts })).toEqual({ action: 'NONE', latest: '3.9.0', rollout: undefined });
    expect(decide({ deviceId: outside, currentId: '3.8.0', versions, rollouts })).toEqual({ action: 'RECOMMENDED', latest: '3.9.0', rollout: undefined });
  });

  it('offers a mandatory version in rollout as mandatory, inside the wave only', () => {
    const vs = [version('3.9.0', { recommended: true }), version('3.10.0', { mandatory: true })];
    const rollouts = new Map([rollout('3.10.0', 5)]);
    expect(decide({ deviceId: inside, versions: vs, rollouts }).action).toBe('MANDATORY');
    expect(decide({ deviceId: outside, versions: vs, rollouts }).action).toBe('NONE');
  });

  it.each(['paused', 'aborted'] as const)('offers it to nobody while %s; a device that updated is left alone', (state) => {
    const rollouts = new Map([rollout('3.10.0', 5, state)]);
    expect(decide({ deviceId: inside, versions, rollouts })).toMatchObject({ action: 'NONE', latest: '3.9.0' });
    expect(decide({ deviceId: inside, currentId: '3.10.0', versions, rollouts })).toMatchObject({ action: 'NONE' });
  });

  it('a rolled-out pre-release reaches the devices of its wave only', () => {
    const vs = [version('3.9.0', { recommended: true }), version('3.10.0-beta.1')];
    const { inside: i, outside: o } = devicesFor('3.10.0-beta.1', 25);
    const rollouts = new Map([rollout('3.10.0-beta.1', 25)]);
    expect(decide({ deviceId: i, versions: vs, rollouts }).latest).toBe('3.10.0-beta.1');
    expect(decide({ deviceId: o, versions: vs, rollouts }).latest).toBe('3.9.0');
  });
});

describe('decideOffer with organization policies', () => {
  const versions = [version('3.9.0'), version('3.9.4'), version('3.10.0', { recommended: true })];

  it('a hold keeps devices within its range', () => {
    expect(decide({ versions, policies: [policy({ hold: '<3.10' })] })).toMatchObject({ action: 'UPDATE_AVAILABLE', latest: '3.9.4' });
    expect(decide({ versions, policies: [policy({ hold: '~3.9' })] })).toMatchObject({ latest: '3.9.4' });
    expect(decide({ versions, policies: [policy({ hold: '3.9.0' })] })).toMatchObject({ action: 'NONE' });
  });

  it('a closed window holds every update that is not mandatory; an open one lets it through', () => {
    const saturday = parseWindow('Sat 02:00-06:00 Europe/Brussels');
    expect(decide({ versions, policies: [policy({ window: saturday })] })).toMatchObject({ action: 'NONE' });
    const open = new Date('2026-03-21T02:30:00Z'); // Saturday 03:30 in Brussels (CET)
    expect(decide({ versions, policies: [policy({ window: saturday })], now: open })).toMatchObject({ action: 'RECOMMENDED', latest: '3.10.0' });
  });

  it('mandatory versions override holds and windows', () => {
    const vs = [version('3.9.0'), version('3.10.0', { mandatory: true }), version('3.11.0', { recommended: true })];
    const policies = [policy({ hold: '<3.10', window: parseWindow('Sat 02:00-06:00 UTC') })];
    expect(decide({ versions: vs, policies })).toMatchObject({ action: 'MANDATORY', latest: '3.10.0' });
  });

  it('a version that is no longer allowed overrides them too: the highest within the hold, else the highest', () => {
    const vs = [version('3.9.0', { allowed: false }), version('3.9.4'), version('3.10.0', { recommended: true })];
    const window = parseWindow('Sat 02:00-06:00 UTC');
    expect(decide({ versions: vs, policies: [policy({ hold: '<3.10', window })] })).toMatchObject({ action: 'NOT_ALLOWED', latest: '3.9.4' });
    expect(decide({ versions: vs, policies: [policy({ hold: '<3.9.0', window })] })).toMatchObject({ action: 'NOT_ALLOWED', latest: '3.10.0' });
  });

  it('a device serving several organizations follows the most conservative: every hold, every window, pre-releases only when all opted in', () => {
    expect(decide({ versions, policies: [policy({ hold: '<3.10' }), policy({ organization: 'beta', hold: '<3.9.3' })] })).toMatchObject({ action: 'NONE' });
    const vs = [version('3.9.0'), version('3.10.0-beta.1')];
    expect(decide({ versions: vs, policies: [policy({ prereleases: true })] }).latest).toBe('3.10.0-beta.1');
    expect(decide({ versions: vs, policies: [policy({ prereleases: true }), policy({ organization: 'beta' })] }).latest).toBe('3.9.0');
    const always = parseWindow('daily 00:00-24:00 UTC');
    const never = parseWindow('Sat 02:00-03:00 UTC');
    expect(decide({ versions, policies: [policy({ window: always })] }).action).toBe('RECOMMENDED');
    expect(decide({ versions, policies: [policy({ window: always }), policy({ organization: 'beta', window: never })] }).action).toBe('NONE');
  });

  it('a hold applies to a rollout too: a held device is not offered the version even inside the wave', () => {
    const vs = [version('3.9.0', { recommended: true }), version('3.10.0')];
    const { inside } = devicesFor('3.10.0', 50);
    const rollouts = new Map([rollout('3.10.0', 50)]);
    expect(decide({ deviceId: inside, versions: vs, rollouts, policies: [policy({ hold: '<3.10' })] })).toMatchObject({ action: 'NONE', rollout: undefined });
  });
});
