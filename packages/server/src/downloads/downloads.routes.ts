import { API } from '@ds/shared';
import type { Context } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { AppError } from '../lib/errors.js';
import { handle, type BoundRoute } from '../lib/routes.js';
import { choicePageResponse } from './choice-page.js';
import { ChoiceError, latestChoices, targetFor, targetForClient } from './downloads.service.js';
import { prefersHtml } from './http-headers.js';
import { sendInstaller } from './send.js';
import { CLIENT_HINTS, DETECTION_HEADERS, detectClient } from './user-agent-os.js';

/**
 * Answers a download, or its error: as the JSON envelope (thrown on to `app.onError`) for API
 * clients, as an HTML page listing the installers for a request that prefers `text/html` (someone
 * who followed a download link in a browser). Either way with the same status and headers, and
 * `Vary: Accept`, since the error's form depends on it.
 */
async function answering(services: Services, c: Context<AppEnv>, download: () => Promise<Response>): Promise<Response> {
  try {
    return await download();
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    c.header('Vary', 'Accept', { append: true });
    if (!prefersHtml(c.req.header('accept'))) throw error;
    const requestId = c.var.requestId ?? 'unknown';
    // As app.onError does for the JSON answer.
    if (error.status >= 500) services.logger.error(error.message, { requestId, code: error.code });
    const choice = error instanceof ChoiceError ? error : undefined;
    // Other errors (a withdrawn version, a bad link) still offer what can be downloaded.
    const choices = choice?.choices ?? (await latestChoices(services).catch(() => []));
    return choicePageResponse(c, { error, choices, reason: choice?.reason ?? null, requestId });
  }
}

/** `/downloads`: public installer downloads (API.md §1); GET routes answer HEAD too. */
export function downloadRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.downloadInstaller, async ({ c }) => {
      // The answer depends on these request headers: shared caches must keep one copy per value.
      c.header('Vary', DETECTION_HEADERS.join(', '), { append: true });
      // Ask browsers for the architecture: Chrome on a Mac says "Intel" whatever the chip.
      c.header('Accept-CH', CLIENT_HINTS.join(', '));
      const client = detectClient({ get: (name) => c.req.header(name) });
      return answering(services, c, async () => sendInstaller(services, c, await targetForClient(services, client), client));
    }),
    handle(API.downloadLatestInstaller, async ({ c, params }) => {
      const client = detectClient({ get: (name) => c.req.header(name) });
      return answering(services, c, async () => sendInstaller(services, c, await targetFor(services, params.os), client));
    }),
    handle(API.downloadVersionInstaller, async ({ c, params }) => {
      const client = detectClient({ get: (name) => c.req.header(name) });
      return answering(services, c, async () => sendInstaller(services, c, await targetFor(services, params.os, params.version), client));
    }),
  ];
}
