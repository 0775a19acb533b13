/** Installer operating systems, lower case in paths and upper case in JSON. */
export const OS_VALUES = ['win32', 'win64', 'macos', 'macosarm', 'linux32', 'linux64', 'unix'] as const;
export type InstallerOs = (typeof OS_VALUES)[number];
export type InstallerOsJson = Uppercase<InstallerOs>;
export const OS_JSON_VALUES = OS_VALUES.map((o) => o.toUpperCase()) as [InstallerOsJson, ...InstallerOsJson[]];

/** Parses an os name in any case; undefined when it is not one of OS_VALUES. */
export function parseOs(value: string): InstallerOs | undefined {
  const lower = value.toLowerCase();
  return (OS_VALUES as readonly string[]).includes(lower) ? (lower as InstallerOs) : undefined;
}

/**
 * The installer a device or visitor needs, from an os name and CPU architecture as T1C reports
 * them (`{name: "Windows", architecture: "x64"}`) or as ua-parser-js reads them from a
 * User-Agent. Undefined when the os cannot be told.
 */
export function installerOsFor(name: string | undefined, architecture: string | undefined): InstallerOs | undefined {
  const os = (name ?? '').toLowerCase();
  const arch = (architecture ?? '').toLowerCase();
  const is64 = /64|arm64|aarch64|amd64|x86_64|x64/.test(arch);
  const isArm = /arm|aarch/.test(arch);
  if (/^win|windows/.test(os)) return arch === '' || is64 ? 'win64' : 'win32';
  if (/mac|darwin|os x/.test(os)) return isArm ? 'macosarm' : 'macos';
  if (/linux|ubuntu|debian|fedora|centos|red hat|suse|mint|arch|gentoo|mandriva|slackware|kubuntu|xubuntu|manjaro/.test(os)) {
    // There is no ARM Linux installer: an x86 one would not run.
    if (isArm) return undefined;
    return arch === '' || is64 ? 'linux64' : 'linux32';
  }
  if (/bsd|solaris|sunos|aix|hp-ux|unix|illumos/.test(os)) return 'unix';
  return undefined;
}
