import { ApiTokenSchema } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { fetchList, withLimit, type LimitOptions } from '../../lib/list.js';
import { printList, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { tokenColumns } from './view.js';

export interface TokenListOptions extends FormatOptions, LimitOptions {
  all?: boolean;
}

export function registerTokenList(token: Command, ctx: Context): void {
  withFormatOptions(
    withLimit(token.command('list').alias('ls').description('list admin API tokens').option('--all', 'include revoked and expired tokens')),
  ).action((options: TokenListOptions) => run(options, ctx));
}

export async function run(options: TokenListOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  const tokens = await fetchList(client, (page) => client.listTokens({ ...page, all: options.all }), options.limit);
  printList(ctx, options, tokens, tokenColumns, { schema: ApiTokenSchema, empty: 'no tokens' });
}
