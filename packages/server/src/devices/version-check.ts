import { API, installerOsFor, type VersionAction, type VersionCheckResponse } from '@ds/shared';
import type { Executor, VersionRow } from '../db/types.js';
import { semverSortKey } from '../lib/semver.js';
import { downloadUrl, versionInfo } from '../versions/version-info.js';
import { findVersion, latestVersion, listInstallers } from '../versions/versions.repository.js';
import { deviceMessageKind } from './message-pipeline.js';

/**
 * What a device on `currentId` must do, per API.md: NOT_ALLOWED when its own version is
 * withdrawn; else, when a newer allowed version exists, MANDATORY if the latest is mandatory,
 * RECOMMENDED if it is recommended, UPDATE_AVAILABLE otherwise; NONE on the latest.
 */
export function versionAction(currentId: string, current: VersionRow | undefined, latest: VersionRow | undefined): VersionAction {
  if (current && current.allowed === 0) return 'NOT_ALLOWED';
  if (!latest || latest.sortKey <= semverSortKey(currentId)) return 'NONE';
  if (latest.mandatory === 1) return 'MANDATORY';
  if (latest.recommended === 1) return 'RECOMMENDED';
  return 'UPDATE_AVAILABLE';
}

export async function versionCheck(
  db: Executor,
  publicUrl: string,
  device: { osName: string | null; osArch: string | null },
  currentId: string,
): Promise<VersionCheckResponse> {
  const [current, latest] = await Promise.all([findVersion(db, currentId), latestVersion(db, { allowedOnly: true })]);
  const action = versionAction(currentId, current, latest);
  let downloadUri: string | null = null;
  const os = installerOsFor(device.osName ?? undefined, device.osArch ?? undefined);
  if (action !== 'NONE' && latest && os) {
    const installers = await listInstallers(db, [latest.id]);
    if (installers.some((i) => i.os === os.toUpperCase())) downloadUri = downloadUrl(publicUrl, os, latest.id);
  }
  return {
    action,
    latest: latest ? await versionInfo(db, publicUrl, latest) : null,
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
