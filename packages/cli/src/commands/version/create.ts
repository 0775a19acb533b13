import { DsApiError, type Version } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { warnShownOnce } from '../../lib/keys.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { alreadyExists, getOrUndefined } from '../../lib/remote.js';
import { versionBody, withVersionFlags, type VersionFlags } from './flags.js';
import { versionFields } from './view.js';

export interface VersionCreateOptions extends FormatOptions, VersionFlags {
  id: string;
}

export function registerVersionCreate(version: Command, ctx: Context): void {
  withFormatOptions(
    withVersionFlags(version.command('create').argument('<id>', 'semantic version, e.g. 3.8.1'), false).description(
      'publish a version and print its installation API key (shown once); allowed unless --no-allowed',
    ),
  ).action((id: string, options: Omit<VersionCreateOptions, 'id'>) => run({ ...options, id }, ctx));
}

export async function run(options: VersionCreateOptions, ctx: Context): Promise<void> {
  const body = await versionBody(options);
  const client = await ctx.client();
  const exists = () => alreadyExists(`version ${options.id}`, `ds version apply ${options.id} ...\` (creates or updates) or \`ds version update ${options.id}`);
  if (await getOrUndefined(() => client.getVersion(options.id))) throw exists();
  let data: Version;
  try {
    // Create only (If-None-Match: *): a version someone else created since the GET is not updated.
    ({ data } = await client.putVersion(options.id, body, { ifNoneMatch: '*' }));
  } catch (error) {
    if (error instanceof DsApiError && error.code === 'PRECONDITION_FAILED') throw exists();
    throw error;
  }
  ctx.note(`created version ${data.id}`);
  printObject(ctx, options, data, versionFields(data));
  if (data.installationApiKey) warnShownOnce(ctx, 'installation API key');
}
