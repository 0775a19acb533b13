import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { printList, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { keyColumns } from './view.js';

export function registerKeysList(keys: Command, ctx: Context): void {
  withFormatOptions(keys.command('list').alias('ls').description('list the DS key pairs: current, retired (still published) and expired')).action(
    (options: FormatOptions) => run(options, ctx),
  );
}

export async function run(options: FormatOptions, ctx: Context): Promise<void> {
  const keys = await (await ctx.client()).listKeys();
  printList(ctx, options, keys, keyColumns, { empty: 'no DS keys' });
}
