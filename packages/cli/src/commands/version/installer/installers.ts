import { DsApiError, OS_VALUES, parseOs, type AdminClient, type Installer, type InstallerInput, type InstallerOsJson, type Preconditions, type Version, type VersionPut } from '@ds/shared';
import { CliError } from '../../../lib/errors.js';
import type { Column } from '../../../lib/output.js';
import { formatSize } from '../view.js';

export const installerColumns: Column<Installer>[] = [
  { header: 'os', value: (i) => i.os.toLowerCase() },
  { header: 'uri', value: (i) => i.uri },
  { header: 'sha256', value: (i) => i.sha256 },
  { header: 'size', value: (i) => (i.size === null ? null : formatSize(i.size)) },
];

/** `win64`, `WIN64`, ... → `WIN64`; an unknown name is an error listing the known ones. */
export function osArgument(text: string): InstallerOsJson {
  const os = parseOs(text.trim());
  if (!os) throw new CliError(`unknown OS "${text}": use one of ${OS_VALUES.join(', ')}`);
  return os.toUpperCase() as InstallerOsJson;
}

/** `win64=file:///srv/t1c.exe` → `["WIN64", "file:///srv/t1c.exe"]` (the URI may contain `=`). */
export function osUriArgument(text: string): [InstallerOsJson, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new CliError(`expected <os>=<uri>, e.g. win64=file:///srv/t1c/3.8.1/t1c-win64.exe, not "${text}"`);
  const os = osArgument(text.slice(0, at));
  const uri = text.slice(at + 1).trim();
  if (uri === '') throw new CliError(`${text}: the URI is empty`);
  return [os, uri];
}

export function sha256Option(text: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(text.trim())) throw new CliError(`--sha256 ${text}: the checksum must be 64 hexadecimal characters`);
  return text.trim().toLowerCase();
}

/**
 * An installer as it goes back into a PUT: same URI and the recorded checksum. Sending the
 * checksum back makes DS refuse a kept `file:` installer whose file changed since it was recorded,
 * instead of silently recording the new content while another installer is being edited.
 */
export function keep(installer: Installer): InstallerInput {
  return { os: installer.os, uri: installer.uri, ...(installer.sha256 ? { sha256: installer.sha256 } : {}) };
}

/**
 * The installer set with `added` in place of the installer of the same OS (at its position), or
 * appended; every other installer is kept with its URI and checksum.
 */
export function withInstaller(current: Installer[], added: InstallerInput): InstallerInput[] {
  const set = current.map((i) => (i.os === added.os ? added : keep(i)));
  return current.some((i) => i.os === added.os) ? set : [...set, added];
}

/** The installer set without the installer of `os`; every other one kept with its URI and checksum. */
export function withoutInstaller(current: Installer[], os: InstallerOsJson): InstallerInput[] {
  return current.filter((i) => i.os !== os).map(keep);
}

/** `version 3.8.1 has no macos installer (it has win64, linux64)`. */
export function noInstaller(version: Version, os: InstallerOsJson): CliError {
  const has = version.installers.map((i) => i.os.toLowerCase());
  return new CliError(
    `version ${version.id} has no ${os.toLowerCase()} installer (${has.length > 0 ? `it has ${has.join(', ')}` : 'it has none'})`,
    undefined,
    `\`ds version installer list ${version.id}\` shows them`,
  );
}

/**
 * PUTs the whole installer set of a version (with `rest` of the body, and the conditions of the
 * read it comes from). DS names a refused installer by its index in the body
 * (`installers[1].uri: ...`); the error keeps DS's description and names the OS, and whether it is
 * an installer being changed or one that was only kept.
 */
export async function putInstallers(
  client: AdminClient,
  id: string,
  installers: InstallerInput[],
  changed: InstallerOsJson | readonly string[] | null,
  rest: VersionPut = {},
  preconditions: Preconditions = {},
): Promise<Version> {
  try {
    return (await client.putVersion(id, { ...rest, installers }, preconditions)).data;
  } catch (error) {
    if (!(error instanceof DsApiError) || (error.code !== 'INVALID_INSTALLER_URI' && error.code !== 'VALIDATION_ERROR')) throw error;
    const index = /^installers\[(\d+)\]\.(\w+)/.exec(error.description);
    const refused = index ? installers[Number(index[1])] : undefined;
    if (!refused) throw error;
    const os = refused.os.toLowerCase();
    const request = error.requestId ? ` (request ${error.requestId})` : '';
    const message = `${error.code}: DS refused the ${os} installer: ${error.description}${request}`;
    const isChanged = Array.isArray(changed) ? changed.includes(refused.os.toUpperCase()) : refused.os === changed;
    if (!isChanged) {
      const hint =
        index![2] === 'sha256'
          ? `the ${os} installer was only kept, but its file changed since its checksum was recorded: \`ds version verify ${id}\` shows it; ` +
            `\`ds version installer add ${id} ${os}=${refused.uri}\` records the new checksum`
          : `the ${os} installer was only kept, as the version already had it; fix it first (\`ds version installer add ${id} ${os}=<uri>\`) or remove it`;
      throw new CliError(message, undefined, hint);
    }
    const hint =
      error.code === 'INVALID_INSTALLER_URI'
        ? 'an installer is a file: URI inside the DS installer root (DS_INSTALLER_ROOT), or an http(s): URL'
        : undefined;
    throw new CliError(message, undefined, hint);
  }
}
