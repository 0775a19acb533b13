import { DsApiError } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';

export function registerLogout(program: Command, ctx: Context): void {
  program
    .command('logout')
    .description('end the session and remove the token from the profile')
    .action(() => run({}, ctx));
}

export async function run(_options: object, ctx: Context): Promise<void> {
  const resolved = await ctx.resolved();
  if (!resolved.token) {
    ctx.note(`not logged in (profile "${resolved.profile}")`);
    return;
  }
  const client = await ctx.client();
  try {
    await client.logout();
  } catch (error) {
    // An expired or revoked session is as good as logged out; the local token still goes.
    if (!(error instanceof DsApiError && error.status === 401)) throw error;
  }
  const file = await ctx.config.read();
  if (file.profiles[resolved.profile]?.token) {
    await ctx.config.updateProfile(resolved.profile, ({ token: _token, expiresAt: _expiresAt, ...rest }) => rest);
  }
  ctx.note(`logged out of ${resolved.url} (profile "${resolved.profile}")`);
  if (resolved.tokenSource !== 'profile') ctx.note(`note: the token came from ${resolved.tokenSource === 'env' ? 'DS_TOKEN' : '--token'}, which still holds it`);
}
