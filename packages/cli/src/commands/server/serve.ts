import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { serverConfig, withServeFlags, type ServerFlags } from './flags.js';

export function registerServe(program: Command, ctx: Context): void {
  withServeFlags(program.command('serve').description('run DS (creates and migrates the database on first start)')).action(
    (options: ServerFlags) => run(options, ctx),
  );
}

export async function run(options: ServerFlags, ctx: Context): Promise<void> {
  const { server, config } = await serverConfig(ctx, options);
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
    running = await server.startServer(config);
  } catch (error) {
    remove();
    throw error;
  }
  ctx.note(`DS is listening on ${running.url}${config.publicUrl !== running.url ? ` (public URL ${config.publicUrl})` : ''}`);
  if (running.initialAdminPassword) {
    ctx.note('');
    ctx.note('First start: created the user "admin" with this password (shown once; change it with `ds user passwd admin`):');
    ctx.note(`  ${running.initialAdminPassword}`);
    ctx.note('');
  }
  ctx.note(`Log in with: ds login --url ${running.url}`);
  const signal = await signalled;
  ctx.note(`${signal}: stopping DS`);
  await running.close();
}
