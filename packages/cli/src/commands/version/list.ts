import { VersionSchema } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { fetchList, withLimit, type LimitOptions } from '../../lib/list.js';
import { printList, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { versionColumns } from './view.js';

export interface VersionListOptions extends FormatOptions, LimitOptions {}

export function registerVersionList(version: Command, ctx: Context): void {
  withFormatOptions(withLimit(version.command('list').alias('ls').description('list T1C versions'))).action(
    (options: VersionListOptions) => run(options, ctx),
  );
}

export async function run(options: VersionListOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  const versions = await fetchList(client, (page) => client.listVersions(page), options.limit);
  printList(ctx, options, versions, versionColumns, { schema: VersionSchema, empty: 'no versions' });
}
