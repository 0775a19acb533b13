import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { notFound } from '../lib/errors.js';
import { handle, type BoundRoute } from '../lib/routes.js';
import { versionInfo } from './version-info.js';
import { findVersion, latestVersion } from './versions.repository.js';

/** `/versions`: version information for holders of an application JWT. */
export function publicVersionRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.latestVersionInfo, async () => {
      const row = await latestVersion(services.db, { allowedOnly: true });
      if (!row) throw notFound('an allowed version');
      return versionInfo(services.db, services.config.publicUrl, row);
    }),
    handle(API.versionInfo, async ({ params }) => {
      const row = await findVersion(services.db, params.id);
      if (!row) throw notFound(`version ${params.id}`);
      return versionInfo(services.db, services.config.publicUrl, row);
    }),
  ];
}
