import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { deleting, describeRemoved } from '../../lib/remote.js';

export interface LabelDeleteOptions extends FormatOptions {
  name: string;
  force?: boolean;
}

export function registerLabelDelete(label: Command, ctx: Context): void {
  withFormatOptions(
    label
      .command('delete')
      .argument('<name>', 'label name')
      .option('--force', 'also delete what depends on it (counters, ...)')
      .description('delete a label (asks first; --yes when not interactive)'),
  ).action((name: string, options: Omit<LabelDeleteOptions, 'name'>) => run({ ...options, name }, ctx));
}

export async function run(options: LabelDeleteOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  await confirmOrYes(ctx, `delete label "${options.name}"${options.force ? ' and everything that depends on it' : ''}`);
  const result = await deleting(`ds label delete ${options.name}`, () => client.deleteLabel(options.name, options.force));
  if (options.json || options.csv) return printObject(ctx, options, result);
  ctx.out(`deleted label ${result.deleted}${describeRemoved(result)}`);
}
