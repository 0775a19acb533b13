import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { labelFields } from './view.js';

export interface LabelUpdateOptions extends FormatOptions {
  name: string;
  organization?: string;
  description?: string;
}

export function registerLabelUpdate(label: Command, ctx: Context): void {
  withFormatOptions(
    label
      .command('update')
      .argument('<name>', 'label name')
      .option('--org, --organization <name>', 'move the label to this organization')
      .option('--description <text>', 'new description ("" clears it)')
      .description('change an existing label'),
  ).action((name: string, options: Omit<LabelUpdateOptions, 'name'>) => run({ ...options, name }, ctx));
}

export async function run(options: LabelUpdateOptions, ctx: Context): Promise<void> {
  if (options.organization === undefined && options.description === undefined) {
    throw new CliError('nothing to update: pass --org and/or --description');
  }
  const client = await ctx.client();
  // Must exist (PUT would create it), and PUT needs the organization even when only the description changes.
  const current = await client.getLabel(options.name);
  const { data } = await client.putLabel(options.name, {
    organization: options.organization ?? current.organization,
    description: options.description === undefined ? current.description : options.description || null,
  });
  ctx.note(`updated label ${data.name}`);
  printObject(ctx, options, data, labelFields(data));
}
