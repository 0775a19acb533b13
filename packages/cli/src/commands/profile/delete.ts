import { AdminClient, DsApiError } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { knownProfile } from './use.js';

export function registerProfileDelete(profile: Command, ctx: Context): void {
  profile
    .command('delete')
    .argument('<name>', 'profile')
    .description('end the profile\'s session on its DS and remove the profile (asks first; --yes when not interactive)')
    .action((name: string) => run({ name }, ctx));
}

export async function run(options: { name: string }, ctx: Context): Promise<void> {
  const file = await ctx.config.read();
  const profile = knownProfile(file, options.name);
  await confirmOrYes(ctx, `delete profile "${options.name}"${profile.token && profile.url ? ` and end its session on ${profile.url}` : ''}`);
  if (profile.token && profile.url) {
    // A session left open on the server would stay usable until it expires: end it first.
    try {
      await new AdminClient({ baseUrl: profile.url, token: profile.token, fetch: ctx.fetch, timeoutMs: 10_000 }).logout();
    } catch (error) {
      if (!(error instanceof DsApiError)) throw error;
      if (error.status !== 401) {
        ctx.note(`note: could not end the session on ${profile.url} (${error.code}: ${error.description}); it ends by itself${profile.expiresAt ? ` at ${profile.expiresAt}` : ''}`);
      }
    }
  }
  const { [options.name]: _removed, ...profiles } = file.profiles;
  const { current, ...rest } = file;
  await ctx.config.write({ ...rest, ...(current !== undefined && current !== options.name ? { current } : {}), profiles });
  ctx.note(`deleted profile "${options.name}"${current === options.name ? '; there is no current profile now (ds profile use <name>)' : ''}`);
}
