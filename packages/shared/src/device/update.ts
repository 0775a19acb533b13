import { createHash } from 'node:crypto';
import { parseErrorEnvelope, readJson, unreachableReason } from '../error-envelope.js';
import type { VersionCheckResponse, VersionInfo } from '../schemas/device.js';
import { DeviceCallError } from './client.js';

/** An update DS offered in a version check answer: RECOMMENDED or MANDATORY with a download URI for the device's OS. */
export interface UpdateOffer {
  /** The version to install (the answer's `latest.id`). */
  version: string;
  /** The DS download URL of its installer for this device's OS. */
  downloadUri: string;
  mandatory: boolean;
  info: VersionInfo;
}

/**
 * The update a version check answer asks the device to install, or null: RECOMMENDED and
 * MANDATORY with a `downloadUri` and a `latest` version other than the one running. UPDATE_AVAILABLE
 * is left to the user, as T1C does.
 */
export function updateOffer(decision: VersionCheckResponse, runningVersion: string): UpdateOffer | null {
  if (decision.action !== 'RECOMMENDED' && decision.action !== 'MANDATORY') return null;
  if (!decision.latest || !decision.downloadUri || decision.latest.id === runningVersion) return null;
  return { version: decision.latest.id, downloadUri: decision.downloadUri, mandatory: decision.action === 'MANDATORY', info: decision.latest };
}

/** What {@link downloadInstaller} fetched and checked. */
export interface DownloadedInstaller {
  uri: string;
  /** Bytes received (equal to Content-Length when DS sent one). */
  size: number;
  /** Hex SHA-256 of the bytes (equal to DS's `X-Checksum-Sha256` when it sent one). */
  sha256: string;
  /** The file name from `Content-Disposition`, when DS gave one. */
  fileName: string | null;
}

/** Redirects a download follows at most (DS's own to the origin, then the origin's). */
export const MAX_DOWNLOAD_REDIRECTS = 5;
/** The largest installer a download accepts unless told otherwise (2 GiB): a body without end is cut off there. */
export const MAX_INSTALLER_BYTES = 2 * 1024 ** 3;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches an installer from a DS download URL, streaming it through a SHA-256 without keeping
 * the bytes, and checks it against what DS said about it: the size (`Content-Length`) and the
 * checksum (`X-Checksum-Sha256`, else `Digest: sha-256=`), and `expected` when the caller knows
 * more. A download that does not match is refused with a {@link DeviceCallError} `BAD_RESPONSE`
 * (a device must never install it); a DS error is a DeviceCallError with DS's code.
 *
 * Redirects are followed here, not by fetch, so the checksum DS announces on its own redirect
 * (`DS_DOWNLOADS=redirect`) is the one the origin's bytes must match, whatever the origin says;
 * every hop's announcement must match. At most {@link MAX_DOWNLOAD_REDIRECTS} hops, to http(s)
 * only and never from https down to http; at most `maxBytes` bytes.
 */
export async function downloadInstaller(
  uri: string,
  options: { fetch?: typeof fetch; timeoutMs?: number; maxBytes?: number; expected?: { size?: number; sha256?: string } } = {},
): Promise<DownloadedInstaller> {
  const signal = AbortSignal.timeout(options.timeoutMs ?? 300_000);
  const maxBytes = options.maxBytes ?? MAX_INSTALLER_BYTES;
  const announcements: { from: string; sha256: string }[] = [];
  let url = uri;
  let response: Response;
  for (let hops = 0; ; hops++) {
    try {
      response = await (options.fetch ?? fetch)(url, { headers: { accept: 'application/octet-stream' }, redirect: 'manual', signal });
    } catch (error) {
      throw new DeviceCallError(0, 'NETWORK_ERROR', `cannot download ${url}: ${unreachableReason(error)}`);
    }
    const announced = announcedSha256(response.headers);
    if (announced !== null) announcements.push({ from: url === uri ? 'DS' : url, sha256: announced });
    if (!REDIRECTS.has(response.status)) break;
    const refuse = (what: string) => new DeviceCallError(response.status, 'BAD_RESPONSE', `download of ${uri}: ${what}; the installer is not used`);
    await response.body?.cancel().catch(() => undefined);
    const location = response.headers.get('location');
    if (!location) throw refuse(`${url} answered ${response.status} without a Location`);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw refuse(`${url} redirected to "${location}", which is not a URL`);
    }
    if (next.protocol !== 'https:' && next.protocol !== 'http:') throw refuse(`${url} redirected to ${next.protocol} (only http and https are followed)`);
    if (next.protocol === 'http:' && new URL(url).protocol === 'https:') throw refuse(`${url} redirected from https down to http (${next.href})`);
    if (hops >= MAX_DOWNLOAD_REDIRECTS) throw refuse(`redirected more than ${MAX_DOWNLOAD_REDIRECTS} times`);
    url = next.href;
  }
  if (!response.ok) {
    const envelope = parseErrorEnvelope(response.status, await readJson(response));
    throw new DeviceCallError(response.status, envelope.code, `download of ${uri}: ${envelope.description}`);
  }
  const bad = (what: string) => new DeviceCallError(response.status, 'BAD_RESPONSE', `download of ${uri}: ${what}; the installer is not used`);
  const length = response.headers.get('content-length');
  if (length !== null && /^\d+$/.test(length) && Number(length) > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw bad(`it has ${length} bytes, more than the ${maxBytes} accepted`);
  }
  const hash = createHash('sha256');
  let size = 0;
  if (response.body) {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size > maxBytes) break;
        hash.update(chunk);
      }
    } catch (error) {
      throw new DeviceCallError(0, 'NETWORK_ERROR', `download of ${uri} broke off after ${size} bytes: ${unreachableReason(error)}`);
    }
  }
  if (size > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw bad(`it goes on past the ${maxBytes} bytes accepted`);
  }
  const sha256 = hash.digest('hex');

  if (length !== null && /^\d+$/.test(length) && Number(length) !== size) throw bad(`received ${size} bytes, Content-Length said ${length}`);
  if (options.expected?.size !== undefined && options.expected.size !== size) throw bad(`received ${size} bytes, expected ${options.expected.size}`);
  for (const a of announcements) {
    if (a.sha256 !== sha256) throw bad(`SHA-256 ${sha256} differs from the ${a.sha256} ${a.from} announced`);
  }
  const expectedSha = options.expected?.sha256?.toLowerCase();
  if (expectedSha !== undefined && expectedSha !== sha256) throw bad(`SHA-256 ${sha256} differs from the expected ${expectedSha}`);
  const disposition = /filename="([^"]*)"/.exec(response.headers.get('content-disposition') ?? '');
  return { uri, size, sha256, fileName: disposition?.[1] ?? null };
}

/** The hex SHA-256 a download announced, from `X-Checksum-Sha256` or `Digest: sha-256=<base64>`. */
function announcedSha256(headers: Headers): string | null {
  const hex = headers.get('x-checksum-sha256')?.trim().toLowerCase();
  if (hex && /^[0-9a-f]{64}$/.test(hex)) return hex;
  const digest = /(?:^|,)\s*sha-256=([A-Za-z0-9+/=]+)/i.exec(headers.get('digest') ?? '');
  if (digest) {
    const bytes = Buffer.from(digest[1]!, 'base64');
    if (bytes.length === 32) return bytes.toString('hex');
  }
  return null;
}
