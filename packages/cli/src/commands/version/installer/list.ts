import { InstallerSchema } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../../lib/context.js';
import { printList, withFormatOptions, type FormatOptions } from '../../../lib/output.js';
import { installerColumns } from './installers.js';

export function registerInstallerList(installer: Command, ctx: Context): void {
  withFormatOptions(
    installer.command('list').alias('ls').argument('<id>', 'version, e.g. 3.8.1').description("list a version's installers with their SHA-256 and size"),
  ).action((id: string, options: FormatOptions) => run({ ...options, id }, ctx));
}

export async function run(options: FormatOptions & { id: string }, ctx: Context): Promise<void> {
  const version = await (await ctx.client()).getVersion(options.id);
  printList(ctx, options, version.installers, installerColumns, { schema: InstallerSchema, empty: `version ${version.id} has no installers` });
}
