import type { VersionAction } from '@ds/shared';
import { createHash } from 'node:crypto';
import semver from 'semver';
import type { VersionRow } from '../db/types.js';
import { isPrerelease, semverSortKey } from '../lib/semver.js';
import { isWindowOpen, type MaintenanceWindow } from './window.js';

/** A version as the offer decision sees it: its row and the os values it has installers for (upper case). */
export interface OfferVersion {
  row: VersionRow;
  oses: ReadonlySet<string>;
}

/** A rollout that is not completed: what share of devices its version is offered to now. */
export interface OfferRollout {
  versionId: string;
  state: 'active' | 'paused' | 'aborted';
  /** The current wave's percentage (offered only while active). */
  percent: number;
  waveIndex: number;
}

/** One organization's update policy, parsed. */
export interface OfferPolicy {
  organization: string;
  /** A semver range the organization's devices stay within, or null. */
  hold: string | null;
  window: MaintenanceWindow | null;
  prereleases: boolean;
}

export interface OfferInput {
  deviceId: string;
  /** The version the device runs. */
  currentId: string;
  /** The installer os of the device (WIN64 ...), null when DS cannot tell: then judged against every version. */
  os: string | null;
  /**
   * The versions that may be offered, plus the current one when DS knows it: every version, or
   * (no rollout in progress, no policy for the device) just the current and the public "latest".
   */
  versions: readonly OfferVersion[];
  /** Rollouts not completed, by version id. */
  rollouts: ReadonlyMap<string, OfferRollout>;
  /** The policies of the organizations the device serves. */
  policies: readonly OfferPolicy[];
  now: Date;
}

export interface OfferDecision {
  action: VersionAction;
  current: VersionRow | undefined;
  /** The version the device is told about (`latest` of the answer); undefined: none. */
  latest: VersionRow | undefined;
  /** Set when `latest` is a version in rollout offered to this device (an offer to record). */
  rollout?: { versionId: string; waveIndex: number };
}

/**
 * A device's place for a version: the first 4 bytes of SHA-256(device id, version) modulo 10 000.
 * Stable, decided by DS alone, and independent between versions, so the 1 % of one rollout is not
 * the 1 % of every rollout.
 */
export function devicePlace(deviceId: string, versionId: string): number {
  return createHash('sha256').update(`${deviceId}\n${versionId}`).digest().readUInt32BE(0) % 10_000;
}

/** Whether a device is inside a wave of `percent` % of a version's rollout. */
export function inWave(deviceId: string, versionId: string, percent: number): boolean {
  return devicePlace(deviceId, versionId) < percent * 100;
}

/**
 * The policies of several organizations as one, the most conservative: every hold applies,
 * updates wait until every window is open, pre-releases only when every organization opted in.
 */
function combined(policies: readonly OfferPolicy[], now: Date) {
  return {
    holds: policies.flatMap((p) => (p.hold ? [p.hold] : [])),
    windowOpen: policies.every((p) => !p.window || isWindowOpen(p.window, now)),
    prereleases: policies.length > 0 && policies.every((p) => p.prereleases),
  };
}

function sortKeyOrNull(id: string): string | null {
  try {
    return semverSortKey(id);
  } catch {
    return null;
  }
}

/**
 * What a device is offered (issue 13), the one decision behind every version check:
 *
 * 1. Which versions may reach this device: allowed ones with an installer for its os; a version in
 *    rollout only while the rollout is active and the device is inside its current wave; other
 *    pre-releases only when recommended, or when every organization the device serves opted in.
 * 2. The policies of its organizations: a version outside a hold range, or any update while a
 *    maintenance window is closed, is held back, unless it is mandatory. A device whose own
 *    version is no longer allowed must move: it is offered the highest version within its holds,
 *    or the highest at all when none is.
 * 3. The highest such version is `latest`; the action is NOT_ALLOWED / NONE / MANDATORY as
 *    before, RECOMMENDED when it is recommended or reaches the device through its rollout, else
 *    UPDATE_AVAILABLE.
 */
export function decideOffer(input: OfferInput): OfferDecision {
  const { deviceId, currentId, os, rollouts, now } = input;
  const current = input.versions.find((v) => v.row.id === currentId)?.row;
  const currentKey = current?.sortKey ?? sortKeyOrNull(currentId);
  const policy = combined(input.policies, now);

  const eligible = input.versions.filter(({ row, oses }) => {
    if (row.allowed !== 1) return false;
    if (os !== null && !oses.has(os)) return false;
    const rollout = rollouts.get(row.id);
    if (rollout) return rollout.state === 'active' && inWave(deviceId, row.id, rollout.percent);
    return !isPrerelease(row.id) || row.recommended === 1 || policy.prereleases;
  });
  const highest = (versions: readonly OfferVersion[]) =>
    versions.reduce<VersionRow | undefined>((best, { row }) => (best === undefined || row.sortKey > best.sortKey ? row : best), undefined);
  const withinHolds = (v: VersionRow) => policy.holds.every((range) => semver.satisfies(v.id, range, { includePrerelease: true }));

  const notAllowed = current !== undefined && current.allowed === 0;
  let latest: VersionRow | undefined;
  if (notAllowed) {
    latest = highest(eligible.filter((v) => withinHolds(v.row) && (currentKey === null || v.row.sortKey > currentKey))) ?? highest(eligible);
  } else {
    latest = highest(
      eligible.filter(({ row }) => (currentKey !== null && row.sortKey <= currentKey) || row.mandatory === 1 || (withinHolds(row) && policy.windowOpen)),
    );
  }

  const viaRollout = latest ? rollouts.get(latest.id) : undefined;
  let action: VersionAction;
  if (notAllowed) action = 'NOT_ALLOWED';
  else if (!latest || (currentKey !== null && latest.sortKey <= currentKey)) action = 'NONE';
  else if (latest.mandatory === 1) action = 'MANDATORY';
  else if (latest.recommended === 1 || viaRollout) action = 'RECOMMENDED';
  else action = 'UPDATE_AVAILABLE';

  return {
    action,
    current,
    latest,
    ...(viaRollout && latest && action !== 'NONE' ? { rollout: { versionId: latest.id, waveIndex: viaRollout.waveIndex } } : {}),
  };
}
