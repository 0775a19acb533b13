import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import type { RunningServer, ServerConfig } from '../../lib/server-api.js';
import { serverConfig, withServeFlags, type ServerFlags } from './flags.js';

export function registerServe(program: Command, ctx: Context): void {
  withServeFlags(program.command('serve').description('run DS (creates and migrates the database on first start)')).action(
    (options: ServerFlags) => run(options, ctx),
  );
}

/** A DS started by `ds serve` or `ds demo`, and the first SIGINT/SIGTERM that will stop it. */
export interface Served {
  running: RunningServer;
  config: ServerConfig;
  signalled: Promise<NodeJS.Signals>;
  /** Stops listening for the signals (when DS is closed for another reason). */
  stopListening: () => void;
}

/** Starts DS from the serve flags and the environment, and says where it listens. */
export async function startServing(options: ServerFlags, ctx: Context): Promise<Served> {
  const { server, config } = await serverConfig(ctx, options, {}, true);
  // Listen for signals before starting, so a SIGTERM during start-up still shuts down cleanly.
  let remove = () => {};
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    remove = ctx.onSignal((signal) => {
      // Only the first signal is ours; after that the default applies, so a second Ctrl-C kills at once.
      remove();
      resolve(signal);
    });
  });
  let running;
  try {
    // With several workers this process becomes their primary; in a worker it never returns.
    running = config.workers > 1 ? await server.startServers(config, { workers: config.workers }) : await server.startServer(config);
  } catch (error) {
    remove();
    throw error;
  }
  // With --port 0 the server learns its port only when listening, and so does its public URL.
  const port = new URL(running.url).port;
  const publicUrl = config.port === 0 && /:0$/.test(config.publicUrl) ? config.publicUrl.replace(/:0$/, `:${port}`) : config.publicUrl;
  ctx.note(`DS is listening on ${running.url}${publicUrl !== running.url ? ` (public URL ${publicUrl})` : ''}`);
  return { running, config: { ...config, publicUrl }, signalled, stopListening: () => remove() };
}

/** Serves until the first SIGINT/SIGTERM, then closes DS cleanly. */
export async function serveUntilSignalled(served: Served, ctx: Context): Promise<void> {
  const signal = await served.signalled;
  ctx.note(`${signal}: stopping DS`);
  await served.running.close();
}

export async function run(options: ServerFlags, ctx: Context): Promise<void> {
  const served = await startServing(options, ctx);
  const { running } = served;
  if (running.initialAdminPassword) {
    ctx.note('');
    ctx.note('First start: created the user "admin" with this password (shown once; change it with `ds user passwd admin`):');
    ctx.note(`  ${running.initialAdminPassword}`);
    ctx.note('');
  }
  ctx.note(`Log in with: ds login --url ${running.url}`);
  await serveUntilSignalled(served, ctx);
}
