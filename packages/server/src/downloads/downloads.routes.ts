import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { invalid } from '../lib/errors.js';
import { targetFor, targetForClient } from './downloads.service.js';
import { sendInstaller } from './send.js';
import { DETECTION_HEADERS, detectClient } from './user-agent-os.js';

/** `/downloads`: public installer downloads (API.md §1); GET routes answer HEAD too. */
export function downloadRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.get('/installer', async (c) => {
    // The answer depends on these request headers: shared caches must keep one copy per value.
    c.header('Vary', DETECTION_HEADERS.join(', '), { append: true });
    const client = detectClient({ get: (name) => c.req.header(name) });
    return sendInstaller(services, c, await targetForClient(services, client), client);
  });
  app.get('/installers/:os', async (c) => {
    const client = detectClient({ get: (name) => c.req.header(name) });
    return sendInstaller(services, c, await targetFor(services, c.req.param('os')), client);
  });
  app.get('/installers/:os/versions/:version', async (c) => {
    const client = detectClient({ get: (name) => c.req.header(name) });
    return sendInstaller(services, c, await targetFor(services, c.req.param('os'), c.req.param('version')), client);
  });
  // Anything else under /installers is a malformed link or a path trick that URL normalisation
  // turned into another path ("/versions/%2e%2e" arrives as "/installers/win64/"): 400, not 404.
  app.get('/installers/*', () => {
    throw invalid('path', 'must be /installers/{os} or /installers/{os}/versions/{version}');
  });
  return app;
}
