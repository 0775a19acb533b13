import type { ServerResponse } from 'node:http';
import type { FileHandle } from 'node:fs/promises';
import type { Context } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { AppError } from '../lib/errors.js';
import {
  CHUNK_SIZE,
  fetchOrigin,
  installerFileName,
  isFileInstaller,
  openFileInstaller,
  originStatusError,
  recordDownload,
  type DownloadTarget,
} from './downloads.service.js';
import { checksumHeaders, contentDisposition, contentTypeFor, ifRangeHolds, noneMatch, notModifiedSince, parseRange } from './http-headers.js';

// Bodies are pull-based ReadableStreams fed 1 MiB at a time (one read ahead), handed to Hono as is.
// Not Hono's stream() helper: it swallows write errors and has no public way to fail a response,
// and a download that breaks off must reach the client as a broken connection, never as a clean
// but short body. Not Readable.toWeb either (about 0.77 × the throughput of a bare Node pipe).

type Headers = Record<string, string>;
/** How a body ended: `sent` bytes were handed to the connection; `finished` when it was all of them. */
type BodyEnd = { sent: number; finished: boolean };

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
  const record = (status: number) => (end: BodyEnd) => {
    void settled(c, end).then((complete) => recordDownload(services, { target, client, status, bytes: end.sent, complete, startedAt }));
  };
  const common: Headers = {
    'Content-Disposition': contentDisposition(installerFileName(target.installer)),
    // Installers behind these URLs change with each release: caches must ask again (cheap, with the ETag).
    'Cache-Control': 'no-cache',
    ...checksumHeaders(target.installer.sha256),
  };

  if (isFileInstaller(target.installer)) return sendFile(services, c, target, common, head, record);
  if (services.config.downloads === 'redirect') {
    if (!head) record(302)({ sent: 0, finished: false });
    return c.body(null, 302, { ...common, Location: target.installer.uri });
  }
  return sendOrigin(services, c, target, common, head, record);
}

async function sendFile(
  services: Services,
  c: Context<AppEnv>,
  target: DownloadTarget,
  common: Headers,
  head: boolean,
  record: (status: number) => (end: BodyEnd) => void,
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
    return c.body(fileBody(services, file.handle, start, length, record(status)), status, headers);
  } finally {
    if (!handedOver) await file.handle.close().catch(() => {});
  }
}

/** `length` bytes of an open file from `start`; the handle is closed when the body ends or is cancelled. */
function fileBody(services: Services, handle: FileHandle, start: number, length: number, onEnd: (end: BodyEnd) => void): ReadableStream<Uint8Array> {
  let position = start;
  const stop = start + length;
  let sent = 0;
  let ahead: Promise<Buffer | null> | null = null;
  let ended = false;
  const read = (): Promise<Buffer | null> => {
    if (position >= stop) return Promise.resolve(null);
    const at = position;
    const size = Math.min(CHUNK_SIZE, stop - at);
    position += size;
    return handle.read(Buffer.allocUnsafe(size), 0, size, at).then(({ bytesRead, buffer }) => {
      if (bytesRead !== size) throw new Error('the installer file shrank while it was being sent');
      return buffer;
    });
  };
  const finish = async (finished: boolean) => {
    if (ended) return;
    ended = true;
    await ahead?.catch(() => {});
    await handle.close().catch(() => {});
    onEnd({ sent, finished });
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const chunk = await (ahead ?? read());
          ahead = null;
          if (chunk === null) {
            controller.close();
            return void (await finish(true));
          }
          controller.enqueue(chunk);
          sent += chunk.length;
          // Read the next chunk while this one goes out.
          if (position < stop) {
            ahead = read();
            ahead.catch(() => {}); // awaited by the next pull or by finish()
          } else {
            controller.close();
            await finish(true);
          }
        } catch (error) {
          services.logger.error('installer file read failed', { error: (error as Error).message });
          controller.error(error);
          await finish(false);
        }
      },
      cancel: () => finish(false),
    },
    // Pull only when the connection asks: `sent` then counts what was handed to it.
    { highWaterMark: 0 },
  );
}

const FORWARDED = ['range', 'if-range', 'if-none-match', 'if-modified-since'] as const;
const COPIED = ['content-type', 'content-range', 'etag', 'last-modified', 'accept-ranges'] as const;

async function sendOrigin(
  services: Services,
  c: Context<AppEnv>,
  target: DownloadTarget,
  common: Headers,
  head: boolean,
  record: (status: number) => (end: BodyEnd) => void,
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
  return c.body(originBody(services, target, response.body, controller, record(status)), status, headers);
}

/** The origin's body passed through chunk by chunk; a stall longer than the origin timeout breaks it off. */
function originBody(
  services: Services,
  target: DownloadTarget,
  source: ReadableStream<Uint8Array>,
  controller: AbortController,
  onEnd: (end: BodyEnd) => void,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const ms = services.config.originTimeoutMs;
  let sent = 0;
  let ended = false;
  const finish = (finished: boolean) => {
    if (ended) return;
    ended = true;
    if (!finished) controller.abort();
    onEnd({ sent, finished });
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(out) {
        let timer: NodeJS.Timeout | undefined;
        try {
          const stalled = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`the origin sent nothing for ${ms} ms`)), ms);
          });
          const { done, value } = await Promise.race([reader.read(), stalled]);
          if (done) {
            out.close();
            return finish(true);
          }
          out.enqueue(value);
          sent += value.byteLength;
        } catch (error) {
          services.logger.warn('installer origin failed during the body', {
            version: target.version.id,
            os: target.installer.os,
            uri: target.installer.uri,
            sent,
            error: (error as Error).message,
          });
          out.error(error);
          finish(false);
        } finally {
          clearTimeout(timer);
        }
      },
      cancel: () => finish(false),
    },
    { highWaterMark: 0 },
  );
}

/**
 * Whether the response really ended: on a Node server, the last byte must have been handed to the
 * socket (the connection may still break after DS read the whole file); under `app.request` the
 * body's own end is all there is.
 */
function settled(c: Context<AppEnv>, end: BodyEnd): Promise<boolean> {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (!end.finished || !outgoing) return Promise.resolve(end.finished);
  if (outgoing.writableFinished) return Promise.resolve(true);
  if (outgoing.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => outgoing.once('close', () => resolve(outgoing.writableFinished)));
}
