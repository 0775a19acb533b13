import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../lib/errors.js';
import { ALLOW_HINT, checkOutboundUrl, OutboundRefusedError, type OutboundPolicy } from '../lib/outbound.js';

export interface CheckedInstaller {
  os: string;
  uri: string;
  sha256: string | null;
  size: number | null;
  mtime: string | null;
}

const refuse = (field: string, message: string) =>
  new AppError('INVALID_INSTALLER_URI', `${field}: ${message}`, { issues: [{ path: field, message }] });

/** SHA-256 (hex) of a file, streamed in 1 MiB chunks. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Resolves a `file:` installer URI to a real path inside `root`, refusing anything that escapes it
 * (`..`, symlinks pointing out, other hosts) or is not a regular file.
 */
export async function resolveInstallerFile(uri: string, root: string, field: string): Promise<string> {
  // The URL parser removes dot segments ("..", "%2e%2e") before anything can look at the path,
  // so they are looked for in the text as given ("\\" separates segments in file: URLs too).
  const given = uri.replace(/^file:/i, '').split(/[?#]/, 1)[0] ?? '';
  if (given.split(/[\\/]/).some((segment) => /^(\.|%2e){2}$/i.test(segment))) {
    throw refuse(field, `${uri} must not contain ".."`);
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw refuse(field, `${uri} is not a URI; give file:///absolute/path or an https:// URL`);
  }
  if (url.protocol !== 'file:') throw refuse(field, `${uri} is not a file: URI`);
  if (url.host !== '' && url.host !== 'localhost') throw refuse(field, `file URIs must not name a host (${url.host})`);
  if (url.search !== '' || url.hash !== '') throw refuse(field, `file URIs must not have a query or fragment`);
  if (/%2f|%5c/i.test(url.pathname) || decodeURIComponent(url.pathname).split('/').includes('..')) {
    throw refuse(field, `${uri} must not contain ".." or encoded slashes`);
  }
  const path = fileURLToPath(url);
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    throw refuse(field, `the installer root ${root} does not exist (DS_INSTALLER_ROOT)`);
  }
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw refuse(field, `${path} does not exist`);
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) {
    throw refuse(field, `${path} resolves outside the installer root ${realRoot} (DS_INSTALLER_ROOT)`);
  }
  const info = await stat(real);
  if (!info.isFile()) throw refuse(field, `${path} is not a regular file`);
  return real;
}

/** How long saving a version waits for an installer origin's name to resolve. */
export const ORIGIN_RESOLVE_TIMEOUT_MS = 3000;

export interface InstallerCheckOptions {
  /** The only folder file: installers may come from (DS_INSTALLER_ROOT). */
  root: string;
  /** Which addresses http(s) installer origins may have. */
  policy: OutboundPolicy;
  /** Told of an origin accepted although its name does not resolve now. */
  warn?: (message: string) => void;
}

/**
 * Validates an installer and, for files, records checksum, size and modification time. The
 * previous record of the same URI is reused when the file's size and mtime have not changed, so
 * saving a version does not re-read unchanged gigabyte files.
 *
 * An http(s) origin whose host is, or resolves to, an address the outbound policy refuses
 * (loopback, private, link-local, ...) is refused, naming the address and its class. A name that
 * does not resolve now is accepted (a CDN name is often created after the release is staged; DS
 * checks the addresses again on every connection to the origin) and reported through `warn`.
 */
export async function checkInstaller(
  input: { os: string; uri: string; sha256?: string | undefined },
  options: InstallerCheckOptions,
  field: string,
  previous?: CheckedInstaller,
): Promise<CheckedInstaller> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(input.uri)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    let url: URL;
    try {
      url = new URL(input.uri);
    } catch {
      throw refuse(`${field}.uri`, `${input.uri} is not a valid URL`);
    }
    try {
      const check = await checkOutboundUrl(url, options.policy, { timeoutMs: ORIGIN_RESOLVE_TIMEOUT_MS });
      if (!check.resolved) options.warn?.(`${field}.uri: ${check.problem}; accepted, and checked again on every connection to it`);
    } catch (error) {
      if (!(error instanceof OutboundRefusedError)) throw error;
      throw refuse(`${field}.uri`, `${error.message}: DS does not fetch installers from such addresses (${ALLOW_HINT})`);
    }
    return { os: input.os, uri: input.uri, sha256: input.sha256 ?? null, size: null, mtime: null };
  }
  if (scheme === undefined) {
    // A plain path (`/srv/t1c.exe`, `t1c.exe`) is the commonest slip: say how to write it.
    const hint = input.uri.startsWith('/') ? `file://${input.uri}` : 'file:///<absolute path inside the installer root>';
    throw refuse(`${field}.uri`, `${input.uri} is a path, not a URI: write it as ${hint} (or give an http(s) URL)`);
  }
  if (scheme !== 'file') throw refuse(`${field}.uri`, `only file: (inside the installer root) and http(s): installers are allowed, not ${scheme}:`);
  const path = await resolveInstallerFile(input.uri, options.root, `${field}.uri`);
  const info = await stat(path);
  const mtime = info.mtime.toISOString();
  const sha256 =
    previous && previous.uri === input.uri && previous.size === info.size && previous.mtime === mtime && previous.sha256
      ? previous.sha256
      : await sha256File(path);
  if (input.sha256 && input.sha256 !== sha256) {
    throw new AppError('VALIDATION_ERROR', `${field}.sha256: the file's SHA-256 is ${sha256}, not ${input.sha256}`, {
      issues: [{ path: `${field}.sha256`, message: 'does not match the file' }],
    });
  }
  return { os: input.os, uri: input.uri, sha256, size: info.size, mtime };
}
