import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { changeLine, conditionally, planVersion } from './changes.js';
import { versionBody, withVersionFlags, type VersionFlags } from './flags.js';
import { versionFields } from './view.js';

export interface VersionUpdateOptions extends FormatOptions, VersionFlags {
  id: string;
}

export function registerVersionUpdate(version: Command, ctx: Context): void {
  withFormatOptions(
    withVersionFlags(version.command('update').argument('<id>', 'version, e.g. 3.8.1'), true).description(
      'change an existing version; flags not given keep their value; --installer replaces the whole set, and removing an installer asks first (--yes when not interactive); `ds version apply` merges installers instead',
    ),
  ).action((id: string, options: Omit<VersionUpdateOptions, 'id'>) => run({ ...options, id }, ctx));
}

export async function run(options: VersionUpdateOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  // Must exist: PUT would otherwise publish a new version by accident.
  const { data: current, etag } = await client.getVersionWithEtag(options.id);
  const body = await versionBody(options, current);
  if (Object.keys(body).length === 0) {
    throw new CliError('nothing to update: pass at least one of --recommended, --mandatory, --allowed (or --no-...), --release-notes, --installer');
  }
  // --installer replaces the whole set: say what that removes, and remove nothing unasked.
  const plan = planVersion(options.id, current, { ...body, installers: body.installers, exact: body.installers !== undefined });
  if (plan.removed.length > 0) {
    const names = plan.removed.map((i) => i.os.toLowerCase()).join(', ');
    ctx.note(`--installer replaces the whole set of installers: this removes ${names} (\`ds version apply\` keeps the installers it is not given)`);
    const what = plan.removed.map((i) => `${i.os.toLowerCase()} ${i.uri}`).join(', ');
    await confirmOrYes(ctx, `remove the ${plan.removed.length === 1 ? 'installer' : 'installers'} ${what} of version ${current.id}`);
  }
  // Sent with the ETag of the version read above: a change saved by someone else in between is
  // refused (412), never silently overwritten.
  const { data } = await conditionally(options.id, `\`ds version update ${options.id}\``, () => client.putVersion(options.id, body, { ifMatch: etag ?? '*' }));
  for (const change of plan.changes) ctx.note(changeLine(change));
  ctx.note(`updated version ${data.id}`);
  printObject(ctx, options, data, versionFields(data));
}
