import { API, installerOsFor, type VersionCheckResponse } from '@ds/shared';
import type { Services } from '../context.js';
import type { DeviceRow } from '../db/types.js';
import type { MessageWrites } from '../db/sync-store.js';
import { iso } from '../lib/clock.js';
import { decideOffer, type OfferPolicy, type OfferVersion } from '../rollouts/offer.js';
import { deviceOrganizationIds } from '../rollouts/rollouts.repository.js';
import { downloadUrl, latestVersionInfo, versionInfo } from '../versions/version-info.js';
import { findVersion, latestVersion } from '../versions/versions.repository.js';
import { deviceMessageKind } from './message-pipeline.js';

/**
 * A device is offered the latest version *for its own os* (API.md §1's "latest for an OS"): the
 * newest allowed release, or recommended pre-release, that has an installer for the os its
 * registration reported. A Linux device is never told to update to a release that has no Linux
 * installer; it is offered the newest version it can install, or NONE when it runs it already.
 * `action`, `latest` and `downloadUri` all follow that version, so `downloadUri` is never null
 * when an update is offered to a device whose os DS knows. A device whose os maps to no installer
 * (an unknown name, ARM Linux) is judged against the overall latest and gets no `downloadUri`.
 * The answer's shape is unchanged; `latest.uris` follow latestVersionInfo's per-os rule.
 *
 * Rollouts and organization policies refine "latest" per device (rollouts/offer.ts). With no
 * rollout active and no policy for the device's organizations, the public latest (which leaves
 * out versions in rollout) is the answer, read with the same two queries as before; otherwise
 * every version is considered. The rollout state, policies and versions come from a cache; once any
 * organization has a policy, every check reads the device's organizations (one more query).
 */
export async function versionCheck(
  services: Services,
  device: Pick<DeviceRow, 'id' | 'osName' | 'osArch'>,
  currentId: string,
): Promise<{ answer: VersionCheckResponse; writes?: MessageWrites }> {
  const db = services.db;
  const publicUrl = services.config.publicUrl;
  const now = services.clock.now();
  // Upper case, as installers are stored (and as JSON shows them).
  const os = installerOsFor(device.osName ?? undefined, device.osArch ?? undefined)?.toUpperCase() ?? null;
  const state = await services.offerCache.get(db);
  let policies: OfferPolicy[] = [];
  if (state.policies.size > 0) {
    // Every organization the device serves takes part, one without a policy as "no hold, no
    // window, no pre-releases": one organization's opt-in never brings pre-releases to a device
    // another organization shares and never opted in (the most conservative policy wins).
    const organizations = await deviceOrganizationIds(db, device.id);
    if (organizations.some((id) => state.policies.has(id))) {
      policies = organizations.map((id) => state.policies.get(id) ?? { organization: id, hold: null, window: null, prereleases: false });
    }
  }
  let versions: OfferVersion[];
  if (state.anyActive || policies.length > 0) versions = await services.offerCache.versions(db);
  else {
    const [current, latest] = await Promise.all([findVersion(db, currentId), latestVersion(db, { allowedOnly: true, os: os ? [os] : undefined })]);
    // Only `row.allowed` and the os matter for these two; the latest was chosen for the os already.
    versions = [current, latest].flatMap((row) => (row ? [{ row, oses: new Set(os ? [os] : []) }] : []));
  }
  const decision = decideOffer({ deviceId: device.id, currentId, os, versions, rollouts: state.rollouts, policies, now });
  const { action, current, latest } = decision;
  const downloadUri = action !== 'NONE' && latest && os ? downloadUrl(publicUrl, os, latest.id) : null;
  const answer: VersionCheckResponse = {
    action,
    latest: latest ? await latestVersionInfo(db, publicUrl, latest) : null,
    current: current ? await versionInfo(db, publicUrl, current) : null,
    downloadUri,
  };
  if (!decision.rollout) return { answer };
  return {
    answer,
    writes: { offer: { versionId: decision.rollout.versionId, fromVersion: currentId, waveIndex: decision.rollout.waveIndex, offeredAt: iso(now) } },
  };
}

/** `POST /devices/{id}/version-check`: changes nothing but the record of a rollout's offer; a retry is answered the same. */
export const versionCheckMessage = deviceMessageKind({
  kind: 'version-check',
  schema: API.versionCheck.body,
  answerSchema: API.versionCheck.response,
  handle: async ({ services, device }, { version }) => versionCheck(services, device, version),
});
