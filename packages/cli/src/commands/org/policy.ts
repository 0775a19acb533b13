import { API, type Policy, type PolicyPut } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';

function policyFields(p: Policy): [string, unknown][] {
  return [
    ['organization', p.organization],
    ['hold', p.hold ?? '-'],
    ['window', p.window ?? '-'],
    ['prereleases', p.prereleases],
    ['updated', p.updatedAt ?? '-'],
    ['updated by', p.updatedBy ?? '-'],
  ];
}

interface PolicySetOptions extends FormatOptions {
  hold?: string | false;
  window?: string | false;
  prereleases?: boolean;
}

/** `ds org policy show|set|clear`: an organization's update policy, within the operator's limits. */
export function registerOrgPolicy(org: Command, ctx: Context): void {
  const policy = org
    .command('policy')
    .description("an organization's update policy: hold updates to a version range, a maintenance window, pre-releases (mandatory and withdrawn versions ignore it)");

  withFormatOptions(policy.command('show').argument('<org>', 'organization name'))
    .description("show an organization's update policy")
    .action(async (name: string, options: FormatOptions) => {
      const data = await (await ctx.client()).call(API.getOrganizationPolicy, { params: { name } });
      printObject(ctx, options, data, policyFields(data));
    });

  withFormatOptions(
    policy
      .command('set')
      .argument('<org>', 'organization name')
      .option('--hold <range>', "offer only versions in this semver range: '<3.10', '~3.9'")
      .option('--no-hold', 'remove the hold')
      .option('--window <spec>', "offer updates that are not mandatory only then: 'Sat 02:00-06:00 Europe/Brussels', 'Mon-Fri 22:00-02:00 UTC', 'daily 01:00-05:00 UTC'")
      .option('--no-window', 'remove the window')
      .option('--prereleases', 'offer pre-releases to the devices of this organization')
      .option('--no-prereleases', 'stop offering them pre-releases'),
  )
    .description("set an organization's update policy; options not given keep their value")
    .action(async (name: string, options: PolicySetOptions) => {
      const body: PolicyPut = {
        ...(options.hold !== undefined ? { hold: options.hold === false ? null : options.hold } : {}),
        ...(options.window !== undefined ? { window: options.window === false ? null : options.window } : {}),
        ...(options.prereleases !== undefined ? { prereleases: options.prereleases } : {}),
      };
      if (Object.keys(body).length === 0) throw new CliError('nothing to set: pass --hold, --window or --prereleases (or --no-hold, --no-window, --no-prereleases)');
      const data = await (await ctx.client()).call(API.putOrganizationPolicy, { params: { name }, body });
      ctx.note(`set the update policy of ${name}`);
      printObject(ctx, options, data, policyFields(data));
    });

  withFormatOptions(policy.command('clear').argument('<org>', 'organization name'))
    .description("remove an organization's update policy: its devices are offered updates as everyone's")
    .action(async (name: string, options: FormatOptions) => {
      await confirmOrYes(ctx, `clear the update policy of ${name}`);
      const data = await (await ctx.client()).call(API.deleteOrganizationPolicy, { params: { name } });
      ctx.note(`cleared the update policy of ${name}`);
      printObject(ctx, options, data, policyFields(data));
    });
}
