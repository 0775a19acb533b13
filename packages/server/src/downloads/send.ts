import type { Context } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { AppError } from '../lib/errors.js';
import { fileChunks, streamBody, streamChunks, type BodyEnd, type ChunkSource } from '../lib/stream-body.js';
import {
  CHUNK_SIZE,
  fetchOrigin,
  installerFileName,
  isFileInstaller,
  openFileInstaller,
  originStatusError,
  recordDownload,
  redirectLocation,
  type DownloadTarget,
} from './downloads.service.js';
import { checksumHeaders, contentDisposition, contentTypeFor, ifRangeHolds, noneMatch, notModifiedSince, parseRange } from './http-headers.js';

// What a download answers: its status and headers, ranges and conditional requests, and the
// download event it records. The bytes go out through lib/stream-body.ts.

type Headers = Record<string, string>;
/** Records a download answered with `status` once its body has ended or broken off. */
type Recorder = (status: number) => (end: BodyEnd) => void;

/** Answers a download of `target`: streamed from the file or the origin, or redirected to the origin. */
export async function sendInstaller(
  services: Services,
  c: Context<AppEnv>,
  target: DownloadTarget,
  client: { browserName: string | null; browserMajor: string | null },
): Promise<Response> {
  const startedAt = services.clock.now();
  const head = c.req.method === 'HEAD';
  // Recorded after the response has ended or broken off, never awaited by the download.
  const record: Recorder = (status) => (end) => {
    services.background.track(
      end.delivered.then((complete) => {
        services.metrics.download(target.installer.os.toLowerCase(), status === 302 ? 'redirected' : complete ? 'complete' : 'incomplete', end.sent);
        return recordDownload(services, { target, client, status, bytes: end.sent, complete, startedAt });
      }),
    );
  };
  const common: Headers = {
    'Content-Disposition': contentDisposition(installerFileName(target.installer)),
    // Installers behind these URLs change with each release: caches must ask again (cheap, with the ETag).
    'Cache-Control': 'no-cache',
    ...checksumHeaders(target.installer.sha256),
  };

  if (isFileInstaller(target.installer)) return sendFile(services, c, target, common, head, record);
  if (services.config.downloads === 'redirect') {
    const location = redirectLocation(services, target);
    if (!head) record(302)({ sent: 0, delivered: Promise.resolve(false) });
    return c.body(null, 302, { ...common, Location: location });
  }
  return sendOrigin(services, c, target, common, head, record);
}

async function sendFile(
  services: Services,
  c: Context<AppEnv>,
  target: DownloadTarget,
  common: Headers,
  head: boolean,
  record: Recorder,
): Promise<Response> {
  const file = await openFileInstaller(services, target);
  let handedOver = false;
  try {
    const etag = file.sha256 ? `"${file.sha256}"` : `"${file.size.toString(16)}-${Math.floor(file.mtime.getTime()).toString(16)}"`;
    const headers: Headers = { ...common, ETag: etag, 'Last-Modified': file.mtime.toUTCString(), 'Accept-Ranges': 'bytes' };
    const ifNoneMatch = c.req.header('if-none-match');
    if (ifNoneMatch !== undefined ? noneMatch(ifNoneMatch, etag) : notModifiedSince(c.req.header('if-modified-since'), file.mtime)) {
      return c.body(null, 304, headers);
    }
    // Range is defined for GET only (RFC 9110 §14.2): HEAD describes the whole file.
    const range = !head && ifRangeHolds(c.req.header('if-range'), etag, file.mtime) ? parseRange(c.req.header('range'), file.size) : { kind: 'none' as const };
    if (range.kind === 'unsatisfiable') {
      throw new AppError('RANGE_NOT_SATISFIABLE', `the installer has ${file.size} bytes; the requested range is outside it`, undefined, {
        'Content-Range': `bytes */${file.size}`,
        'Accept-Ranges': 'bytes',
      });
    }
    const [start, end, status] = range.kind === 'range' ? [range.start, range.end, 206 as const] : [0, file.size - 1, 200 as const];
    const length = end - start + 1;
    headers['Content-Type'] = contentTypeFor(file.name);
    headers['Content-Length'] = String(length);
    if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${file.size}`;
    if (head) return c.body(null, status, headers);
    handedOver = true;
    return respond(services, c, status, headers, fileChunks(file.handle, start, length, CHUNK_SIZE), record(status), { version: target.version.id, os: target.installer.os });
  } finally {
    if (!handedOver) await file.handle.close().catch(() => {});
  }
}

const FORWARDED = ['range', 'if-range', 'if-none-match', 'if-modified-since'] as const;
const COPIED = ['content-type', 'content-range', 'etag', 'last-modified', 'accept-ranges'] as const;

async function sendOrigin(
  services: Services,
  c: Context<AppEnv>,
  target: DownloadTarget,
  common: Headers,
  head: boolean,
  record: Recorder,
): Promise<Response> {
  const forward: Headers = {};
  for (const name of FORWARDED) {
    const value = c.req.header(name);
    if (value !== undefined && !(head && (name === 'range' || name === 'if-range'))) forward[name] = value;
  }
  const { response, controller } = await fetchOrigin(services, target, head ? 'HEAD' : 'GET', forward);
  const status = response.status;
  const headers: Headers = { ...common };
  for (const name of COPIED) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  headers['content-type'] ??= contentTypeFor(installerFileName(target.installer));
  const encoding = response.headers.get('content-encoding');
  const length = response.headers.get('content-length');
  // fetch decodes a compressed body: its length would no longer be the one announced.
  if (length !== null && (encoding === null || encoding === 'identity')) headers['content-length'] = length;

  if (status !== 200 && status !== 206) {
    await response.body?.cancel().catch(() => {});
    if (status === 304) {
      delete headers['content-type'];
      delete headers['content-length'];
      return c.body(null, 304, headers);
    }
    if (status === 416) {
      const size = target.installer.size;
      throw new AppError('RANGE_NOT_SATISFIABLE', 'the requested range is outside the installer', undefined, {
        'Content-Range': response.headers.get('content-range') ?? (size !== null ? `bytes */${size}` : 'bytes */*'),
      });
    }
    throw originStatusError(services, target, status);
  }
  if (head || !response.body) {
    await response.body?.cancel().catch(() => {});
    return c.body(null, status, headers);
  }
  const ms = services.config.originTimeoutMs;
  const source = streamChunks(response.body, { stall: { ms, error: () => new Error(`the origin sent nothing for ${ms} ms`) }, abort: () => controller.abort() });
  return respond(services, c, status as 200 | 206, headers, source, record(status), { version: target.version.id, os: target.installer.os, origin: target.installer.uri });
}

/** Sends a 200/206 with `headers` and the source's bytes; a source that fails part way is logged with `context`. */
function respond(
  services: Services,
  c: Context<AppEnv>,
  status: 200 | 206,
  headers: Headers,
  source: ChunkSource,
  onEnd: (end: BodyEnd) => void,
  context: Record<string, unknown>,
): Response {
  return streamBody(c, status, headers, source, {
    onEnd,
    onError: (error, sent) => services.logger.warn('download broke off', { ...context, sent, error: error.message }),
  });
}
