import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { versionFields } from './view.js';

export function registerVersionRevokeKey(version: Command, ctx: Context): void {
  withFormatOptions(
    version
      .command('revoke-key')
      .argument('<id>', 'version, e.g. 3.8.1')
      .description('revoke every installation API key of a version (new devices cannot register)'),
  ).action((id: string, options: FormatOptions) => run({ ...options, id }, ctx));
}

export async function run(options: FormatOptions & { id: string }, ctx: Context): Promise<void> {
  const client = await ctx.client();
  await confirmOrYes(ctx, `revoke every installation API key of version ${options.id}`);
  const version = await client.revokeVersionKeys(options.id);
  ctx.note(`revoked the installation API keys of version ${version.id}; \`ds version rotate-key ${version.id}\` issues a new one`);
  printObject(ctx, options, version, versionFields(version));
}
