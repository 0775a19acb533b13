import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { printList, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { currentProfile, profileColumns, profileView } from './view.js';

export function registerProfileList(profile: Command, ctx: Context): void {
  withFormatOptions(profile.command('list').alias('ls').description('list the profiles of the config file: URL, user, session (tokens are never shown)')).action(
    (options: FormatOptions) => run(options, ctx),
  );
}

export async function run(options: FormatOptions, ctx: Context): Promise<void> {
  const file = await ctx.config.read();
  const current = currentProfile(ctx, file);
  const rows = Object.entries(file.profiles)
    .map(([name, profile]) => profileView(name, profile, current, ctx.clock.now()))
    .sort((a, b) => a.name.localeCompare(b.name));
  printList(ctx, options, rows, profileColumns, { empty: `no profiles in ${ctx.config.path}: log in with \`ds login\`` });
}
