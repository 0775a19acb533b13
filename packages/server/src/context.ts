import type { DatabaseHandle } from './db/database.js';
import type { Db } from './db/types.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './lib/logger.js';
import type { Metrics, RouteSeries } from './lib/metrics.js';
import type { BackgroundWork } from './lib/background.js';
import type { FailureLimiter } from './lib/rate-limit.js';
import type { ServerConfig } from './config.js';
import type { SyncStore } from './db/sync-store.js';
import type { DeviceKeyCache } from './devices/device-keys.js';
import type { DsKeyStore } from './keys/keystore.js';
import type { ConfigCache } from './versions/config-cache.js';
import type { OfferCache } from './rollouts/offer-cache.js';
import type { Principal } from './users/principal.js';

/** Everything the app is built from; `main.ts` makes the real ones, tests make their own. */
export interface AppDeps {
  database: DatabaseHandle;
  clock: Clock;
  logger: Logger;
  config: ServerConfig;
  /** When this process started (uptime). */
  startedAt: Date;
  /** DS's own version. */
  version: string;
  /** The DS key pairs, loaded. */
  keys: DsKeyStore;
  /** Check every JSON answer against its route's response schema (tests; a mismatch is a 500). */
  checkResponses?: boolean;
  /** The metrics to count into (`ds serve` makes them with process metrics); a fresh set by default. */
  metrics?: Metrics;
  /** The Prometheus text GET /metrics answers: the whole process group's with --workers; this app's by default. */
  metricsText?: () => Promise<string>;
}

/** Per-app services derived from the deps, shared by routes. */
export interface Services extends AppDeps {
  db: Db;
  /** Failed password checks per address and username. */
  loginLimiter: FailureLimiter;
  /** Failed password checks per address, whatever the username. */
  loginAddressLimiter: FailureLimiter;
  /** Unknown API keys per address. */
  apiKeyLimiter: FailureLimiter;
  configCache: ConfigCache;
  /** Rollouts in progress and organization policies, for version checks. */
  offerCache: OfferCache;
  deviceKeys: DeviceKeyCache;
  syncStore: SyncStore;
  background: BackgroundWork;
  /** This app instance in job lock rows: who holds the month rollover, say. */
  instanceId: string;
  metrics: Metrics;
  metricsText: () => Promise<string>;
}

export type AppEnv = {
  Variables: {
    requestId: string;
    principal: Principal;
    /** Who sent the request (the peer, or the client a trusted proxy names). */
    clientAddress: string;
    /** Whether a trusted proxy says the client used https; undefined without one. */
    forwardedHttps: boolean | undefined;
    /** The metrics series of the route that matched (set by mountRoutes; none for a 404). */
    routeSeries: RouteSeries;
  };
};
