import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { deleting, describeRemoved } from '../../lib/remote.js';

export interface OrgDeleteOptions extends FormatOptions {
  name: string;
  force?: boolean;
}

export function registerOrgDelete(org: Command, ctx: Context): void {
  withFormatOptions(
    org
      .command('delete')
      .argument('<name>', 'organization name')
      .option('--force', 'also delete its labels and everything that depends on them')
      .description('delete an organization (asks first; --yes when not interactive)'),
  ).action((name: string, options: Omit<OrgDeleteOptions, 'name'>) => run({ ...options, name }, ctx));
}

export async function run(options: OrgDeleteOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  await confirmOrYes(ctx, `delete organization "${options.name}"${options.force ? ' and everything in it' : ''}`);
  const result = await deleting(`ds org delete ${options.name}`, () => client.deleteOrganization(options.name, options.force));
  if (options.json || options.csv) return printObject(ctx, options, result);
  ctx.out(`deleted organization ${result.deleted}${describeRemoved(result)}`);
}
