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
