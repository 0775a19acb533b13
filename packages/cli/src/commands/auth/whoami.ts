import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';

export function registerWhoami(program: Command, ctx: Context): void {
  withFormatOptions(program.command('whoami').description('show who the configured credential belongs to')).action(
    (options: FormatOptions) => run(options, ctx),
  );
}

export async function run(options: FormatOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  const me = await client.whoami();
  const resolved = await ctx.resolved();
  printObject(ctx, options, me, [
    ['username', me.username],
    ['role', me.role],
    ['organization', me.organization ?? '(all)'],
    ['credential', me.tokenName ? `${me.credential} "${me.tokenName}"` : me.credential],
    ['scopes', me.scopes],
    ['expires', me.expiresAt ?? 'never'],
    ['url', client.baseUrl],
    ['profile', `${resolved.profile} (token from ${resolved.tokenSource})`],
  ]);
}
