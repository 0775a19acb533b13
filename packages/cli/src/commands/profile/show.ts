import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { knownProfile } from './use.js';
import { currentProfile, profileFields, profileView } from './view.js';

export function registerProfileShow(profile: Command, ctx: Context): void {
  withFormatOptions(
    profile
      .command('show')
      .argument('[name]', 'profile (default: the one in effect for the DS URL)')
      .description('show one profile: URL, user, session (the token is never shown)'),
  ).action((name: string | undefined, options: FormatOptions) => run({ ...options, name }, ctx));
}

export async function run(options: FormatOptions & { name?: string | undefined }, ctx: Context): Promise<void> {
  const file = await ctx.config.read();
  const name = options.name ?? (await ctx.resolved()).profile;
  const view = profileView(name, knownProfile(file, name), currentProfile(ctx, file), ctx.clock.now());
  printObject(ctx, options, view, [...profileFields(view), ['file', ctx.config.path]]);
}
