import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { valueOrPrompt } from '../../lib/interaction.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { organizationFields } from './view.js';

export interface OrgUpdateOptions extends FormatOptions {
  name: string;
  description?: string;
}

export function registerOrgUpdate(org: Command, ctx: Context): void {
  withFormatOptions(
    org
      .command('update')
      .argument('<name>', 'organization name')
      .option('--description <text>', 'new description ("" clears it)')
      .description('change an existing organization'),
  ).action((name: string, options: Omit<OrgUpdateOptions, 'name'>) => run({ ...options, name }, ctx));
}

export async function run(options: OrgUpdateOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  // Must exist: PUT would otherwise quietly create it.
  const current = await client.getOrganization(options.name);
  const description = await valueOrPrompt(ctx, options.description, '--description', {
    message: 'Description',
    default: current.description ?? '',
  });
  const { data } = await client.putOrganization(options.name, { description: description || null });
  ctx.note(`updated organization ${data.name}`);
  printObject(ctx, options, data, organizationFields(data));
}
