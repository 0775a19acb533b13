import { API_PREFIX, ERROR_CODES, OPERATIONS_PREFIX } from '@ds/shared';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import type { AppDeps, AppEnv, Services } from './context.js';
import { BackgroundWork } from './lib/background.js';
import { AppError, invalid } from './lib/errors.js';
import { mountRoutes } from './lib/routes.js';
import { clientAddressMiddleware, TrustedProxies } from './lib/client-address.js';
import { newInstanceId } from './lib/instance.js';
import { Metrics } from './lib/metrics.js';
import { FailureLimiter } from './lib/rate-limit.js';
import { createSyncStore } from './db/sync-store.js';
import { counterRoutes } from './counters/counters.routes.js';
import { reportRoutes } from './reports/reports.routes.js';
import { dashboardRoutes } from './dashboard/dashboard.routes.js';
import { adminDeviceRoutes } from './devices/admin.routes.js';
import { DeviceKeyCache } from './devices/device-keys.js';
import { deviceRoutes } from './devices/devices.routes.js';
import { downloadRoutes } from './downloads/downloads.routes.js';
import { keyRoutes } from './keys/keys.routes.js';
import { labelRoutes } from './labels/labels.routes.js';
import { tokenExchangeRoutes } from './token-exchange/token-exchange.routes.js';
import { ConfigCache } from './versions/config-cache.js';
import { OfferCache } from './rollouts/offer-cache.js';
import { rolloutRoutes } from './rollouts/rollouts.routes.js';
import { publicVersionRoutes } from './versions/public.routes.js';
import { organizationRoutes } from './organizations/organizations.routes.js';
import { systemRoutes } from './system/system.routes.js';
import { operationsRoutes } from './system/operations.routes.js';
import { pendingMonths } from './counters/rollover.service.js';
import { authRoutes, userRoutes } from './users/users.routes.js';
import { tokenRoutes } from './admin-tokens/admin-tokens.routes.js';
import { versionRoutes } from './versions/versions.routes.js';
import { auditRoutes } from './audit/audit.routes.js';
import { webhookRoutes } from './webhooks/webhooks.routes.js';

/** Builds the whole HTTP application from its dependencies; no I/O happens here. */
export function createApp(deps: AppDeps) {
  const metrics = deps.metrics ?? new Metrics({ version: deps.version });
  const services: Services = {
    ...deps,
    db: deps.database.db,
    // 10 failed logins per address and username in 15 minutes, then wait; 30 per address whatever
    // the usernames, so rotating them buys nothing.
    loginLimiter: new FailureLimiter(deps.database.db, deps.clock, 'login', 10, 15 * 60_000),
    loginAddressLimiter: new FailureLimiter(deps.database.db, deps.clock, 'login-address', 30, 15 * 60_000),
    // 20 unknown API keys per address in 5 minutes, then wait: keys cannot be guessed by trying.
    apiKeyLimiter: new FailureLimiter(deps.database.db, deps.clock, 'apikey', 20, 5 * 60_000),
    configCache: new ConfigCache(deps.clock),
    offerCache: new OfferCache(deps.clock),
    deviceKeys: new DeviceKeyCache(),
    syncStore: createSyncStore(deps.database),
    background: new BackgroundWork(),
    instanceId: newInstanceId(),
    metrics,
    metricsText: deps.metricsText ?? (() => metrics.text()),
  };
  deps.database.observeTransactions((committed, seconds) => metrics.dbTransaction(committed, seconds));
  metrics.onRolloverScrape(async () => (await pendingMonths(services)).length);
  const app = new Hono<AppEnv>();

  app.use('*', requestId({ headerName: 'X-Request-Id' }));
  app.use('*', clientAddressMiddleware(new TrustedProxies(deps.config.trustedProxies)));
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    const ms = performance.now() - started;
    // By route template (set by mountRoutes), or one series for every path no route matched.
    (c.var.routeSeries ?? metrics.unmatched).observe(c.req.method, c.res.status, ms / 1000);
    services.logger.info('request', {
      requestId: c.var.requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(ms * 10) / 10,
    });
  });
  app.use(
    '*',
    bodyLimit({
      maxSize: deps.config.bodyLimitBytes,
      // The rest of the body is never read, so the connection cannot carry another request:
      // say so, or a keep-alive client sends its next request into a socket DS is closing.
      onError: () => {
        throw new AppError('PAYLOAD_TOO_LARGE', `the body is larger than ${deps.config.bodyLimitBytes} bytes`, undefined, { Connection: 'close' });
      },
    }),
  );

  const api = new Hono<AppEnv>();
  // Browsers may call the public and application endpoints (API.md); the admin API is not open to them.
  const browserCors = cors({
    origin: originMatcher(deps.config.corsOrigins),
    credentials: true,
    // Range and the conditional headers let a page resume a download with fetch().
    allowHeaders: ['Authorization', 'apikey', 'Content-Type', 'Accept-Language', 'X-CSRF-Token', 'X-T1C-BILLING-TAG', 'Range', 'If-Range', 'If-None-Match'],
    allowMethods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    exposeHeaders: ['X-Request-Id', 'Content-Disposition', 'X-Checksum-Sha256', 'Digest', 'Retry-After', 'ETag', 'Content-Range', 'Accept-Ranges'],
    maxAge: 600,
  });
  for (const path of ['/system/*', '/.well-known/*', '/tokens/*', '/versions/*', '/downloads/*']) api.use(path, browserCors);
  // Every route of the API, each bound to the definition it was declared with in shared's `API`.
  mountRoutes(api, services, [
    ...systemRoutes(services),
    ...keyRoutes(services),
    ...tokenExchangeRoutes(services),
    ...publicVersionRoutes(services),
    ...downloadRoutes(services),
    ...deviceRoutes(services),
    ...authRoutes(services),
    ...organizationRoutes(services),
    ...labelRoutes(services),
    ...versionRoutes(services),
    ...rolloutRoutes(services),
    ...userRoutes(services),
    ...tokenRoutes(services),
    ...adminDeviceRoutes(services),
    ...reportRoutes(services),
    ...counterRoutes(services),
    ...auditRoutes(services),
    ...webhookRoutes(services),
  ]);
  app.route(API_PREFIX, api);
  // The analytics dashboard for people: HTML pages with a cookie session, outside the API.
  app.route('/dashboard', dashboardRoutes(services));
  // Metrics and health at the root, where Prometheus and probes look for them.
  mountRoutes(app, services, operationsRoutes(services), {}, OPERATIONS_PREFIX);

  app.notFound((c) => {
    // A malformed installer link, or a path trick that URL normalisation turned into another path
    // ("/versions/%2e%2e" arrives as "/installers/win64/"): 400 naming the two valid forms.
    if (c.req.path.startsWith(`${API_PREFIX}/downloads/installers/`)) {
      throw invalid('path', 'must be /installers/{os} or /installers/{os}/versions/{version}');
    }
    return c.json({ success: false, code: 'ROUTE_NOT_FOUND', description: `no route ${c.req.method} ${c.req.path}`, requestId: c.var.requestId }, 404);
  });

  app.onError((error, c) => {
    const requestId = c.var.requestId ?? 'unknown';
    if (error instanceof AppError) {
      for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
      if (error.status >= 500) services.logger.error(error.message, { requestId, code: error.code });
      return c.json(
        {
          success: false,
          code: error.code,
          description: error.message,
          requestId,
          ...(error.details !== undefined ? { details: error.details } : {}),
          ...(error.data !== undefined ? { data: error.data } : {}),
        },
        error.status as 400,
      );
    }
    if (error instanceof HTTPException && error.status < 500) {
      const code = error.status === 413 ? 'PAYLOAD_TOO_LARGE' : error.status === 401 ? 'UNAUTHENTICATED' : 'VALIDATION_ERROR';
      return c.json({ success: false, code, description: error.message || ERROR_CODES[code].description, requestId }, error.status);
    }
    services.logger.error('unhandled error', { requestId, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    return c.json({ success: false, code: 'INTERNAL_ERROR', description: 'internal error; the request id is in the server log', requestId }, 500);
  });

  return Object.assign(app, { services });
}

export type App = ReturnType<typeof createApp>;

/**
 * `*` allows every origin (echoed, since credentials are allowed); otherwise a comma-separated
 * list of origins where `*` matches any run of host characters (`https://*.example.com`).
 */
export function originMatcher(setting: string): (origin: string) => string | null {
  const patterns = setting.split(',').map((p) => p.trim()).filter(Boolean);
  if (patterns.includes('*')) return (origin) => origin || null;
  const regexes = patterns.map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[A-Za-z0-9.-]*')}$`, 'i'));
  return (origin) => (regexes.some((r) => r.test(origin)) ? origin : null);
}
