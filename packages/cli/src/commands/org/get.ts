import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { organizationFields } from './view.js';

export function registerOrgGet(org: Command, ctx: Context): void {
  withFormatOptions(org.command('get').argument('<name>', 'organization name').description('show an organization')).action(
    (name: string, options: FormatOptions) => run({ ...options, name }, ctx),
  );
}

export async function run(options: FormatOptions & { name: string }, ctx: Context): Promise<void> {
  const organization = await (await ctx.client()).getOrganization(options.name);
  printObject(ctx, options, organization, organizationFields(organization));
}
