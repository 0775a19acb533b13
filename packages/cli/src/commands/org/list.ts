import { OrganizationSchema } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { fetchList, withLimit, type LimitOptions } from '../../lib/list.js';
import { printList, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { organizationColumns } from './view.js';

export interface OrgListOptions extends FormatOptions, LimitOptions {}

export function registerOrgList(org: Command, ctx: Context): void {
  withFormatOptions(withLimit(org.command('list').alias('ls').description('list organizations'))).action(
    (options: OrgListOptions) => run(options, ctx),
  );
}

export async function run(options: OrgListOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  const organizations = await fetchList(client, (page) => client.listOrganizations(page), options.limit);
  printList(ctx, options, organizations, organizationColumns, { schema: OrganizationSchema, empty: 'no organizations' });
}
