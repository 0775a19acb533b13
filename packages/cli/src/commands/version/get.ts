import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { versionFields } from './view.js';

export function registerVersionGet(version: Command, ctx: Context): void {
  withFormatOptions(version.command('get').argument('<id>', 'version, e.g. 3.8.1').description('show a version')).action(
    (id: string, options: FormatOptions) => run({ ...options, id }, ctx),
  );
}

export async function run(options: FormatOptions & { id: string }, ctx: Context): Promise<void> {
  const version = await (await ctx.client()).getVersion(options.id);
  printObject(ctx, options, version, versionFields(version));
}
