import { adminTokenRoutes } from './admin-tokens.js';
import { auditRoutes } from './audit.js';
import { webhookRoutes } from './webhooks.js';
import { authRoutes } from './auth.js';
import { adminDeviceRoutes, deviceProtocolRoutes } from './devices.js';
import { keyRoutes } from './keys.js';
import { labelRoutes } from './labels.js';
import { organizationRoutes } from './organizations.js';
import { downloadRoutes, tokenExchangeRoutes, versionInfoRoutes } from './public.js';
import { reportRoutes } from './reports.js';
import { rolloutRoutes } from './rollouts.js';
import type { RouteDefinition } from './route.js';
import { systemRoutes } from './system.js';
import { userRoutes } from './users.js';
import { versionRoutes } from './versions.js';

export * from './route.js';
export * from './operations.js';
export * from './audit.js';
export * from './webhooks.js';

/** Every route of the DS API (below API_PREFIX), by name. */
export const API = {
  ...systemRoutes,
  ...keyRoutes,
  ...tokenExchangeRoutes,
  ...versionInfoRoutes,
  ...downloadRoutes,
  ...deviceProtocolRoutes,
  ...authRoutes,
  ...organizationRoutes,
  ...labelRoutes,
  ...versionRoutes,
  ...rolloutRoutes,
  ...userRoutes,
  ...adminTokenRoutes,
  ...adminDeviceRoutes,
  ...reportRoutes,
  ...auditRoutes,
  ...webhookRoutes,
};

/** The same routes as a list, in the order above. */
export const API_ROUTES: readonly RouteDefinition[] = Object.values(API);
