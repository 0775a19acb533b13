import type { SslKeystoreConfig } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../../lib/context.js';
import { CliError } from '../../../lib/errors.js';
import { valueOrPrompt } from '../../../lib/interaction.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../../lib/output.js';
import { configViewFields } from '../config/view.js';

export interface KeystoreSetOptions extends FormatOptions {
  id: string;
  uri?: string;
  sha256?: string;
  notAfter?: string;
}

export function registerKeystoreSet(keystore: Command, ctx: Context): void {
  withFormatOptions(
    keystore
      .command('set')
      .argument('<id>', 'version, or "default" for the DS-wide defaults')
      .option('--uri <url>', 'http(s) URL devices download the keystore from')
      .option('--sha256 <hex>', 'SHA-256 of the keystore file')
      .option('--not-after <iso>', 'when the keystore expires (ISO-8601)')
      .description("set a version's SSL keystore config"),
  ).action((id: string, options: Omit<KeystoreSetOptions, 'id'>) => run({ ...options, id }, ctx));
}

export async function run(options: KeystoreSetOptions, ctx: Context): Promise<void> {
  const uri = await valueOrPrompt(ctx, options.uri, '--uri', { message: 'Keystore URL', validate: (v) => /^https?:\/\/\S+$/.test(v) || 'must be an http(s) URL' });
  const sha256 = await valueOrPrompt(ctx, options.sha256, '--sha256', {
    message: 'Keystore SHA-256',
    validate: (v) => /^[0-9a-fA-F]{64}$/.test(v) || 'must be 64 hexadecimal characters',
  });
  if (!/^[0-9a-fA-F]{64}$/.test(sha256)) throw new CliError('--sha256: must be 64 hexadecimal characters');
  const config: SslKeystoreConfig = { uri, sha256: sha256.toLowerCase() };
  if (options.notAfter !== undefined) {
    const time = new Date(options.notAfter);
    if (Number.isNaN(time.getTime())) throw new CliError(`--not-after ${options.notAfter}: not a date; use ISO-8601 such as 2026-12-31T23:59:59Z`);
    config.notAfter = time.toISOString();
  }
  const view = await (await ctx.client()).putSslKeystoreConfig(options.id, config);
  ctx.note(`updated the SSL keystore config of ${options.id}`);
  printObject(ctx, options, view, configViewFields(view, options.id));
}
