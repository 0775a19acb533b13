import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { notFound } from '../lib/errors.js';
import { handle, type BoundRoute } from '../lib/routes.js';
import { latestVersionInfo, versionInfo } from './version-info.js';
import { findVersion, latestVersion } from './versions.repository.js';

/** `/versions`: version information for holders of an application JWT. */
export function publicVersionRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.latestVersionInfo, async () => {
      // The newest allowed release (or recommended pre-release), whatever its installers; its uris
      // give each os its latest installer, which may be an earlier version's (version-info.ts).
      const row = await latestVersion(services.db, { allowedOnly: true });
      if (!row) throw notFound('an allowed version');
      return latestVersionInfo(services.db, services.config.publicUrl, row);
    }),
    handle(API.versionInfo, async ({ params }) => {
      const row = await findVersion(services.db, params.id);
      if (!row) throw notFound(`version ${params.id}`);
      return versionInfo(services.db, services.config.publicUrl, row);
    }),
  ];
}
