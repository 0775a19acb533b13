import type { InstallerOsJson, VersionInfo } from '@ds/shared';
import type { Executor, VersionRow } from '../db/types.js';
import { latestInstallers, listInstallers } from './versions.repository.js';

/** The DS download URL of a version's installer for an os. */
export function downloadUrl(publicUrl: string, os: string, versionId: string): string {
  return `${publicUrl}/v3_5/downloads/installers/${os.toLowerCase()}/versions/${encodeURIComponent(versionId)}`;
}

/** What clients see of a version: flags and DS download URLs, never file paths or origins. */
export async function versionInfo(db: Executor, publicUrl: string, row: VersionRow): Promise<VersionInfo> {
  const installers = await listInstallers(db, [row.id]);
  return infoOf(publicUrl, row, installers.map((i) => ({ os: i.os, versionId: row.id })));
}

/**
 * A "latest" answer (`/versions/latest`, a version check's `latest`) for `row`: its flags, and per
 * os the latest installer up to it (API.md §1), so a release without a Linux installer answers the
 * Linux URI of the newest version that has one instead of none. Each URI names its own version
 * (`.../installers/linux64/versions/3.8.1`); the shape is VersionInfo's, unchanged.
 */
export async function latestVersionInfo(db: Executor, publicUrl: string, row: VersionRow): Promise<VersionInfo> {
  // `row` itself is always a candidate: it may be a version in rollout or a pre-release offered to
  // this device only (rollouts/offer.ts); its own installers are what the device is offered.
  const latest = await latestInstallers(db, { allowedOnly: true, atMost: row.sortKey, including: row.id });
  // `row` is a latest version, so for each os it has, its own installer is the one found.
  const uris = latest.map((l) => ({ os: l.installer.os, versionId: l.version.id }));
  return infoOf(publicUrl, row, uris.sort((a, b) => (a.os < b.os ? -1 : a.os > b.os ? 1 : 0)));
}

function infoOf(publicUrl: string, row: VersionRow, uris: { os: string; versionId: string }[]): VersionInfo {
  return {
    id: row.id,
    recommended: row.recommended === 1,
    mandatory: row.mandatory === 1,
    allowed: row.allowed === 1,
    // Sorted by os as listInstallers sorts them.
    uris: uris.map((u) => ({ os: u.os as InstallerOsJson, uri: downloadUrl(publicUrl, u.os, u.versionId) })),
    ...(row.releaseNotes ? { releaseNotes: row.releaseNotes } : {}),
    publishedAt: row.publishedAt,
  };
}
