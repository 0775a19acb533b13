import { InstallerSchema } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../../lib/context.js';
import { confirmOrYes } from '../../../lib/interaction.js';
import { printList, withFormatOptions, type FormatOptions } from '../../../lib/output.js';
import { conditionally } from '../changes.js';
import { installerColumns, noInstaller, osArgument, putInstallers, withoutInstaller } from './installers.js';

export interface InstallerRemoveOptions extends FormatOptions {
  id: string;
  os: string;
}

export function registerInstallerRemove(installer: Command, ctx: Context): void {
  withFormatOptions(
    installer
      .command('remove')
      .alias('rm')
      .argument('<id>', 'version, e.g. 3.8.1')
      .argument('<os>', 'win32, win64, macos, macosarm, linux32, linux64 or unix')
      .description("remove a version's installer for one OS (asks first; --yes when not interactive); the others keep their URI and checksum"),
  ).action((id: string, os: string, options: FormatOptions) => run({ ...options, id, os }, ctx));
}

export async function run(options: InstallerRemoveOptions, ctx: Context): Promise<void> {
  const os = osArgument(options.os);
  const client = await ctx.client();
  const { data: version, etag } = await client.getVersionWithEtag(options.id);
  const removed = version.installers.find((i) => i.os === os);
  if (!removed) throw noInstaller(version, os);
  await confirmOrYes(ctx, `remove the ${os.toLowerCase()} installer of version ${version.id} (${removed.uri})`);
  const updated = await conditionally(version.id, `\`ds version installer remove\``, () =>
    putInstallers(client, version.id, withoutInstaller(version.installers, os), null, {}, { ifMatch: etag ?? '*' }),
  );
  ctx.note(`removed the ${os.toLowerCase()} installer of version ${updated.id}`);
  printList(ctx, options, updated.installers, installerColumns, { schema: InstallerSchema, empty: `version ${updated.id} has no installers left` });
}
