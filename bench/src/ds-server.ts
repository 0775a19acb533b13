// Starts a built DS (the same code `ds serve` runs) for the benchmarks; stops on SIGTERM.
// DS_WORKERS > 1 runs that many processes sharing the port.
import cluster from 'node:cluster';
import { loadConfig, startServers } from '@ds/server';

const config = loadConfig(process.env, { port: Number(process.env.BENCH_PORT ?? 0), databaseUrl: process.argv[2] });
const server = await startServers(config, { workers: Number(process.env.DS_WORKERS ?? 1) });
if (cluster.isPrimary) {
  process.stderr.write(`DS is listening on ${server.url}\n`);
  process.once('SIGTERM', () => server.close().then(() => process.exit(0)));
}
