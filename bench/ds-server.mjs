// Starts a built DS (the same startServer `ds serve` uses) for the benchmarks; stops on SIGTERM.
import { loadConfig, startServer } from '../packages/server/dist/index.js';

const config = loadConfig(process.env, { port: 0, databaseUrl: process.argv[2] });
const server = await startServer(config);
process.stderr.write(`DS is listening on ${server.url}\n`);
process.once('SIGTERM', () => server.close().then(() => process.exit(0)));
