import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { labelFields } from './view.js';

export function registerLabelRevokeKey(label: Command, ctx: Context): void {
  withFormatOptions(
    label
      .command('revoke-key')
      .argument('<name>', 'label name')
      .description('revoke every API key of a label at once (applications using it stop working)'),
  ).action((name: string, options: FormatOptions) => run({ ...options, name }, ctx));
}

export async function run(options: FormatOptions & { name: string }, ctx: Context): Promise<void> {
  const client = await ctx.client();
  await confirmOrYes(ctx, `revoke every API key of label "${options.name}"`);
  const label = await client.revokeLabelKeys(options.name);
  ctx.note(`revoked the API keys of label ${label.name}; \`ds label rotate-key ${label.name}\` issues a new one`);
  printObject(ctx, options, label, labelFields(label));
}
