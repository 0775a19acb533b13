import { LabelSchema } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { fetchList, withLimit, type LimitOptions } from '../../lib/list.js';
import { printList, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { labelColumns } from './view.js';

export interface LabelListOptions extends FormatOptions, LimitOptions {
  organization?: string;
}

export function registerLabelList(label: Command, ctx: Context): void {
  withFormatOptions(
    withLimit(label.command('list').alias('ls').description('list labels').option('--org, --organization <name>', 'only the labels of this organization')),
  ).action((options: LabelListOptions) => run(options, ctx));
}

export async function run(options: LabelListOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  const labels = await fetchList(client, (page) => client.listLabels({ ...page, organization: options.organization }), options.limit);
  printList(ctx, options, labels, labelColumns, { schema: LabelSchema, empty: 'no labels' });
}
