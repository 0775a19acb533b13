import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { clientAddress } from '../lib/client-address.js';
import { handle, type BoundRoute } from '../lib/routes.js';
import * as service from './token-exchange.service.js';

/** `/tokens`: API keys for JWTs (browser apps and T1C installers). */
export function tokenExchangeRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.applicationToken, ({ c }) => service.applicationToken(services, c.req.header('apikey'), clientAddress(c))),
    handle(API.installationToken, ({ c }) => service.installationToken(services, c.req.header('apikey'), clientAddress(c))),
  ];
}
