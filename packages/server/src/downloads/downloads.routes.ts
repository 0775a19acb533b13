import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { handle, type BoundRoute } from '../lib/routes.js';
import { targetFor, targetForClient } from './downloads.service.js';
import { sendInstaller } from './send.js';
import { DETECTION_HEADERS, detectClient } from './user-agent-os.js';

/** `/downloads`: public installer downloads (API.md §1); GET routes answer HEAD too. */
export function downloadRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.downloadInstaller, async ({ c }) => {
      // The answer depends on these request headers: shared caches must keep one copy per value.
      c.header('Vary', DETECTION_HEADERS.join(', '), { append: true });
      const client = detectClient({ get: (name) => c.req.header(name) });
      return sendInstaller(services, c, await targetForClient(services, client), client);
    }),
    handle(API.downloadLatestInstaller, async ({ c, params }) => {
      const client = detectClient({ get: (name) => c.req.header(name) });
      return sendInstaller(services, c, await targetFor(services, params.os), client);
    }),
    handle(API.downloadVersionInstaller, async ({ c, params }) => {
      const client = detectClient({ get: (name) => c.req.header(name) });
      return sendInstaller(services, c, await targetFor(services, params.os, params.version), client);
    }),
  ];
}
