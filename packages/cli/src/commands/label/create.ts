import type { AdminClient } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError, missing } from '../../lib/errors.js';
import { warnShownOnce } from '../../lib/keys.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { alreadyExists, visibleOrUndefined } from '../../lib/remote.js';
import { labelFields } from './view.js';

export interface LabelCreateOptions extends FormatOptions {
  name: string;
  organization?: string;
  description?: string;
}

export function registerLabelCreate(label: Command, ctx: Context): void {
  withFormatOptions(
    label
      .command('create')
      .argument('<name>', 'label name (unique across DS)')
      .option('--org, --organization <name>', 'organization the label belongs to')
      .option('--description <text>', 'what the label is')
      .description('create a label and print its API key (shown once)'),
  ).action((name: string, options: Omit<LabelCreateOptions, 'name'>) => run({ ...options, name }, ctx));
}

export async function run(options: LabelCreateOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  const organization = options.organization ?? (await chooseOrganization(ctx, client));
  if (await visibleOrUndefined(() => client.getLabel(options.name))) {
    throw alreadyExists(`label "${options.name}"`, `ds label update ${options.name}`);
  }
  const { data } = await client.putLabel(options.name, { organization, description: options.description || null });
  ctx.note(`created label ${data.name} in organization ${data.organization}`);
  printObject(ctx, options, data, labelFields(data));
  if (data.apiKey) warnShownOnce(ctx, 'API key');
}

async function chooseOrganization(ctx: Context, client: AdminClient): Promise<string> {
  if (!ctx.isInteractive) throw missing('--org');
  const organizations = await client.all((page) => client.listOrganizations(page));
  if (organizations.length === 0) throw new CliError('there is no organization yet', undefined, 'create one with `ds org create <name>`');
  return ctx.prompter.select({
    message: 'Organization',
    choices: organizations.map((o) => ({ name: o.name, value: o.name, ...(o.description ? { description: o.description } : {}) })),
  });
}
