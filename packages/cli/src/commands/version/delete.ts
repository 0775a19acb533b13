import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { deleting, describeRemoved } from '../../lib/remote.js';

export interface VersionDeleteOptions extends FormatOptions {
  id: string;
  force?: boolean;
}

export function registerVersionDelete(version: Command, ctx: Context): void {
  withFormatOptions(
    version
      .command('delete')
      .argument('<id>', 'version, e.g. 3.8.1')
      .option('--force', 'delete it even if devices are registered on it')
      .description('delete a version (asks first; --yes when not interactive)'),
  ).action((id: string, options: Omit<VersionDeleteOptions, 'id'>) => run({ ...options, id }, ctx));
}

export async function run(options: VersionDeleteOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  await confirmOrYes(ctx, `delete version ${options.id}${options.force ? ' and everything that depends on it' : ''}`);
  const result = await deleting(`ds version delete ${options.id}`, () => client.deleteVersion(options.id, options.force));
  if (options.json || options.csv) return printObject(ctx, options, result);
  ctx.out(`deleted version ${result.deleted}${describeRemoved(result)}`);
}
