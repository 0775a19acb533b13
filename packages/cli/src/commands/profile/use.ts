import type { Command } from 'commander';
import type { ConfigFile, Profile } from '../../lib/config.js';
import type { Context } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';

export function registerProfileUse(profile: Command, ctx: Context): void {
  profile
    .command('use')
    .argument('<name>', 'profile (see `ds profile list`)')
    .description('make a profile the current one: commands then go to its DS with its session')
    .action((name: string) => run({ name }, ctx));
}

export async function run(options: { name: string }, ctx: Context): Promise<void> {
  const file = await ctx.config.read();
  const profile = knownProfile(file, options.name);
  await ctx.config.write({ ...file, current: options.name });
  ctx.note(`now using profile "${options.name}" (${profile.url ?? 'no URL yet'}${profile.username ? `, ${profile.username}` : ''})`);
  if (ctx.env.DS_PROFILE && ctx.env.DS_PROFILE !== options.name) ctx.note(`note: DS_PROFILE=${ctx.env.DS_PROFILE} is set and wins over the current profile`);
}

/** The profile of that name, or an error listing the ones there are. */
export function knownProfile(file: ConfigFile, name: string): Profile {
  const profile = file.profiles[name];
  if (profile) return profile;
  const names = Object.keys(file.profiles).sort();
  throw new CliError(
    `no profile "${name}"`,
    undefined,
    names.length > 0 ? `the profiles are ${names.map((n) => `"${n}"`).join(', ')}; \`ds login --profile ${name} --url <url>\` makes one` : `\`ds login --profile ${name} --url <url>\` makes one`,
    { code: 'USAGE' },
  );
}
