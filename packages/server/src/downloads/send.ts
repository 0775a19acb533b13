import { read as readFd } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { ServerResponse } from 'node:http';
import { X_ALREADY_SENT } from '@hono/node-server/utils/response/constants';
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

// How bodies reach the connection. A source hands out chunks (1 MiB file reads with one read
// ahead, or the origin's chunks); a sink writes them:
//
// - On a Node server (@hono/node-server, `c.env.outgoing`) DS writes to the ServerResponse itself
//   and returns a response marked `x-hono-already-sent`, the adapter's documented way to do so.
//   Node's write callback says when a chunk has left for the socket, so a download reuses its few
//   1 MiB buffers: allocating a fresh one per chunk made garbage collection of DS's heap cost more
//   than the streaming itself (about 1.7 s of CPU per GiB against 0.65 s measured with reuse,
//   10 concurrent clients). A read or origin failure destroys the connection, so the client
//   sees a broken download, never a clean but short one.
// - Elsewhere (`app.request` in tests, other runtimes) a pull-based ReadableStream, without reuse:
//   the consumer may keep every chunk. It errors the stream on failure.
//
// Not Hono's stream() helper: it swallows write errors and cannot fail a response. Not
// Readable.toWeb either (about 0.77 × the throughput of a bare Node pipe).

type Headers = Record<string, string>;
/** How a body ended: `sent` bytes were handed to the connection; `finished` when it was all of them. */
type BodyEnd = { sent: number; finished: boolean };

interface ChunkSource {
  /** The next chunk, or null after the last one. Throws when the body cannot be completed. */
  next(): Promise<Uint8Array | null>;
  /** Takes back a chunk the connection is done with (Node sink only). */
  recycle?(chunk: Uint8Array): void;
  /** Releases the source; `complete` is false when the body broke off. */
  close(complete: boolean): Promise<void>;
}

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
    services.background.track(settled(c, end).then((complete) => recordDownload(services, { target, client, status, bytes: end.sent, complete, startedAt })));
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
    return respond(services, c, status, headers, fileSource(file.handle, start, length), record(status), { version: target.version.id, os: target.installer.os });
  } finally {
    if (!handedOver) await file.handle.close().catch(() => {});
  }
}

/** `length` bytes of an open file from `start`, 1 MiB at a time, reading the next chunk while one goes out. */
function fileSource(handle: FileHandle, start: number, length: number): ChunkSource {
  const stop = start + length;
  let position = start;
  let ahead: Promise<Buffer> | null = null;
  // Buffers whose bytes have left for the socket; a download needs two or three.
  const pool: Buffer[] = [];
  const read = (): Promise<Buffer> | null => {
    if (position >= stop) return null;
    const at = position;
    const size = Math.min(CHUNK_SIZE, stop - at);
    position += size;
    const buffer = size === CHUNK_SIZE ? (pool.pop() ?? Buffer.allocUnsafe(CHUNK_SIZE)) : Buffer.allocUnsafe(size);
    // The callback API: measurably cheaper per call than FileHandle.read.
    const chunk = new Promise<Buffer>((resolve, reject) =>
      readFd(handle.fd, buffer, 0, size, at, (error, bytesRead) => {
        if (error) reject(error);
        else if (bytesRead !== size) reject(new Error('the installer file shrank while it was being sent'));
        else resolve(buffer);
      }),
    );
    chunk.catch(() => {}); // awaited by next() or close()
    return chunk;
  };
  return {
    async next() {
      const current = ahead ?? read();
      if (current === null) return null;
      const chunk = await current;
      ahead = read();
      return chunk;
    },
    recycle(chunk) {
      if (chunk.byteLength === CHUNK_SIZE && pool.length < 3) pool.push(chunk as Buffer);
    },
    async close() {
      await ahead?.catch(() => {});
      ahead = null;
      await handle.close().catch(() => {});
    },
  };
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
  const source = originSource(response.body, controller, services.config.originTimeoutMs);
  return respond(services, c, status as 200 | 206, headers, source, record(status), { version: target.version.id, os: target.installer.os, origin: target.installer.uri });
}

/** The origin's body chunk by chunk; a stall longer than the origin timeout is a failure. */
function originSource(body: ReadableStream<Uint8Array>, controller: AbortController, ms: number): ChunkSource {
  const reader = body.getReader();
  return {
    async next() {
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the origin sent nothing for ${ms} ms`)), ms);
      });
      try {
        const { done, value } = await Promise.race([reader.read(), stalled]);
        return done ? null : value;
      } finally {
        clearTimeout(timer);
      }
    },
    async close(complete) {
      if (!complete) controller.abort();
    },
  };
}

/** Sends a 200/206 with `headers` and the source's bytes, on the Node response when there is one. */
function respond(
  services: Services,
  c: Context<AppEnv>,
  status: 200 | 206,
  headers: Headers,
  source: ChunkSource,
  onEnd: (end: BodyEnd) => void,
  context: Record<string, unknown>,
): Response {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
  if (!(outgoing instanceof ServerResponse)) return c.body(webBody(services, source, onEnd, context), status, headers);
  // Hono merges what middleware prepared (X-Request-Id, CORS) into this response's headers.
  const prepared = c.body(null, status, headers);
  const head: Record<string, string> = {};
  prepared.headers.forEach((value, name) => {
    head[name] = value;
  });
  // The CORS middleware adds `Vary: Origin` after the handler, too late for headers written here.
  if (head['access-control-allow-origin'] && !/\borigin\b/i.test(head.vary ?? '')) head.vary = head.vary ? `${head.vary}, Origin` : 'Origin';
  outgoing.writeHead(status, head);
  void pumpToNode(services, outgoing, source, onEnd, context);
  return new Response(null, { status, headers: { [X_ALREADY_SENT]: 'true' } });
}

async function pumpToNode(services: Services, outgoing: ServerResponse, source: ChunkSource, onEnd: (end: BodyEnd) => void, context: Record<string, unknown>) {
  let sent = 0;
  let finished = false;
  try {
    for (let chunk = await source.next(); chunk !== null && !outgoing.destroyed; chunk = await source.next()) {
      const written = chunk;
      const more = outgoing.write(written, (error) => {
        if (!error) source.recycle?.(written);
      });
      sent += written.byteLength;
      if (!more && !(await drained(outgoing))) break;
    }
    if (!outgoing.destroyed) {
      // Node checks the body against Content-Length: a source that ended early cannot end cleanly.
      outgoing.end();
      finished = true;
    }
  } catch (error) {
    services.logger.warn('download broke off', { ...context, sent, error: (error as Error).message });
    outgoing.destroy(error as Error);
  } finally {
    await source.close(finished);
    onEnd({ sent, finished });
  }
}

/** Resolves true when the response can take more, false when it closed first. */
function drained(outgoing: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (value: boolean) => () => {
      outgoing.off('drain', onDrain);
      outgoing.off('close', onClose);
      resolve(value);
    };
    const onDrain = done(true);
    const onClose = done(false);
    outgoing.once('drain', onDrain);
    outgoing.once('close', onClose);
  });
}

/** The source as a ReadableStream that pulls only when the consumer asks: `sent` counts what it took. */
function webBody(services: Services, source: ChunkSource, onEnd: (end: BodyEnd) => void, context: Record<string, unknown>): ReadableStream<Uint8Array> {
  let sent = 0;
  let ended = false;
  const finish = async (finished: boolean) => {
    if (ended) return;
    ended = true;
    await source.close(finished);
    onEnd({ sent, finished });
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const chunk = await source.next();
          if (chunk === null) {
            controller.close();
            return await finish(true);
          }
          controller.enqueue(chunk);
          sent += chunk.byteLength;
        } catch (error) {
          services.logger.warn('download broke off', { ...context, sent, error: (error as Error).message });
          controller.error(error);
          await finish(false);
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
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
  if (!end.finished || !(outgoing instanceof ServerResponse)) return Promise.resolve(end.finished);
  if (outgoing.writableFinished) return Promise.resolve(true);
  if (outgoing.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => outgoing.once('close', () => resolve(outgoing.writableFinished)));
}
