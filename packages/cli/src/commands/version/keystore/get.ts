import type { Command } from 'commander';
import type { Context } from '../../../lib/context.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../../lib/output.js';
import { configViewFields } from '../config/view.js';

export function registerKeystoreGet(keystore: Command, ctx: Context): void {
  withFormatOptions(
    keystore
      .command('get')
      .argument('<id>', 'version, or "default" for the DS-wide defaults')
      .description('show the SSL keystore config: its own settings, what devices receive, and the digest'),
  ).action((id: string, options: FormatOptions) => run({ ...options, id }, ctx));
}

export async function run(options: FormatOptions & { id: string }, ctx: Context): Promise<void> {
  const view = await (await ctx.client()).getSslKeystoreConfig(options.id);
  printObject(ctx, options, view, configViewFields(view, options.id));
}
