import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { OS_VALUES, SemverSchema, parseOs, type InstallerOs, type InstallerOsJson } from '@ds/shared';
import type { Services } from '../context.js';
import type { InstallerRow, VersionRow } from '../db/types.js';
import { iso } from '../lib/clock.js';
import { AppError, invalid, notFound } from '../lib/errors.js';
import { ALLOW_HINT, checkUrlHost, outboundFetch, outboundPolicy, OutboundRefusedError, type OutboundResponse } from '../lib/outbound.js';
import { resolveInstallerFile } from '../versions/installer-files.js';
import { downloadUrl } from '../versions/version-info.js';
import { findVersion, latestInstallers, latestVersion, listInstallers } from '../versions/versions.repository.js';
import { insertDownloadEvent, touchInstallerMtime } from './downloads.repository.js';
import { CRITICAL_HINTS, type DetectedClient } from './user-agent-os.js';

/** Read size for installer files: 1 MiB chunks stream about 1.7 × faster than Node's 64 KiB. */
export const CHUNK_SIZE = 1024 * 1024;

/** A version's installer chosen for a download. */
export interface DownloadTarget {
  version: VersionRow;
  installer: InstallerRow;
}

/** One entry of a choice list: what the JSON shows (`os`, `url`) and what the HTML page adds. */
export interface Choice {
  os: InstallerOsJson;
  url: string;
  version: string;
  size: number | null;
  sha256: string | null;
}

const osOrder = (os: string) => OS_VALUES.indexOf(os.toLowerCase() as InstallerOs);

/** Choices of installers, in the order of OS_VALUES, each a DS download link (never a path or origin). */
export function choicesOf(services: Services, installers: { version: VersionRow; installer: InstallerRow }[]): Choice[] {
  return [...installers]
    .sort((a, b) => osOrder(a.installer.os) - osOrder(b.installer.os))
    .map(({ version, installer }) => ({
      os: installer.os.toUpperCase() as InstallerOsJson,
      url: downloadUrl(services.config.publicUrl, installer.os, version.id),
      version: version.id,
      size: installer.size === null ? null : Number(installer.size),
      sha256: installer.sha256,
    }));
}

/** Every os's latest installer (API.md §1): what a visitor may choose from. */
export async function latestChoices(services: Services): Promise<Choice[]> {
  return choicesOf(services, await latestInstallers(services.db, { allowedOnly: true }));
}

/**
 * Why a visitor must choose; the HTML page words its heading after it.
 * - `os`: the operating system could not be told;
 * - `mac-architecture`: a Mac whose chip could not be told, with both Mac installers to offer;
 * - `no-installer`: there is no installer for the os asked for or detected.
 */
export type ChoiceReason = 'os' | 'mac-architecture' | 'no-installer';

/**
 * OS_NOT_DETECTED or INSTALLER_NOT_FOUND with the choices: JSON clients get `data.available:
 * [{os, url}]` as API.md says; the HTML page also shows versions, sizes and checksums.
 */
export class ChoiceError extends AppError {
  constructor(
    code: 'OS_NOT_DETECTED' | 'INSTALLER_NOT_FOUND',
    description: string,
    readonly choices: Choice[],
    readonly reason: ChoiceReason,
    headers?: Record<string, string>,
  ) {
    super(code, description, undefined, headers, { available: choices.map(({ os, url }) => ({ os, url })) });
  }
}

/** With no allowed release at all, every download answers 404 NOT_FOUND rather than a choice of nothing. */
async function requireSomeVersion(services: Services): Promise<void> {
  if (!(await latestVersion(services.db, { allowedOnly: true }))) throw notFound('an allowed version');
}

/** The error of a download that has no installer: NOT_FOUND when nothing is published, else the choice. */
async function noInstaller(services: Services, description: string): Promise<never> {
  await requireSomeVersion(services);
  throw new ChoiceError('INSTALLER_NOT_FOUND', description, await latestChoices(services), 'no-installer');
}

/**
 * `/installer`: the latest installer for the visitor's computer. The version is the newest
 * allowed release (or recommended pre-release) with an installer that runs there, so a release
 * without a Linux installer does not break Linux downloads while an earlier one has it; within
 * it, the best fitting installer (a 64-bit Windows takes the 32-bit one when that is all there
 * is). A Mac whose architecture is unknown gets the only Mac installer there is; when there are
 * both (in one version or, each the latest for its os, in two), DS does not guess: the visitor
 * chooses (OS_NOT_DETECTED saying why, and `Critical-CH` so a Chromium browser retries once with
 * its architecture).
 */
export async function targetForClient(services: Services, client: DetectedClient): Promise<DownloadTarget> {
  if (client.os === undefined) {
    await requireSomeVersion(services);
    throw new ChoiceError(
      'OS_NOT_DETECTED',
      `the operating system could not be told from the User-Agent (${client.reason}); choose an installer`,
      await latestChoices(services),
      'os',
    );
  }
  if (!client.architectureKnown) {
    // Each os on its own: the newest Apple silicon installer may be in a release without an Intel one.
    const latest = (await Promise.all(client.compatible.map((os) => latestVersion(services.db, { allowedOnly: true, os: [os] })))).flatMap((version, i) =>
      version ? [{ version, os: client.compatible[i]! }] : [],
    );
    if (latest.length > 1) {
      throw new ChoiceError(
        'OS_NOT_DETECTED',
        'the architecture of this Mac could not be told (browsers say "Intel Mac OS X" on Apple silicon too); choose the installer for Apple silicon (macosarm) or Intel (macos)',
        await latestChoices(services),
        'mac-architecture',
        { 'Critical-CH': CRITICAL_HINTS.join(', ') },
      );
    }
    const only = latest[0];
    const installer = only && (await listInstallers(services.db, [only.version.id])).find((i) => i.os.toLowerCase() === only.os);
    if (!only || !installer) return noInstaller(services, `no allowed version has an installer for ${client.compatible.join(' or ')}; choose another`);
    return { version: only.version, installer };
  }
  const version = await latestVersion(services.db, { allowedOnly: true, os: client.compatible });
  if (!version) return noInstaller(services, `no allowed version has an installer for ${client.os}; choose another`);
  const installers = await listInstallers(services.db, [version.id]);
  const installer = client.compatible.map((os) => installers.find((i) => i.os.toLowerCase() === os)).find((i) => i !== undefined);
  // Gone between the two queries (a concurrent save): as if there were none.
  if (!installer) return noInstaller(services, `no allowed version has an installer for ${client.os}; choose another`);
  return { version, installer };
}

/** `/installers/{os}` (the latest for that os) and `/installers/{os}/versions/{version}`. */
export async function targetFor(services: Services, osParam: string, versionParam?: string): Promise<DownloadTarget> {
  const os = parseOs(osParam);
  if (!os) throw new AppError('UNKNOWN_OS', `${JSON.stringify(osParam.slice(0, 40))} is not an os; one of ${OS_VALUES.join(', ')}`);
  if (versionParam === undefined) {
    const version = await latestVersion(services.db, { allowedOnly: true, os: [os] });
    const installer = version && (await listInstallers(services.db, [version.id])).find((i) => i.os.toLowerCase() === os);
    if (!version || !installer) return noInstaller(services, `no allowed version has an installer for ${os}`);
    return { version, installer };
  }
  // Path parameters arrive percent-decoded: "..", "/", "\0" and the like all fail here.
  const parsed = SemverSchema.safeParse(versionParam);
  if (!parsed.success) throw invalid('version', parsed.error.issues[0]?.message ?? 'must be a semantic version');
  const version = await findVersion(services.db, parsed.data);
  if (!version) throw notFound(`version ${parsed.data}`);
  if (version.allowed !== 1) throw new AppError('VERSION_NOT_ALLOWED', `version ${version.id} is no longer allowed; download a newer one`);
  const installers = await listInstallers(services.db, [version.id]);
  const installer = installers.find((i) => i.os.toLowerCase() === os);
  if (!installer) {
    // That version's own installers: whoever asked for a version wants that version.
    throw new ChoiceError('INSTALLER_NOT_FOUND', `version ${version.id} has no installer for ${os}`, choicesOf(services, installers.map((i) => ({ version, installer: i }))), 'no-installer');
  }
  return { version, installer };
}

/** The scheme of an installer URI: `file` or `http(s)`. */
export function isFileInstaller(installer: InstallerRow): boolean {
  return /^file:/i.test(installer.uri);
}

/** The file name clients save an installer under: the last path segment of its URI. */
export function installerFileName(installer: InstallerRow): string {
  try {
    const url = new URL(installer.uri);
    const last = url.pathname.split('/').filter(Boolean).pop();
    if (last) return decodeURIComponent(last);
  } catch {
    // fall through
  }
  return basename(installer.uri) || 'installer';
}

// ------------------------------------------------------------------ file installers

/** A file: installer opened for sending, checked against its record. The caller closes it. */
export interface OpenedFile {
  handle: FileHandle;
  size: number;
  mtime: Date;
  sha256: string | null;
  name: string;
}

/** SHA-256 of an open file, read in 1 MiB chunks at explicit positions. */
async function sha256Of(handle: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK_SIZE);
  for (let position = 0; ; ) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) return hash.digest('hex');
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

/**
 * Hashes of files whose size or mtime differ from their record, by (path, size, mtime): a changed
 * gigabyte file is hashed once, not once per request, and concurrent requests share the work.
 */
const hashes = new Map<string, Promise<string>>();
const HASH_CACHE_SIZE = 64;

function cachedHash(key: string, compute: () => Promise<string>): Promise<string> {
  let hit = hashes.get(key);
  if (!hit) {
    hit = compute();
    hit.catch(() => hashes.delete(key));
    if (hashes.size >= HASH_CACHE_SIZE) hashes.delete(hashes.keys().next().value!);
    hashes.set(key, hit);
  }
  return hit;
}

/**
 * Opens a file: installer for download. The path is resolved again inside the installer root (the
 * root or a symlink may have moved since the version was saved); the file is stat'ed on every
 * request and hashed only when its size or mtime differ from the record. A file whose content no
 * longer has the recorded SHA-256 is refused (409): DS never serves bytes that contradict the
 * checksum it advertises. Checks and reads go through one open descriptor, so a file replaced
 * meanwhile (rename over it) is either the old one throughout or refused.
 */
export async function openFileInstaller(services: Services, target: DownloadTarget): Promise<OpenedFile> {
  const { version, installer } = target;
  const what = `the ${installer.os.toLowerCase()} installer of version ${version.id}`;
  const refuse = (problem: string, log: Record<string, unknown>) => {
    services.logger.warn('installer file refused', { version: version.id, os: installer.os, uri: installer.uri, problem, ...log });
    return new AppError('INSTALLER_CHANGED', `${what} ${problem}; an operator must check it (ds version verify ${version.id})`);
  };
  let path: string;
  try {
    path = await resolveInstallerFile(installer.uri, services.config.installerRoot, 'uri');
  } catch (error) {
    throw refuse('is missing or no longer inside the installer root', { error: (error as Error).message });
  }
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw refuse('cannot be read', { error: (error as Error).message });
  }
  try {
    const info = await handle.stat();
    const recordedSize = installer.size === null ? null : Number(installer.size);
    const mtime = iso(info.mtime);
    if (info.size !== recordedSize || mtime !== installer.mtime) {
      const actual = await cachedHash(`${path}\0${info.size}\0${info.mtimeMs}\0${info.ino}`, () => sha256Of(handle));
      if (installer.sha256 !== null && actual !== installer.sha256) {
        throw refuse('changed after its checksum was recorded', { recorded: installer.sha256, actual, size: info.size });
      }
      // Same content, new mtime (copied again, touched): remember it so the next request only stats.
      if (installer.sha256 !== null) {
        await touchInstallerMtime(services.db, { versionId: installer.versionId, os: installer.os, uri: installer.uri, sha256: installer.sha256 }, mtime).catch(
          (error: Error) => services.logger.warn('could not record an installer mtime', { error: error.message }),
        );
      }
    }
    return { handle, size: info.size, mtime: info.mtime, sha256: installer.sha256, name: installerFileName(installer) };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}

// ------------------------------------------------------------------ origins

/**
 * Fetches an http(s) installer from its origin; failures and slowness become 502 ORIGIN_FAILED.
 * The origin and every redirect hop must keep to the outbound policy (no loopback, private,
 * link-local, ... address unless DS_ALLOW_PRIVATE_ORIGINS), checked on the connection made: an
 * origin saved before the rule, or whose name resolves elsewhere now, is refused here too.
 */
export async function fetchOrigin(
  services: Services,
  target: DownloadTarget,
  method: 'GET' | 'HEAD',
  forward: Record<string, string>,
): Promise<{ response: OutboundResponse; controller: AbortController }> {
  const { installer, version } = target;
  const ms = services.config.originTimeoutMs;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, ms);
  const fail = (problem: string, log: Record<string, unknown>, message = 'installer origin failed') => {
    services.logger.warn(message, { version: version.id, os: installer.os, uri: installer.uri, problem, ...log });
    // The description never names the origin: clients only ever see DS URLs.
    return new AppError('ORIGIN_FAILED', `the origin of the ${installer.os.toLowerCase()} installer of version ${version.id} ${problem}`);
  };
  try {
    // identity: a compressed answer would be decoded by fetch and no longer match Content-Length/Range.
    const response = await outboundFetch(installer.uri, outboundPolicy({ allowPrivate: services.config.allowPrivateOrigins }), {
      method,
      headers: { ...forward, 'accept-encoding': 'identity', 'user-agent': `T1C-DS/${services.version}` },
      signal: controller.signal,
    });
    return { response, controller };
  } catch (error) {
    if (timedOut) throw fail(`did not answer within ${ms} ms`, {});
    if (error instanceof OutboundRefusedError) {
      throw fail('cannot be reached', { reason: `${error.message} (${ALLOW_HINT})` }, 'installer origin refused');
    }
    const code = (error as { code?: string }).code;
    if (code === 'ERR_TOO_MANY_REDIRECTS') throw fail('redirected too many times', { error: (error as Error).message });
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw fail('cannot be reached', { error: (error as Error).message, cause: cause?.code ?? cause?.message });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The URL a `DS_DOWNLOADS=redirect` answer sends the downloader to. DS does not fetch it, but it
 * does not point anonymous clients at an address the outbound policy refuses either (an origin
 * saved before the rule, or while private origins were allowed): literal addresses and localhost
 * names are judged here; names were resolved when the version was saved.
 */
export function redirectLocation(services: Services, target: DownloadTarget): string {
  const { installer, version } = target;
  try {
    checkUrlHost(new URL(installer.uri), outboundPolicy({ allowPrivate: services.config.allowPrivateOrigins }));
  } catch (error) {
    if (!(error instanceof OutboundRefusedError)) throw error;
    services.logger.warn('installer origin refused', { version: version.id, os: installer.os, uri: installer.uri, reason: `${error.message} (${ALLOW_HINT})` });
    throw new AppError('ORIGIN_FAILED', `the origin of the ${installer.os.toLowerCase()} installer of version ${version.id} cannot be reached`);
  }
  return installer.uri;
}

/** An origin answer DS does not pass on (anything but 200, 206, 304 and 416). */
export function originStatusError(services: Services, target: DownloadTarget, status: number): AppError {
  services.logger.warn('installer origin failed', { version: target.version.id, os: target.installer.os, uri: target.installer.uri, status });
  return new AppError('ORIGIN_FAILED', `the origin of the ${target.installer.os.toLowerCase()} installer of version ${target.version.id} answered ${status}`);
}

// ------------------------------------------------------------------ events

export interface DownloadOutcome {
  target: DownloadTarget;
  client: { browserName: string | null; browserMajor: string | null };
  status: number;
  bytes: number;
  complete: boolean;
  startedAt: Date;
}

/**
 * Records a download for the report. Called once the response has ended (or broke off); never
 * awaited by the download and never throws: a database hiccup costs a row, not a download.
 */
export function recordDownload(services: Services, outcome: DownloadOutcome): Promise<void> {
  const started = iso(outcome.startedAt);
  return insertDownloadEvent(services.db, {
    id: crypto.randomUUID(),
    day: started.slice(0, 10),
    os: outcome.target.installer.os.toUpperCase(),
    version: outcome.target.version.id,
    browserName: outcome.client.browserName?.slice(0, 64) ?? null,
    browserMajor: outcome.client.browserMajor?.slice(0, 16) ?? null,
    bytes: outcome.bytes,
    complete: outcome.complete ? 1 : 0,
    status: outcome.status,
    createdAt: started,
  }).catch((error: Error) => services.logger.error('download event not recorded', { error: error.message, version: outcome.target.version.id }));
}
