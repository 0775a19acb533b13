import type { InstallerOsJson, VersionInfo } from '@ds/shared';
import type { Executor, VersionRow } from '../db/types.js';
import { listInstallers } from './versions.repository.js';

/** The DS download URL of a version's installer for an os. */
export function downloadUrl(publicUrl: string, os: string, versionId: string): string {
  return `${publicUrl}/v3_5/downloads/installers/${os.toLowerCase()}/versions/${encodeURIComponent(versionId)}`;
}

/** What clients see of a version: flags and DS download URLs, never file paths or origins. */
export async function versionInfo(db: Executor, publicUrl: string, row: VersionRow): Promise<VersionInfo> {
  const installers = await listInstallers(db, [row.id]);
  return {
    id: row.id,
    recommended: row.recommended === 1,
    mandatory: row.mandatory === 1,
    allowed: row.allowed === 1,
    uris: installers.map((i) => ({ os: i.os as InstallerOsJson, uri: downloadUrl(publicUrl, i.os, row.id) })),
    ...(row.releaseNotes ? { releaseNotes: row.releaseNotes } : {}),
    publishedAt: row.publishedAt,
  };
}
