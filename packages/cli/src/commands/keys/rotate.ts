import { Option, type Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { printList, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { keyColumns } from './view.js';

export interface KeysRotateOptions extends FormatOptions {
  type?: 'rsa' | 'ec';
  use: 'sig' | 'enc' | 'both';
}

export function registerKeysRotate(keys: Command, ctx: Context): void {
  withFormatOptions(
    keys
      .command('rotate')
      .addOption(new Option('--type <type>', 'key type of the new pairs (default: the configured DS_KEY_TYPE)').choices(['rsa', 'ec']))
      .addOption(new Option('--use <use>', 'which pair to replace').choices(['sig', 'enc', 'both']).default('both'))
      .description('replace the current DS key pairs; the old ones stay published until what they signed has expired (asks first; --yes when not interactive)'),
  ).action((options: KeysRotateOptions) => run(options, ctx));
}

export async function run(options: KeysRotateOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  const which = options.use === 'both' ? 'signing and encryption key pairs' : options.use === 'sig' ? 'signing key pair' : 'encryption key pair';
  await confirmOrYes(ctx, `replace the DS ${which}${options.type ? ` with new ${options.type.toUpperCase()} keys` : ''} (devices get the new keys at their next sync)`);
  const keys = await client.rotateKeys({ use: options.use, ...(options.type ? { type: options.type } : {}) });
  printList(ctx, options, keys, keyColumns, { empty: 'no DS keys' });
  ctx.note(`rotated the DS ${which}; the replaced keys stay in the JWKS until their "published until" time, so tokens and devices keep working meanwhile`);
}
