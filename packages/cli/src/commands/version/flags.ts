import { readFile } from 'node:fs/promises';
import { OS_VALUES, parseOs, type InstallerInput, type Version, type VersionPut } from '@ds/shared';
import { Option, type Command } from 'commander';
import { CliError } from '../../lib/errors.js';
import { collect } from '../../lib/parse.js';

/** The flags `version create` and `version update` share. */
export interface VersionFlags {
  recommended?: boolean;
  mandatory?: boolean;
  allowed?: boolean;
  releaseNotes?: string;
  releaseNotesFile?: string;
  installer?: string[];
  installerSha256?: string[];
}

export function withVersionFlags(command: Command, update: boolean): Command {
  return command
    .option('--recommended', 'devices on older versions are told to update')
    .option('--no-recommended', 'not recommended')
    .option('--mandatory', 'devices on older versions must update')
    .option('--no-mandatory', 'not mandatory')
    .option('--allowed', 'the version may run and be downloaded')
    .option('--no-allowed', 'the version is withdrawn: devices running it shut down')
    .addOption(new Option('--release-notes <text>', 'release notes').conflicts('releaseNotesFile'))
    .option('--release-notes-file <path>', 'read the release notes from a file')
    .option(
      '--installer <os=uri>',
      `installer of one OS (repeatable), e.g. win64=file:///srv/t1c/3.8.1/t1c-win64.exe${update ? '; replaces the whole set' : ''}`,
      collect,
    )
    .option('--installer-sha256 <os=hex>', 'SHA-256 of an installer (repeatable)', collect);
}

/** Turns the flags into a PUT body holding only what was given, so the server keeps the rest. */
export async function versionBody(flags: VersionFlags, current?: Version): Promise<VersionPut> {
  const body: VersionPut = {};
  if (flags.recommended !== undefined) body.recommended = flags.recommended;
  if (flags.mandatory !== undefined) body.mandatory = flags.mandatory;
  if (flags.allowed !== undefined) body.allowed = flags.allowed;
  if (flags.releaseNotes !== undefined) body.releaseNotes = flags.releaseNotes || null;
  if (flags.releaseNotesFile !== undefined) {
    try {
      body.releaseNotes = (await readFile(flags.releaseNotesFile, 'utf8')) || null;
    } catch (error) {
      throw new CliError(`--release-notes-file: cannot read ${flags.releaseNotesFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  const checksums = new Map<string, string>();
  for (const pair of flags.installerSha256 ?? []) {
    const [os, sha256] = osPair(pair, '--installer-sha256', 'os=hex');
    if (!/^[0-9a-fA-F]{64}$/.test(sha256)) throw new CliError(`--installer-sha256 ${pair}: the checksum must be 64 hexadecimal characters`);
    checksums.set(os, sha256.toLowerCase());
  }
  let installers: InstallerInput[] | undefined;
  if (flags.installer) {
    const seen = new Set<string>();
    installers = flags.installer.map((pair) => {
      const [os, uri] = osPair(pair, '--installer', 'os=uri');
      if (seen.has(os)) throw new CliError(`--installer: ${os.toLowerCase()} is given twice`);
      seen.add(os);
      if (uri === '') throw new CliError(`--installer ${pair}: the URI is empty`);
      return { os, uri };
    });
  } else if (checksums.size > 0 && current) {
    // Only checksums given on update: set them on the installers the version already has.
    installers = current.installers.map((i) => ({ os: i.os, uri: i.uri, ...(i.sha256 ? { sha256: i.sha256 } : {}) }));
  }
  if (checksums.size > 0) {
    if (!installers) throw new CliError('--installer-sha256 needs an --installer for the same OS');
    for (const [os, sha256] of checksums) {
      const installer = installers.find((i) => i.os === os);
      if (!installer) throw new CliError(`--installer-sha256: there is no installer for ${os.toLowerCase()}`);
      installer.sha256 = sha256;
    }
  }
  if (installers) body.installers = installers;
  return body;
}

export function osPair(pair: string, flag: string, shape: string): [string, string] {
  const at = pair.indexOf('=');
  if (at <= 0) throw new CliError(`${flag} ${pair}: expected ${shape}`);
  const os = parseOs(pair.slice(0, at).trim());
  if (!os) throw new CliError(`${flag} ${pair}: unknown OS; use one of ${OS_VALUES.join(', ')}`);
  return [os.toUpperCase(), pair.slice(at + 1).trim()];
}
