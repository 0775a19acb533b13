import type { AddressInfo } from 'node:net';
import type { Server, ServerOptions } from 'node:http';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';
import { loadConfig, type ServerConfig, type ServerConfigOverrides } from './config.js';
import { backupSqlite, migrateToLatest, openDatabase } from './db/database.js';
import { systemClock, type Clock } from './lib/clock.js';
import { createLogger, type Logger } from './lib/logger.js';
import { Metrics, clusterMetricsText } from './lib/metrics.js';
import { pruneRateLimits } from './lib/rate-limit.js';
import { CounterScheduler } from './counters/scheduler.js';
import { pruneWebhookDeliveries, WebhookWorker } from './webhooks/worker.js';
import { pruneDeviceMessages } from './devices/devices.service.js';
import { DsKeyStore } from './keys/keystore.js';
import { openMasterKey } from './keys/keys.service.js';
import { masterKeySource } from './keys/master-key.js';
import { ensureInitialized } from './setup/setup.service.js';
import { DS_VERSION } from './version.js';

export { loadConfig };
export type { ServerConfig, ServerConfigOverrides };

export interface RunningServer {
  /** The URL the server listens on (with the real port when 0 was asked). */
  url: string;
  /** The base URL clients are given (DS_PUBLIC_URL, or derived from host and the real port). */
  publicUrl: string;
  /** The generated password of `admin` when this start created it without one; shown once. */
  initialAdminPassword: string | null;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), closes the database. */
  close(): Promise<void>;
}

/**
 * Opens and migrates the database, initialises an empty one (keys, first admin) and starts
 * listening. The caller owns signals: call `close()` on SIGTERM/SIGINT.
 */
export async function startServer(
  config: ServerConfig,
  options: { adminPassword?: string; clock?: Clock; logger?: Logger; clusterWorker?: boolean } = {},
): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel, undefined, config.logFormat);
  const clock = options.clock ?? systemClock;
  const database = await openDatabase(config.databaseUrl);
  try {
    // Decided before migrating, so a DS node started without its master key changes nothing.
    const keySource = masterKeySource(config, database);
    const applied = await migrateToLatest(database);
    if (applied.length > 0) logger.info('migrations applied', { migrations: applied });
    const { key: masterKey } = await openMasterKey(keySource, database.db, logger);
    const setup = await ensureInitialized(database.db, clock, {
      keyType: config.keyType,
      adminPassword: options.adminPassword ?? config.adminPassword,
      masterKey,
    });
    if (setup.keysEncrypted.length > 0) logger.info('DS private keys stored in clear are now encrypted', { kids: setup.keysEncrypted, masterKeyId: masterKey.id });
    if (setup.keysCreated.length > 0) logger.info('DS key pairs created', { kids: setup.keysCreated, type: config.keyType });
    if (setup.createdAdmin) logger.info('first admin user created', { username: 'admin' });

    const keys = await DsKeyStore.load(database.db, clock, masterKey);
    // With port 0 the public URL is known only once listening. The master key stays out of the app.
    const appConfig = { ...config, masterKey: undefined };
    const metrics = new Metrics({ version: DS_VERSION });
    metrics.collectProcessMetrics();
    // A worker of `ds serve --workers` answers /metrics with the sum over every worker (lib/metrics.ts).
    const metricsText = options.clusterWorker ? clusterMetricsText(metrics) : undefined;
    const app = createApp({ database, clock, logger, config: appConfig, startedAt: clock.now(), version: DS_VERSION, keys, metrics, ...(metricsText ? { metricsText } : {}) });
    const server = await new Promise<Server>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host, serverOptions: httpServerOptions(config) }, () => resolve(s as Server));
      (s as Server).once('error', reject);
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${host === '0.0.0.0' || host === '[::]' ? 'localhost' : host}:${address.port}`;
    if (config.port === 0 && /:0$/.test(config.publicUrl)) appConfig.publicUrl = config.publicUrl.replace(/:0$/, `:${address.port}`);
    if (!options.clusterWorker) warnOpenMetrics(config, logger);
    logger.info('DS listening', { url, publicUrl: appConfig.publicUrl, database: database.kind, location: database.location, ...(database.schema ? { schema: database.schema } : {}) });

    // Housekeeping: processed device messages only serve retries, rate-limit counts only their
    // window; drop them after. Deleting is idempotent, so several DS processes doing it is harmless.
    const housekeeping = async () => {
      try {
        const pruned = await pruneDeviceMessages(app.services);
        if (pruned > 0) logger.info('pruned processed device messages', { count: pruned });
        await pruneRateLimits(database.db, clock.now());
        await pruneWebhookDeliveries(app.services);
      } catch (error) {
        logger.error('housekeeping failed', { error: (error as Error).message });
      }
    };
    void housekeeping();
    const housekeepingTimer = setInterval(() => void housekeeping(), 3600_000);
    housekeepingTimer.unref();
    // Month rollover and retention: every process checks each minute; a lock row elects one.
    const scheduler = new CounterScheduler(app.services);
    scheduler.start();
    // Webhook deliveries: every process sends what is due; a lease per delivery elects one.
    const webhookWorker = new WebhookWorker(app.services);
    webhookWorker.start();
    // Another DS process may rotate the DS keys: pick up the new ones within a minute.
    const keyReloadTimer = setInterval(() => void keys.reload().catch((error) => logger.error('key reload failed', { error: (error as Error).message })), 60_000);
    keyReloadTimer.unref();

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        logger.info('shutting down');
        clearInterval(housekeepingTimer);
        clearInterval(keyReloadTimer);
        await scheduler.stop();
        await webhookWorker.stop();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            logger.warn('in-flight requests did not finish in time; closing their connections', { graceMs: config.shutdownGraceMs });
            server.closeAllConnections();
          }, config.shutdownGraceMs);
          timer.unref();
          server.close(() => {
            clearTimeout(timer);
            resolve();
          });
          server.closeIdleConnections();
        });
        // Download events of responses that just ended are written before the database closes.
        await app.services.background.drain(5000);
        await database.close();
        logger.info('stopped');
      })());
    return { url, publicUrl: appConfig.publicUrl, initialAdminPassword: setup.generatedPassword, close };
  } catch (error) {
    await database.close();
    throw error;
  }
}

/** Anyone who reaches a DS listening beyond this machine may read /metrics unless it has a token: say so once. */
export function warnOpenMetrics(config: ServerConfig, logger: Logger): void {
  if (config.metricsToken !== undefined || ['127.0.0.1', '::1', 'localhost'].includes(config.host)) return;
  logger.warn('GET /metrics is open to anyone who reaches DS (request rates, the size of the fleet): set DS_METRICS_TOKEN or --metrics-token-file, or block /metrics at the proxy');
}

/**
 * Slow clients hold sockets: headers must arrive within 15 s and a whole request within
 * requestTimeoutMs (Node checks both every few seconds); an idle keep-alive connection closes
 * after keepAliveTimeoutMs (behind a proxy, set it above the proxy's idle timeout so the proxy
 * closes first). Answers stream for as long as they take: these bound only what clients send.
 */
export function httpServerOptions(config: Pick<ServerConfig, 'requestTimeoutMs' | 'keepAliveTimeoutMs'>): ServerOptions {
  const headersTimeout = Math.min(15_000, config.requestTimeoutMs);
  return {
    headersTimeout,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(2_000, headersTimeout),
  };
}

/** `ds init`: migrate and initialise without starting the server. */
export async function initDs(config: ServerConfig, options: { adminPassword?: string } = {}) {
  const database = await openDatabase(config.databaseUrl);
  try {
    const keySource = masterKeySource(config, database);
    await migrateToLatest(database);
    const { key: masterKey, created: masterKeyCreated } = await openMasterKey(keySource, database.db);
    const setup = await ensureInitialized(database.db, systemClock, {
      keyType: config.keyType,
      adminPassword: options.adminPassword ?? config.adminPassword,
      masterKey,
    });
    return {
      created: setup.createdAdmin,
      generatedPassword: setup.generatedPassword,
      keysCreated: setup.keysCreated,
      keysEncrypted: setup.keysEncrypted,
      masterKey: { id: masterKey.id, source: masterKey.source, created: masterKeyCreated },
    };
  } finally {
    await database.close();
  }
}

/** `ds db migrate` */
export async function migrateDatabase(config: ServerConfig): Promise<string[]> {
  const database = await openDatabase(config.databaseUrl);
  try {
    return await migrateToLatest(database);
  } finally {
    await database.close();
  }
}

/** `ds db backup <file>` */
export async function backupDatabase(config: ServerConfig, file: string) {
  return backupSqlite(config.databaseUrl, file);
}
