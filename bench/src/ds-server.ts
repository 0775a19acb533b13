// Starts a built DS (the same code `ds serve` runs) for the benchmarks; stops on SIGTERM.
// DS_WORKERS > 1 runs that many processes sharing the port.
// BENCH_QUERY_COUNT_DIR: each process counts the queries it sends to PostgreSQL (each one a round
// trip: node-postgres does not pipeline) and writes the count to `<dir>/<pid>` on SIGUSR2.
import cluster from 'node:cluster';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadConfig, startServers } from '@ds/server';

const countDir = process.env.BENCH_QUERY_COUNT_DIR;
if (countDir) {
  // The pg DS loads (the bench has no dependency of its own on it).
  const pg = createRequire(import.meta.resolve('@ds/server'))('pg') as { Client: { prototype: { query: (...args: unknown[]) => unknown } } };
  const query = pg.Client.prototype.query;
  let queries = 0;
  pg.Client.prototype.query = function (this: unknown, ...args: unknown[]) {
    queries += 1;
    return query.apply(this, args);
  };
  process.on('SIGUSR2', () => writeFileSync(join(countDir, String(process.pid)), String(queries)));
}

const config = loadConfig(process.env, { port: Number(process.env.BENCH_PORT ?? 0), databaseUrl: process.argv[2] });
const server = await startServers(config, { workers: Number(process.env.DS_WORKERS ?? 1) });
if (cluster.isPrimary) {
  process.stderr.write(`DS is listening on ${server.url}\n`);
  process.once('SIGTERM', () => server.close().then(() => process.exit(0)));
}
