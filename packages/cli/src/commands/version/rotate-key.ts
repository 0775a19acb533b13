import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { warnShownOnce } from '../../lib/keys.js';
import { formatDuration, printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { parseDuration } from '../../lib/parse.js';

export interface VersionRotateKeyOptions extends FormatOptions {
  id: string;
  grace?: number;
}

export function registerVersionRotateKey(version: Command, ctx: Context): void {
  withFormatOptions(
    version
      .command('rotate-key')
      .argument('<id>', 'version, e.g. 3.8.1')
      .option('--grace <duration>', 'keep the old key valid this long (seconds, or 1h, 7d, ...)', parseDuration)
      .description('issue a new installation API key (shown once); the old one stops working after the grace period'),
  ).action((id: string, options: Omit<VersionRotateKeyOptions, 'id'>) => run({ ...options, id }, ctx));
}

export async function run(options: VersionRotateKeyOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  const grace = options.grace ? `the old key stays valid for ${formatDuration(options.grace)}` : 'the old key stops working now';
  await confirmOrYes(ctx, `rotate the installation API key of version ${options.id} (${grace})`);
  const result = await client.rotateVersionKey(options.id, options.grace);
  printObject(ctx, options, result);
  warnShownOnce(ctx, 'installation API key');
}
