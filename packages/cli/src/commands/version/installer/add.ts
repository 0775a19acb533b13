import { InstallerSchema, type InstallerInput } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../../lib/context.js';
import { confirmOrYes } from '../../../lib/interaction.js';
import { printList, withFormatOptions, type FormatOptions } from '../../../lib/output.js';
import { conditionally } from '../changes.js';
import { installerColumns, osUriArgument, putInstallers, sha256Option, withInstaller } from './installers.js';

export interface InstallerAddOptions extends FormatOptions {
  id: string;
  installer: string;
  sha256?: string;
}

export function registerInstallerAdd(installer: Command, ctx: Context): void {
  withFormatOptions(
    installer
      .command('add')
      .argument('<id>', 'version, e.g. 3.8.1')
      .argument('<os=uri>', 'e.g. win64=file:///srv/t1c/3.8.1/t1c-win64.exe or macos=https://cdn.example/t1c.dmg')
      .option('--sha256 <hex>', 'SHA-256 of the installer (DS computes it for file: installers and checks it when given)')
      .description(
        "add a version's installer for one OS, or replace it (asks first; --yes when not interactive); the other installers keep their URI and checksum",
      ),
  ).action((id: string, installer: string, options: Omit<InstallerAddOptions, 'id' | 'installer'>) => run({ ...options, id, installer }, ctx));
}

export async function run(options: InstallerAddOptions, ctx: Context): Promise<void> {
  const [os, uri] = osUriArgument(options.installer);
  const added: InstallerInput = { os, uri, ...(options.sha256 !== undefined ? { sha256: sha256Option(options.sha256) } : {}) };
  const client = await ctx.client();
  // Must exist: PUT would otherwise publish a new version by accident.
  const { data: version, etag } = await client.getVersionWithEtag(options.id);
  const previous = version.installers.find((i) => i.os === os);
  if (previous) {
    // The replaced installer's checksum is not carried over: DS records the new file's own.
    const what = previous.uri === uri ? 'same URI; its checksum is recorded again' : `${previous.uri} → ${uri}`;
    await confirmOrYes(ctx, `replace the ${os.toLowerCase()} installer of version ${version.id} (${what})`);
  }
  // With the ETag of the read above: an installer someone else changed meanwhile is not undone (412).
  const updated = await conditionally(version.id, `\`ds version installer add\``, () =>
    putInstallers(client, version.id, withInstaller(version.installers, added), os, {}, { ifMatch: etag ?? '*' }),
  );
  ctx.note(`${previous ? 'replaced' : 'added'} the ${os.toLowerCase()} installer of version ${updated.id}`);
  printList(ctx, options, updated.installers, installerColumns, { schema: InstallerSchema, empty: `version ${updated.id} has no installers` });
}
