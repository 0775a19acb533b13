import { readFile } from 'node:fs/promises';
import { VersionPutSchema, type InstallerInput, type InstallerOsJson, type Version } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';
import { warnShownOnce } from '../../lib/keys.js';
import { json, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { collect } from '../../lib/parse.js';
import { getOrUndefined } from '../../lib/remote.js';
import { changeLine, conditionally, planVersion, type VersionSpec } from './changes.js';
import { osPair, withVersionFlags, type VersionFlags } from './flags.js';
import { osArgument, putInstallers } from './installer/installers.js';

export interface VersionApplyOptions extends FormatOptions, VersionFlags {
  id: string;
  file?: string;
  removeInstaller?: string[];
  exact?: boolean;
}

export function registerVersionApply(version: Command, ctx: Context): void {
  withFormatOptions(
    withVersionFlags(version.command('apply').argument('<id>', 'semantic version, e.g. 3.9.0'), false)
      .option('--file <path>', 'start from this JSON file (the body of PUT /admin/versions/{id}; "-" reads stdin); flags override it')
      .option('--remove-installer <os>', 'make sure the version has no installer for this OS (repeatable)', collect)
      .option('--exact', 'the installers are exactly those given: any other one is removed')
      .description(
        'create or update a version to be what the flags (and --file) say, print what changed, and change nothing when nothing differs; ' +
          'installers are merged by OS: one not named is kept unless --remove-installer or --exact says otherwise',
      ),
  ).action((id: string, options: Omit<VersionApplyOptions, 'id'>) => run({ ...options, id }, ctx));
}

export async function run(options: VersionApplyOptions, ctx: Context): Promise<void> {
  const command = `\`ds version apply ${options.id}\``;
  const fromFile = options.file !== undefined ? await readSpecFile(options.file, options.id, ctx) : {};
  const spec = await specOf(options, fromFile);
  const client = await ctx.client();
  const current = await getOrUndefined(() => client.getVersionWithEtag(options.id));
  const plan = planVersion(options.id, current?.data, spec);
  const report = (line: string) => (options.json ? ctx.note(line) : ctx.out(line));

  if (current && plan.changes.length === 0) {
    ctx.note(`version ${options.id} is up to date: nothing to change`);
    if (options.json) ctx.stdout.write(json(current.data));
    return;
  }
  // The version must still be what was read (If-Match), or still not exist (If-None-Match: *): a
  // change saved by someone else in between is never overwritten, nor a version created meanwhile.
  const preconditions = current ? { ifMatch: current.etag ?? '*' } : { ifNoneMatch: '*' as const };
  let result: Version;
  if (plan.body.installers) {
    const changed = (spec.installers ?? []).map((i) => i.os.toUpperCase());
    result = await conditionally(options.id, command, () => putInstallers(client, options.id, plan.body.installers!, changed, plan.body, preconditions));
  } else {
    result = (await conditionally(options.id, command, () => client.putVersion(options.id, plan.body, preconditions))).data;
  }
  for (const change of plan.changes) report(changeLine(change));
  ctx.note(`${current ? 'updated' : 'created'} version ${result.id}`);
  if (options.json) ctx.stdout.write(json(result));
  else if (result.installationApiKey) ctx.out(`installation API key: ${result.installationApiKey}`);
  if (result.installationApiKey) warnShownOnce(ctx, 'installation API key');
}

/** The flags over the file: a flag wins over the same field of the file, an installer over the file's of the same OS. */
async function specOf(options: VersionApplyOptions, file: VersionSpec): Promise<VersionSpec> {
  const spec: VersionSpec = { ...file };
  if (options.recommended !== undefined) spec.recommended = options.recommended;
  if (options.mandatory !== undefined) spec.mandatory = options.mandatory;
  if (options.allowed !== undefined) spec.allowed = options.allowed;
  if (options.releaseNotes !== undefined) spec.releaseNotes = options.releaseNotes || null;
  if (options.releaseNotesFile !== undefined) {
    try {
      spec.releaseNotes = (await readFile(options.releaseNotesFile, 'utf8')) || null;
    } catch (error) {
      throw new CliError(`--release-notes-file: cannot read ${options.releaseNotesFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  const installers = new Map((file.installers ?? []).map((i) => [i.os.toUpperCase(), i]));
  const named = new Set<string>();
  for (const pair of options.installer ?? []) {
    const [os, uri] = osPair(pair, '--installer', 'os=uri');
    if (named.has(os)) throw new CliError(`--installer: ${os.toLowerCase()} is given twice`);
    named.add(os);
    if (uri === '') throw new CliError(`--installer ${pair}: the URI is empty`);
    installers.set(os, { os, uri });
  }
  for (const pair of options.installerSha256 ?? []) {
    const [os, sha256] = osPair(pair, '--installer-sha256', 'os=hex');
    if (!/^[0-9a-fA-F]{64}$/.test(sha256)) throw new CliError(`--installer-sha256 ${pair}: the checksum must be 64 hexadecimal characters`);
    const installer = installers.get(os);
    if (!installer) throw new CliError(`--installer-sha256: there is no --installer (or installer in --file) for ${os.toLowerCase()}`);
    installers.set(os, { ...installer, sha256: sha256.toLowerCase() });
  }
  if (installers.size > 0 || options.exact) spec.installers = [...installers.values()];
  if (options.removeInstaller) spec.removeInstallers = options.removeInstaller.map((name) => osArgument(name) as InstallerOsJson);
  if (options.exact) spec.exact = true;
  return spec;
}

/** A JSON file (or stdin) holding a PUT body, checked with DS's own schema; the error names the field. */
async function readSpecFile(path: string, id: string, ctx: Context): Promise<VersionSpec> {
  let text: string;
  try {
    text = path === '-' ? await ctx.readStdin() : await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(`--file: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const where = path === '-' ? 'stdin' : path;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`--file: ${where} is not JSON: ${(error as Error).message}`);
  }
  // The id may be there too (it is the argument): it must then be the same.
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'id' in value) {
    const { id: inFile, ...rest } = value as Record<string, unknown>;
    if (inFile !== id) throw new CliError(`--file: ${where} is for version ${JSON.stringify(inFile)}, not ${id}`);
    value = rest;
  }
  const parsed = VersionPutSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join('.') : '(the whole file)';
    throw new CliError(`--file: ${where}: ${field}: ${issue.message}`, undefined, 'the file holds the body of PUT /v3_5/admin/versions/{id}: recommended, mandatory, allowed, releaseNotes, installers [{os, uri, sha256?}], contextConfig, sslKeystoreConfig');
  }
  const seen = new Set<string>();
  for (const [index, installer] of (parsed.data.installers ?? []).entries()) {
    if (seen.has(installer.os)) throw new CliError(`--file: ${where}: installers.${index}.os: ${installer.os.toLowerCase()} is given twice`);
    seen.add(installer.os);
  }
  return parsed.data as VersionSpec & { installers?: InstallerInput[] };
}
