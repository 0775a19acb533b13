import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AdminClient, InstallerInput } from '@ds/shared';
import { getOrUndefined } from '../../lib/remote.js';

export const DEMO_ORGANIZATION = 'demo';
export const DEMO_LABELS = ['demo-web', 'demo-portal'] as const;
/** The older allowed version, the recommended one, and the one being rolled out. */
export const DEMO_VERSIONS = [
  { id: '3.7.0', recommended: false, releaseNotes: 'Demo release: an older version that is still allowed.' },
  { id: '3.8.1', recommended: true, releaseNotes: 'Demo release: the recommended version.' },
  { id: '3.8.2', recommended: false, releaseNotes: 'Demo release: rolled out in waves (ds rollout status 3.8.2).' },
] as const;
/** The version the demo rolls out, and its waves: the first wave is in progress when the demo starts. */
export const DEMO_ROLLOUT = { version: '3.8.2', waves: [25, 50, 100] } as const;

const INSTALLER_NAMES: Record<'WIN64' | 'MACOS' | 'MACOSARM' | 'LINUX64', (version: string) => string> = {
  WIN64: (v) => `Trust1Connector-${v}-x64.msi`,
  MACOS: (v) => `Trust1Connector-${v}-x64.dmg`,
  MACOSARM: (v) => `Trust1Connector-${v}-arm64.dmg`,
  LINUX64: (v) => `trust1connector_${v}_amd64.deb`,
};

/** What the demo data gave: the secrets made now (shown once), or null for what already existed. */
export interface DemoData {
  labelKeys: Record<string, string | null>;
  installationKeys: Record<string, string | null>;
  installerFolder: string;
}

/**
 * Writes placeholder installers (a few KB of random bytes each) for one version into
 * `<installerRoot>/demo/<version>/` and answers them as `file:` installers.
 */
export async function writeDemoInstallers(installerRoot: string, version: string): Promise<InstallerInput[]> {
  const folder = join(installerRoot, DEMO_ORGANIZATION, version);
  await mkdir(folder, { recursive: true });
  const installers: InstallerInput[] = [];
  for (const [os, name] of Object.entries(INSTALLER_NAMES)) {
    const bytes = randomBytes(2048 + Math.floor(Math.random() * 4096));
    const path = join(folder, name(version));
    await writeFile(path, bytes);
    installers.push({ os: os as InstallerInput['os'], uri: pathToFileURL(path).href, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return installers;
}

/**
 * Creates organization `demo`, its labels and the two versions with file installers. Only what
 * does not exist yet is created: an existing label or version (perhaps a real one) is left alone.
 */
export async function createDemoData(admin: AdminClient, installerRoot: string): Promise<DemoData> {
  await admin.putOrganization(DEMO_ORGANIZATION, { description: 'Demo data made by `ds demo`' });
  const labelKeys: Record<string, string | null> = {};
  for (const name of DEMO_LABELS) {
    if (await getOrUndefined(() => admin.getLabel(name))) {
      labelKeys[name] = null;
      continue;
    }
    const { data } = await admin.putLabel(name, { organization: DEMO_ORGANIZATION, description: `Demo web application ${name}` });
    labelKeys[name] = data.apiKey ?? null;
  }
  const folder = join(installerRoot, DEMO_ORGANIZATION);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'README.txt'), 'Made by `ds demo`: placeholder installers of random bytes, not real Trust1Connector builds.\n');
  const installationKeys: Record<string, string | null> = {};
  for (const version of DEMO_VERSIONS) {
    if (await getOrUndefined(() => admin.getVersion(version.id))) {
      installationKeys[version.id] = null;
      continue;
    }
    const installers = await writeDemoInstallers(installerRoot, version.id);
    const { data } = await admin.putVersion(version.id, {
      allowed: true,
      recommended: version.recommended,
      mandatory: false,
      releaseNotes: version.releaseNotes,
      installers,
    });
    installationKeys[version.id] = data.installationApiKey ?? null;
  }
  return { labelKeys, installationKeys, installerFolder: folder };
}
