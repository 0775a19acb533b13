import { DsApiError, type ContextConfig, type InstallerInput, type InstallerOsJson, type SslKeystoreConfig, type Version, type VersionPut } from '@ds/shared';
import { CliError } from '../../lib/errors.js';
import { keep } from './installer/installers.js';

// What `ds version apply` and `ds version update` change, worked out before anything is sent: the
// PUT body holds only what differs, and the same list of changes is what they print.

/** What a caller wants a version to be; fields left out are not its business. */
export interface VersionSpec {
  recommended?: boolean | undefined;
  mandatory?: boolean | undefined;
  allowed?: boolean | undefined;
  releaseNotes?: string | null | undefined;
  /** Installers to have (OS in upper case); without a sha256 the recorded checksum is kept for the same URI. */
  installers?: InstallerInput[] | undefined;
  /** Installers not to have; one the version does not have is no change. */
  removeInstallers?: InstallerOsJson[] | undefined;
  /** The installers are exactly {@link installers}: any other one is removed. */
  exact?: boolean | undefined;
  contextConfig?: ContextConfig | null | undefined;
  sslKeystoreConfig?: SslKeystoreConfig | null | undefined;
}

/** One difference: `+` added, `-` removed, `~` changed. */
export interface Change {
  sign: '+' | '-' | '~';
  what: string;
  from?: string;
  to?: string;
}

export interface Plan {
  /** The PUT body: only what differs (everything asked for, on creation). */
  body: VersionPut;
  changes: Change[];
  /** The installers the plan removes. */
  removed: { os: InstallerOsJson; uri: string }[];
}

const quoted = (text: string | null | undefined) => (text === null || text === undefined ? '(none)' : JSON.stringify(text));
const os = (value: string) => value.toLowerCase();

/** Key order does not make two configs differ. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * The changes that make `current` (undefined: the version does not exist) what `spec` asks for.
 * Installers are merged by OS: one given replaces the installer of its OS, the others stay,
 * unless removed by name or `exact` is set.
 */
export function planVersion(id: string, current: Version | undefined, spec: VersionSpec): Plan {
  const body: VersionPut = {};
  const changes: Change[] = [];
  const removed: Plan['removed'] = [];
  const removing = new Set(spec.removeInstallers ?? []);
  for (const installer of spec.installers ?? []) {
    if (removing.has(installer.os as InstallerOsJson)) throw new CliError(`the ${os(installer.os)} installer is both given and to be removed`);
  }

  if (!current) {
    changes.push({ sign: '+', what: `version ${id}` });
    for (const field of ['recommended', 'mandatory', 'allowed'] as const) {
      if (spec[field] !== undefined) {
        body[field] = spec[field];
        changes.push({ sign: '+', what: field, to: String(spec[field]) });
      }
    }
    if (spec.releaseNotes !== undefined) {
      body.releaseNotes = spec.releaseNotes || null;
      changes.push({ sign: '+', what: 'release notes', to: quoted(body.releaseNotes) });
    }
    if (spec.installers && spec.installers.length > 0) {
      body.installers = spec.installers;
      for (const i of spec.installers) changes.push({ sign: '+', what: `installer ${os(i.os)}`, to: i.uri });
    }
    for (const kind of ['contextConfig', 'sslKeystoreConfig'] as const) {
      if (spec[kind] !== undefined && spec[kind] !== null) {
        body[kind] = spec[kind] as never;
        changes.push({ sign: '+', what: kind === 'contextConfig' ? 'context config' : 'keystore config', to: canonical(spec[kind]) });
      }
    }
    return { body, changes, removed };
  }

  for (const field of ['recommended', 'mandatory', 'allowed'] as const) {
    if (spec[field] !== undefined && spec[field] !== current[field]) {
      body[field] = spec[field];
      changes.push({ sign: '~', what: field, from: String(current[field]), to: String(spec[field]) });
    }
  }
  if (spec.releaseNotes !== undefined && (spec.releaseNotes || null) !== current.releaseNotes) {
    body.releaseNotes = spec.releaseNotes || null;
    changes.push({ sign: '~', what: 'release notes', from: quoted(current.releaseNotes), to: quoted(body.releaseNotes) });
  }

  if (spec.installers !== undefined || removing.size > 0 || spec.exact) {
    const given = new Map((spec.installers ?? []).map((i) => [i.os.toUpperCase(), i]));
    const target: InstallerInput[] = [];
    let differs = false;
    for (const installer of current.installers) {
      const wanted = given.get(installer.os);
      if (removing.has(installer.os) || (spec.exact && !wanted)) {
        differs = true;
        removed.push({ os: installer.os, uri: installer.uri });
        changes.push({ sign: '-', what: `installer ${os(installer.os)}`, from: installer.uri });
      } else if (!wanted || (wanted.uri === installer.uri && (wanted.sha256 === undefined || wanted.sha256 === installer.sha256))) {
        target.push(keep(installer));
      } else {
        differs = true;
        target.push(wanted);
        changes.push(
          wanted.uri === installer.uri
            ? { sign: '~', what: `installer ${os(installer.os)} sha256`, from: installer.sha256 ?? '(none)', to: wanted.sha256! }
            : { sign: '~', what: `installer ${os(installer.os)}`, from: installer.uri, to: wanted.uri },
        );
      }
    }
    for (const [name, wanted] of given) {
      if (current.installers.some((i) => i.os === name)) continue;
      differs = true;
      target.push(wanted);
      changes.push({ sign: '+', what: `installer ${os(name)}`, to: wanted.uri });
    }
    if (differs) body.installers = target;
  }

  for (const kind of ['contextConfig', 'sslKeystoreConfig'] as const) {
    const wanted = spec[kind];
    if (wanted === undefined) continue;
    const own = current[kind].own ?? null;
    if (canonical(own) === canonical(wanted)) continue;
    body[kind] = wanted as never;
    const what = kind === 'contextConfig' ? 'context config' : 'keystore config';
    changes.push(wanted === null ? { sign: '-', what, from: canonical(own) } : { sign: own === null ? '+' : '~', what, ...(own === null ? {} : { from: canonical(own) }), to: canonical(wanted) });
  }
  return { body, changes, removed };
}

/** `~ recommended: false → true`, `+ installer win64: file:///…`, `- installer unix: file:///…`. */
export function changeLine(change: Change): string {
  if (change.from !== undefined && change.to !== undefined) return `${change.sign} ${change.what}: ${change.from} → ${change.to}`;
  const value = change.to ?? change.from;
  return value === undefined ? `${change.sign} ${change.what}` : `${change.sign} ${change.what}: ${value}`;
}

/**
 * Runs a change sent with If-Match (or If-None-Match: *). DS's 412 means someone else saved the
 * version since this command read it: nothing was written, and running the command again reads
 * the version anew.
 */
export async function conditionally<T>(id: string, command: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!(error instanceof DsApiError) || error.code !== 'PRECONDITION_FAILED') throw error;
    const request = error.requestId ? ` (request ${error.requestId})` : '';
    throw new CliError(
      `PRECONDITION_FAILED: version ${id} changed after ${command} read it (someone else saved it in between); nothing was written${request}`,
      undefined,
      `run ${command} again: it reads the version anew and changes only what still differs`,
    );
  }
}
