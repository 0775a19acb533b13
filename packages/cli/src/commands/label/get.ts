import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { labelFields } from './view.js';

export function registerLabelGet(label: Command, ctx: Context): void {
  withFormatOptions(label.command('get').argument('<name>', 'label name').description('show a label and its API keys')).action(
    (name: string, options: FormatOptions) => run({ ...options, name }, ctx),
  );
}

export async function run(options: FormatOptions & { name: string }, ctx: Context): Promise<void> {
  const label = await (await ctx.client()).getLabel(options.name);
  printObject(ctx, options, label, labelFields(label));
}
