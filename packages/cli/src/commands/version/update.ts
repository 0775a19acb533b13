import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { versionBody, withVersionFlags, type VersionFlags } from './flags.js';
import { versionFields } from './view.js';

export interface VersionUpdateOptions extends FormatOptions, VersionFlags {
  id: string;
}

export function registerVersionUpdate(version: Command, ctx: Context): void {
  withFormatOptions(
    withVersionFlags(version.command('update').argument('<id>', 'version, e.g. 3.8.1'), true).description(
      'change an existing version; flags not given keep their value',
    ),
  ).action((id: string, options: Omit<VersionUpdateOptions, 'id'>) => run({ ...options, id }, ctx));
}

export async function run(options: VersionUpdateOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  // Must exist: PUT would otherwise publish a new version by accident.
  const current = await client.getVersion(options.id);
  const body = await versionBody(options, current);
  if (Object.keys(body).length === 0) {
    throw new CliError('nothing to update: pass at least one of --recommended, --mandatory, --allowed (or --no-...), --release-notes, --installer');
  }
  const { data } = await client.putVersion(options.id, body);
  ctx.note(`updated version ${data.id}`);
  printObject(ctx, options, data, versionFields(data));
}
