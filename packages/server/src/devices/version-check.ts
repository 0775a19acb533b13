import { API, installerOsFor, type VersionAction, type VersionCheckResponse } from '@ds/shared';
import type { Executor, VersionRow } from '../db/types.js';
import { semverSortKey } from '../lib/semver.js';
import { downloadUrl, latestVersionInfo, versionInfo } from '../versions/version-info.js';
import { findVersion, latestVersion } from '../versions/versions.repository.js';
import { deviceMessageKind } from './message-pipeline.js';

/**
 * What a device on `currentId` must do, per API.md: NOT_ALLOWED when its own version is
 * withdrawn; else, when a newer allowed version exists, MANDATORY if the latest is mandatory,
 * RECOMMENDED if it is recommended, UPDATE_AVAILABLE otherwise; NONE on the latest. `latest` is
 * the latest for the device's os (versionCheck).
 */
export function versionAction(currentId: string, current: VersionRow | undefined, latest: VersionRow | undefined): VersionAction {
  if (current && current.allowed === 0) return 'NOT_ALLOWED';
  if (!latest || latest.sortKey <= semverSortKey(currentId)) return 'NONE';
  if (latest.mandatory === 1) return 'MANDATORY';
  if (latest.recommended === 1) return 'RECOMMENDED';
  return 'UPDATE_AVAILABLE';
}

/**
 * A device is offered the latest version *for its own os* (API.md §1's "latest for an OS"): the
 * newest allowed release, or recommended pre-release, that has an installer for the os its
 * registration reported. A Linux device is never told to update to a release that has no Linux
 * installer; it is offered the newest version it can install, or NONE when it runs it already.
 * `action`, `latest` and `downloadUri` all follow that version, so `downloadUri` is never null
 * when an update is offered to a device whose os DS knows. A device whose os maps to no installer
 * (an unknown name, ARM Linux) is judged against the overall latest and gets no `downloadUri`.
 * The answer's shape is unchanged; `latest.uris` follow latestVersionInfo's per-os rule.
 */
export async function versionCheck(
  db: Executor,
  publicUrl: string,
  device: { osName: string | null; osArch: string | null },
  currentId: string,
): Promise<VersionCheckResponse> {
  const os = installerOsFor(device.osName ?? undefined, device.osArch ?? undefined);
  const [current, latest] = await Promise.all([findVersion(db, currentId), latestVersion(db, { allowedOnly: true, os: os ? [os] : undefined })]);
  const action = versionAction(currentId, current, latest);
  const downloadUri = action !== 'NONE' && latest && os ? downloadUrl(publicUrl, os, latest.id) : null;
  return {
    action,
    latest: latest ? await latestVersionInfo(db, publicUrl, latest) : null,
    current: current ? await versionInfo(db, publicUrl, current) : null,
    downloadUri,
  };
}

/** `POST /devices/{id}/version-check`: changes nothing, but a retry is answered the same. */
export const versionCheckMessage = deviceMessageKind({
  kind: 'version-check',
  schema: API.versionCheck.body,
  answerSchema: API.versionCheck.response,
  handle: async ({ services, device }, { version }) => ({ answer: await versionCheck(services.db, services.config.publicUrl, device, version) }),
});
