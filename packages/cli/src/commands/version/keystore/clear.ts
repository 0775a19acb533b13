import type { Command } from 'commander';
import type { Context } from '../../../lib/context.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../../lib/output.js';
import { configViewFields } from '../config/view.js';

export function registerKeystoreClear(keystore: Command, ctx: Context): void {
  withFormatOptions(
    keystore
      .command('clear')
      .argument('<id>', 'version, or "default" for the DS-wide defaults')
      .description("remove a version's own SSL keystore config (the default applies again)"),
  ).action((id: string, options: FormatOptions) => run({ ...options, id }, ctx));
}

export async function run(options: FormatOptions & { id: string }, ctx: Context): Promise<void> {
  const view = await (await ctx.client()).putSslKeystoreConfig(options.id, null);
  ctx.note(`removed the SSL keystore config of ${options.id}`);
  printObject(ctx, options, view, configViewFields(view, options.id));
}
