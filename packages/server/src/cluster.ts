import cluster, { type Worker } from 'node:cluster';
import type { ServerConfig } from './config.js';
import { createLogger } from './lib/logger.js';
import { serveClusterMetrics } from './lib/metrics.js';
import { initDs, startServer, warnOpenMetrics, type RunningServer } from './main.js';

type WorkerMessage = { type: 'ds-listening'; url: string; publicUrl: string } | { type: 'ds-close' };

/**
 * Starts DS in `workers` processes sharing one port (node:cluster), so the JOSE work of device
 * messages — much of which Node's WebCrypto runs on the calling thread — uses every core. The
 * workers are ordinary DS processes on the same database, as several DS nodes behind a load
 * balancer are. With one worker this is just `startServer`.
 *
 * In a worker process (the same entry point, started again by cluster) this serves until the
 * primary says stop, and never resolves: the caller's code after it runs only in the primary.
 */
export async function startServers(config: ServerConfig, options: { workers: number; adminPassword?: string }): Promise<RunningServer> {
  if (options.workers <= 1 && !cluster.isWorker) return startServer(config, options);
  const logger = createLogger(config.logLevel, undefined, config.logFormat);
  if (cluster.isWorker) {
    // The primary coordinates shutdown; a Ctrl-C reaches the whole process group.
    process.on('SIGINT', () => {});
    process.on('SIGTERM', () => {});
    const server = await startServer(config, { logger, clusterWorker: true });
    process.send?.({ type: 'ds-listening', url: server.url, publicUrl: server.publicUrl } satisfies WorkerMessage);
    process.on('message', (message: WorkerMessage) => {
      if (message?.type === 'ds-close') void server.close().then(() => process.exit(0));
    });
    return new Promise<RunningServer>(() => {});
  }

  // Primary: migrate and initialise once, so a generated password is made (and shown) once.
  const setup = await initDs(config, options.adminPassword ? { adminPassword: options.adminPassword } : {});
  // A scrape reaches one worker, which asks here for the sum over all of them.
  serveClusterMetrics(cluster);
  warnOpenMetrics(config, logger);
  let closing = false;
  let first: { url: string; publicUrl: string } | undefined;
  const fork = () =>
    new Promise<Worker>((resolve, reject) => {
      const worker = cluster.fork();
      worker.on('message', (message: WorkerMessage) => {
        if (message?.type === 'ds-listening') {
          first ??= { url: message.url, publicUrl: message.publicUrl };
          resolve(worker);
        }
      });
      worker.once('exit', (code, signal) => {
        if (closing) return;
        if (!first) return reject(new Error(`a DS worker exited during start (code ${code}, signal ${signal})`));
        logger.error('DS worker exited; starting another', { pid: worker.process.pid, code, signal });
        void fork().then((w) => workers.add(w), (error) => logger.error('could not restart a DS worker', { error: (error as Error).message }));
      });
    });
  const workers = new Set<Worker>();
  try {
    for (let i = 0; i < options.workers; i++) workers.add(await fork());
  } catch (error) {
    closing = true;
    for (const w of workers) w.kill();
    throw error;
  }
  logger.info('DS workers started', { workers: options.workers });
  return {
    url: first!.url,
    publicUrl: first!.publicUrl,
    initialAdminPassword: setup.generatedPassword,
    async close() {
      closing = true;
      await Promise.all(
        [...workers].map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.isDead()) return resolve();
              const timer = setTimeout(() => w.kill('SIGKILL'), config.shutdownGraceMs + 5000);
              w.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              w.send({ type: 'ds-close' } satisfies WorkerMessage);
            }),
        ),
      );
    },
  };
}
