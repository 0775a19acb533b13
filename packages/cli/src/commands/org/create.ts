import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { alreadyExists, visibleOrUndefined } from '../../lib/remote.js';
import { organizationFields } from './view.js';

export interface OrgCreateOptions extends FormatOptions {
  name: string;
  description?: string;
}

export function registerOrgCreate(org: Command, ctx: Context): void {
  withFormatOptions(
    org
      .command('create')
      .argument('<name>', 'organization name')
      .option('--description <text>', 'what the organization is')
      .description('create an organization'),
  ).action((name: string, options: Omit<OrgCreateOptions, 'name'>) => run({ ...options, name }, ctx));
}

export async function run(options: OrgCreateOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  if (await visibleOrUndefined(() => client.getOrganization(options.name))) {
    throw alreadyExists(`organization "${options.name}"`, `ds org update ${options.name} --description ...`);
  }
  const { data } = await client.putOrganization(options.name, { description: options.description || null });
  ctx.note(`created organization ${data.name}`);
  printObject(ctx, options, data, organizationFields(data));
}
