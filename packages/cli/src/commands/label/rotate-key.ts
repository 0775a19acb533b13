import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { warnShownOnce } from '../../lib/keys.js';
import { formatDuration, printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { parseDuration } from '../../lib/parse.js';

export interface LabelRotateKeyOptions extends FormatOptions {
  name: string;
  grace?: number;
}

export function registerLabelRotateKey(label: Command, ctx: Context): void {
  withFormatOptions(
    label
      .command('rotate-key')
      .argument('<name>', 'label name')
      .option('--grace <duration>', 'keep the old key valid this long (seconds, or 1h, 7d, ...)', parseDuration)
      .description('issue a new API key for a label (shown once); the old one stops working after the grace period'),
  ).action((name: string, options: Omit<LabelRotateKeyOptions, 'name'>) => run({ ...options, name }, ctx));
}

export async function run(options: LabelRotateKeyOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  const grace = options.grace ? `the old key stays valid for ${formatDuration(options.grace)}` : 'the old key stops working now';
  await confirmOrYes(ctx, `rotate the API key of label "${options.name}" (${grace})`);
  const result = await client.rotateLabelKey(options.name, options.grace);
  printObject(ctx, options, result);
  warnShownOnce(ctx, 'API key');
}
