import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { tokenFields } from './view.js';

export function registerTokenRevoke(token: Command, ctx: Context): void {
  withFormatOptions(token.command('revoke').argument('<id>', 'token id (see `ds token list`)').description('revoke an admin API token')).action(
    (id: string, options: FormatOptions) => run({ ...options, id }, ctx),
  );
}

export async function run(options: FormatOptions & { id: string }, ctx: Context): Promise<void> {
  const client = await ctx.client();
  await confirmOrYes(ctx, `revoke token ${options.id}`);
  const token = await client.revokeToken(options.id);
  ctx.note(`revoked token ${token.name} (${token.id})`);
  printObject(ctx, options, token, tokenFields(token));
}
