import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, get as httpGet, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemResolver } from '../lib/outbound.js';
import { createTestContext, type TestContext } from '../test/harness.js';
import { closeServer, listenLocal, localServerForSuite } from '../test/local-server.js';

const D = '/v3_5/downloads';
const CHROME_WIN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const base64Sha256 = (data: Buffer) => createHash('sha256').update(data).digest('base64');

let ctx: TestContext;
let admin: string;
/** Download events whose recording has started (see waitForEvents). */
let recordings: { mock: { calls: unknown[] } };

async function setup(configOverrides?: Record<string, string>) {
  ctx = await createTestContext(configOverrides ? { configOverrides } : {});
  admin = await ctx.login();
  recordings = vi.spyOn(ctx.app.services.background, 'track');
}

/** Writes an installer file into the installer root. */
function installerFile(name: string, data: Buffer | string) {
  const path = join(ctx.installerRoot, name);
  writeFileSync(path, data);
  return { path, uri: pathToFileURL(path).href, data: Buffer.from(data) };
}

async function putVersion(id: string, body: Record<string, unknown>) {
  const res = await ctx.request('PUT', `/v3_5/admin/versions/${id}`, { token: admin, body });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  return res.body.data;
}

const fetchApp = (path: string, headers: Record<string, string> = {}, method = 'GET') => ctx.app.request(path, { method, headers });
const bytesOf = async (res: Response) => Buffer.from(await res.arrayBuffer());

async function expectError(res: Response, status: number, code: string) {
  const body = (await res.json()) as any;
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(body).toMatchObject({ success: false, code });
  expect(body.requestId).toBe(res.headers.get('x-request-id'));
  return body;
}

const events = () => ctx.database.db.selectFrom('downloadEvents').selectAll().orderBy('createdAt').orderBy('bytes').execute();
/**
 * The download events once `n` downloads in all have been recorded. A download records its event
 * in the background after its body ended or broke off (send.ts), so: wait until `n` recordings
 * have started, then until they are written. One recording more than `n` fails, rather than
 * landing after the check.
 */
async function waitForEvents(n: number) {
  await vi.waitFor(() => expect(recordings.mock.calls.length).toBeGreaterThanOrEqual(n), { timeout: 15_000, interval: 10 });
  await ctx.app.services.background.drain(15_000);
  expect(ctx.app.services.background.size, 'download events still being written').toBe(0);
  expect(recordings.mock.calls.length, 'download events recorded').toBe(n);
  return events();
}

// ---------------------------------------------------------------------------------- file: installers

describe('file: installers', () => {
  beforeEach(() => setup());
  afterEach(async () => ctx.close());

  it('streams the whole file with its name, type, length, checksum, ETag and Last-Modified', async () => {
    const file = installerFile('t1c-3.8.1-win64.exe', randomBytes(300_000));
    await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
    const mtime = statSync(file.path).mtime;
    for (const path of [`${D}/installers/win64`, `${D}/installers/WIN64/versions/3.8.1`, `${D}/installers/Win64/versions/3.8.1`, `${D}/installer`]) {
      const res = await fetchApp(path, { 'user-agent': CHROME_WIN });
      expect(res.status, path).toBe(200);
      expect(Object.fromEntries(res.headers)).toMatchObject({
        'content-type': 'application/vnd.microsoft.portable-executable',
        'content-length': String(file.data.length),
        'content-disposition': 'attachment; filename="t1c-3.8.1-win64.exe"',
        etag: `"${sha256(file.data)}"`,
        'last-modified': mtime.toUTCString(),
        'accept-ranges': 'bytes',
        'x-checksum-sha256': sha256(file.data),
        digest: `sha-256=${base64Sha256(file.data)}`,
        'cache-control': 'no-cache',
      });
      expect(res.headers.get('x-request-id')).toBeTruthy();
      expect((await bytesOf(res)).equals(file.data)).toBe(true);
    }
  });

  it('HEAD answers the same headers without a body and is not counted', async () => {
    const file = installerFile('t1c.msi', randomBytes(5000));
    await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
    const res = await fetchApp(`${D}/installers/win64/versions/3.8.1`, { range: 'bytes=0-9' }, 'HEAD');
    expect(res.status).toBe(200); // Range is for GET only
    expect(res.headers.get('content-length')).toBe('5000');
    expect(res.headers.get('content-type')).toBe('application/x-msi');
    expect(res.headers.get('etag')).toBe(`"${sha256(file.data)}"`);
    expect(res.headers.get('x-checksum-sha256')).toBe(sha256(file.data));
    expect(await res.text()).toBe('');
    const full = await fetchApp(`${D}/installers/win64/versions/3.8.1`);
    await bytesOf(full);
    expect(await waitForEvents(1)).toHaveLength(1);
  });

  it.each([
    ['t1c.exe', 'application/vnd.microsoft.portable-executable'],
    ['t1c.MSI', 'application/x-msi'],
    ['t1c.dmg', 'application/x-apple-diskimage'],
    ['t1c.pkg', 'application/octet-stream'],
    ['t1c_3.8.1_amd64.deb', 'application/vnd.debian.binary-package'],
    ['t1c-3.8.1.x86_64.rpm', 'application/x-rpm'],
    ['t1c.tar.gz', 'application/gzip'],
    ['t1c.run', 'application/octet-stream'],
  ])('%s is sent as %s', async (name, type) => {
    const file = installerFile(name, 'x');
    await putVersion('3.8.1', { installers: [{ os: 'linux64', uri: file.uri }] });
    const res = await fetchApp(`${D}/installers/linux64`);
    expect(res.headers.get('content-type')).toBe(type);
    await res.arrayBuffer();
  });

  it('names non-ASCII files with an ASCII filename and an RFC 6266 filename*', async () => {
    const file = installerFile('T1C installateur é (3.8.1).exe', 'x');
    await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
    const res = await fetchApp(`${D}/installers/win64`);
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="T1C installateur _ (3.8.1).exe"; filename*=UTF-8''T1C%20installateur%20%C3%A9%20%283.8.1%29.exe`,
    );
    await res.arrayBuffer();
  });

  it('serves an empty installer', async () => {
    const file = installerFile('empty.exe', '');
    await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
    const res = await fetchApp(`${D}/installers/win64`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('0');
    expect(await res.text()).toBe('');
    const range = await fetchApp(`${D}/installers/win64`, { range: 'bytes=0-' });
    await expectError(range, 416, 'RANGE_NOT_SATISFIABLE');
    expect(range.headers.get('content-range')).toBe('bytes */0');
  });

  describe('ranges', () => {
    const SIZE = 3 * 1024 * 1024 + 4321;
    let file: ReturnType<typeof installerFile>;
    let etag: string;
    beforeEach(async () => {
      file = installerFile('t1c-big.exe', randomBytes(SIZE));
      etag = `"${sha256(file.data)}"`;
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
    });
    const url = `${D}/installers/win64/versions/3.8.1`;

    it.each([
      ['bytes=0-0', 0, 0],
      ['bytes=0-1048575', 0, 1048575],
      ['bytes=1048576-', 1048576, SIZE - 1],
      ['bytes=-500', SIZE - 500, SIZE - 1],
      ['bytes=-99999999', 0, SIZE - 1],
      ['bytes=100-99999999', 100, SIZE - 1],
      [`bytes=${SIZE - 1}-${SIZE - 1}`, SIZE - 1, SIZE - 1],
      ['BYTES = 10-19', 10, 19],
    ])('%s → 206 with bytes %i-%i', async (range, start, end) => {
      const res = await fetchApp(url, { range });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${SIZE}`);
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
      expect(res.headers.get('etag')).toBe(etag);
      expect(res.headers.get('x-checksum-sha256')).toBe(sha256(file.data)); // of the whole file
      expect((await bytesOf(res)).equals(file.data.subarray(start, end + 1))).toBe(true);
    });

    it('random ranges reassemble into the exact file', async () => {
      const cuts = new Set<number>([0, SIZE]);
      while (cuts.size < 9) cuts.add(1 + Math.floor(Math.random() * (SIZE - 1)));
      const bounds = [...cuts].sort((a, b) => a - b);
      const parts: Buffer[] = [];
      for (let i = 0; i + 1 < bounds.length; i++) {
        const [start, next] = [bounds[i]!, bounds[i + 1]!];
        // The last part asks open-ended, the others with both ends.
        const res = await fetchApp(url, { range: next === SIZE ? `bytes=${start}-` : `bytes=${start}-${next - 1}`, 'if-range': etag });
        expect(res.status).toBe(206);
        parts.push(await bytesOf(res));
      }
      // Shuffled order of requests would not matter either: each part is where it says.
      expect(sha256(Buffer.concat(parts))).toBe(sha256(file.data));
    });

    it.each(['bytes=0-9,20-29', 'bytes=-1, 0-0'])('several ranges (%s) answer the whole body', async (range) => {
      const res = await fetchApp(url, { range });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-range')).toBeNull();
      expect((await bytesOf(res)).length).toBe(SIZE);
    });

    it.each(['bytes=abc', 'items=0-9', 'bytes=20-10', 'bytes=-', 'bytes='])('an unusable Range (%s) is ignored: 200', async (range) => {
      const res = await fetchApp(url, { range });
      expect(res.status).toBe(200);
      expect((await bytesOf(res)).length).toBe(SIZE);
    });

    it.each([`bytes=${SIZE}-`, `bytes=${SIZE + 10}-${SIZE + 20}`, 'bytes=-0'])('%s is unsatisfiable: 416 with Content-Range */size', async (range) => {
      const res = await fetchApp(url, { range });
      await expectError(res, 416, 'RANGE_NOT_SATISFIABLE');
      expect(res.headers.get('content-range')).toBe(`bytes */${SIZE}`);
    });

    it('If-Range: the ETag or the Last-Modified date keeps the range, anything else answers the whole file', async () => {
      const lastModified = statSync(file.path).mtime.toUTCString();
      const older = new Date(statSync(file.path).mtime.getTime() - 3600_000).toUTCString();
      const cases: [string, number][] = [
        [etag, 206],
        [lastModified, 206],
        [`W/${etag}`, 200], // weak tags never match strongly
        [`"${'0'.repeat(64)}"`, 200],
        [older, 200],
        ['not a date', 200],
      ];
      for (const [ifRange, status] of cases) {
        const res = await fetchApp(url, { range: 'bytes=100-199', 'if-range': ifRange });
        expect(res.status, ifRange).toBe(status);
        expect((await bytesOf(res)).length).toBe(status === 206 ? 100 : SIZE);
      }
    });

    it('If-None-Match / If-Modified-Since: 304 with the validators and no body', async () => {
      const lastModified = statSync(file.path).mtime.toUTCString();
      const cases: [Record<string, string>, number][] = [
        [{ 'if-none-match': etag }, 304],
        [{ 'if-none-match': `W/${etag}` }, 304],
        [{ 'if-none-match': `"other", ${etag}` }, 304],
        [{ 'if-none-match': '*' }, 304],
        [{ 'if-none-match': '"other"' }, 200],
        [{ 'if-modified-since': lastModified }, 304],
        [{ 'if-modified-since': new Date(Date.parse(lastModified) - 1000).toUTCString() }, 200],
        // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
        [{ 'if-none-match': '"other"', 'if-modified-since': lastModified }, 200],
      ];
      for (const [headers, status] of cases) {
        const res = await fetchApp(url, headers);
        expect(res.status, JSON.stringify(headers)).toBe(status);
        if (status === 304) {
          expect(res.headers.get('etag')).toBe(etag);
          expect(res.headers.get('last-modified')).toBe(lastModified);
          expect(await res.text()).toBe('');
        } else {
          expect((await bytesOf(res)).length).toBe(SIZE);
        }
      }
      // 304s are not downloads.
      await waitForEvents(3);
    });
  });

  describe('a file that changed on disk', () => {
    it('is refused with 409 INSTALLER_CHANGED and reported by verify; the record is never served wrong', async () => {
      const file = installerFile('t1c.exe', randomBytes(10_000));
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
      writeFileSync(file.path, randomBytes(10_000)); // same size, new content and mtime
      utimesSync(file.path, new Date('2026-03-01T00:00:00Z'), new Date('2026-03-01T00:00:00Z'));
      for (const method of ['GET', 'HEAD']) {
        const res = await fetchApp(`${D}/installers/win64/versions/3.8.1`, {}, method);
        if (method === 'GET') {
          const body = await expectError(res, 409, 'INSTALLER_CHANGED');
          expect(body.description).toContain('3.8.1');
          expect(body.description).not.toContain(ctx.installerRoot); // no paths to clients
        } else {
          expect(res.status).toBe(409);
        }
      }
      const verify = await ctx.request('GET', '/v3_5/admin/versions/3.8.1/verify', { token: admin });
      expect(verify.status).toBe(200);
      expect(verify.body.data).toEqual([
        {
          os: 'WIN64',
          uri: file.uri,
          recorded: { sha256: sha256(file.data), size: 10_000 },
          actual: { sha256: sha256(await import('node:fs').then((fs) => fs.readFileSync(file.path))), size: 10_000 },
          status: 'changed',
          detail: expect.stringContaining('SHA-256'),
        },
      ]);
      // Saving the version again records the new file; downloads work again.
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
      const again = await fetchApp(`${D}/installers/win64`);
      expect(again.status).toBe(200);
      await again.arrayBuffer();
      expect((await ctx.request('GET', '/v3_5/admin/versions/3.8.1/verify', { token: admin })).body.data[0].status).toBe('ok');
    });

    it('a file of another size is refused as well', async () => {
      const file = installerFile('t1c.exe', randomBytes(10_000));
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
      writeFileSync(file.path, randomBytes(20_000));
      await expectError(await fetchApp(`${D}/installers/win64`), 409, 'INSTALLER_CHANGED');
      const verify = await ctx.request('GET', '/v3_5/admin/versions/3.8.1/verify', { token: admin });
      expect(verify.body.data[0]).toMatchObject({ status: 'changed', actual: { size: 20_000 }, detail: expect.stringContaining('10000 → 20000') });
    });

    it('a missing file is refused and reported missing', async () => {
      const file = installerFile('t1c.exe', 'abc');
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }, { os: 'linux64', uri: 'https://cdn.example.com/t1c.deb' }] });
      rmSync(file.path);
      await expectError(await fetchApp(`${D}/installers/win64`), 409, 'INSTALLER_CHANGED');
      const verify = await ctx.request('GET', '/v3_5/admin/versions/3.8.1/verify', { token: admin });
      expect(verify.body.data).toEqual([
        { os: 'LINUX64', uri: 'https://cdn.example.com/t1c.deb', recorded: { sha256: null, size: null }, actual: null, status: 'unchecked', detail: expect.any(String) },
        { os: 'WIN64', uri: file.uri, recorded: { sha256: sha256('abc'), size: 3 }, actual: null, status: 'missing', detail: expect.stringContaining('does not exist') },
      ]);
    });

    it('the same content with a new mtime is served, and the new mtime recorded so it is not hashed again', async () => {
      const file = installerFile('t1c.exe', randomBytes(10_000));
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
      const touched = new Date('2026-02-01T00:00:00.000Z');
      utimesSync(file.path, touched, touched);
      const res = await fetchApp(`${D}/installers/win64`);
      expect(res.status).toBe(200);
      expect(res.headers.get('last-modified')).toBe(touched.toUTCString());
      expect((await bytesOf(res)).equals(file.data)).toBe(true);
      const row = await ctx.database.db.selectFrom('installers').selectAll().executeTakeFirstOrThrow();
      expect(row.mtime).toBe(touched.toISOString());
      expect(row.sha256).toBe(sha256(file.data));
    });

    it('verify hashes in full, finding a change the per-download size and mtime check cannot see', async () => {
      const file = installerFile('t1c.exe', randomBytes(10_000));
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
      const { mtime } = statSync(file.path);
      writeFileSync(file.path, randomBytes(10_000));
      utimesSync(file.path, mtime, mtime); // forged: same size and mtime
      const verify = await ctx.request('GET', '/v3_5/admin/versions/3.8.1/verify', { token: admin });
      expect(verify.body.data[0].status).toBe('changed');
    });

    it('verify: 404 for an unknown version, ok for an unchanged file', async () => {
      expect((await ctx.request('GET', '/v3_5/admin/versions/9.9.9/verify', { token: admin })).status).toBe(404);
      const file = installerFile('t1c.exe', 'abc');
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
      const verify = await ctx.request('GET', '/v3_5/admin/versions/3.8.1/verify', { token: admin });
      expect(verify.body.data).toEqual([
        { os: 'WIN64', uri: file.uri, recorded: { sha256: sha256('abc'), size: 3 }, actual: { sha256: sha256('abc'), size: 3 }, status: 'ok', detail: null },
      ]);
    });
  });
});

// ---------------------------------------------------------------------------------- choosing

describe('which installer', () => {
  beforeEach(() => setup());
  afterEach(async () => ctx.close());

  it('latest means the highest allowed semver; a not-allowed version answers 410', async () => {
    const old = installerFile('old.exe', 'old');
    const current = installerFile('current.exe', 'current');
    const blocked = installerFile('blocked.exe', 'blocked');
    await putVersion('3.8.1', { installers: [{ os: 'win64', uri: old.uri }] });
    await putVersion('3.10.0', { installers: [{ os: 'win64', uri: current.uri }] });
    await putVersion('3.11.0-rc.1', { allowed: false, installers: [{ os: 'win64', uri: blocked.uri }] });
    expect(await (await fetchApp(`${D}/installers/win64`)).text()).toBe('current');
    expect(await (await fetchApp(`${D}/installer`, { 'user-agent': CHROME_WIN })).text()).toBe('current');
    expect(await (await fetchApp(`${D}/installers/win64/versions/3.8.1`)).text()).toBe('old');
    const gone = await fetchApp(`${D}/installers/win64/versions/3.11.0-rc.1`);
    const body = await expectError(gone, 410, 'VERSION_NOT_ALLOWED');
    expect(body.description).toContain('3.11.0-rc.1');
    expect((await fetchApp(`${D}/installers/win64/versions/3.11.0-rc.1`, {}, 'HEAD')).status).toBe(410);
  });

  it('404s: no version at all, an unknown version, no installer for the os (with the choices)', async () => {
    await expectError(await fetchApp(`${D}/installers/win64`), 404, 'NOT_FOUND');
    await expectError(await fetchApp(`${D}/installer`, { 'user-agent': CHROME_WIN }), 404, 'NOT_FOUND');
    const file = installerFile('t1c.deb', 'deb');
    await putVersion('3.8.1', { installers: [{ os: 'linux64', uri: file.uri }, { os: 'macos', uri: 'https://cdn.example.com/t1c.pkg' }] });
    await expectError(await fetchApp(`${D}/installers/win64/versions/3.9.9`), 404, 'NOT_FOUND');
    const missing = await expectError(await fetchApp(`${D}/installers/win64/versions/3.8.1`), 404, 'INSTALLER_NOT_FOUND');
    const available = [
      { os: 'MACOS', url: 'https://ds.example.test/v3_5/downloads/installers/macos/versions/3.8.1' },
      { os: 'LINUX64', url: 'https://ds.example.test/v3_5/downloads/installers/linux64/versions/3.8.1' },
    ];
    expect(missing.data).toEqual({ available });
    const detected = await expectError(await fetchApp(`${D}/installer`, { 'user-agent': CHROME_WIN }), 404, 'INSTALLER_NOT_FOUND');
    expect(detected.data).toEqual({ available });
    expect(detected.description).toContain('win64');
    // The choice list never shows where installers really are.
    expect(JSON.stringify(detected)).not.toContain('cdn.example.com');
    expect(JSON.stringify(detected)).not.toContain(ctx.installerRoot);
  });

  it('a 64-bit Windows gets the 32-bit installer when there is no 64-bit one; nothing else is substituted', async () => {
    const win32 = installerFile('t1c-x86.exe', 'win32');
    const linux32 = installerFile('t1c-i386.deb', 'linux32');
    await putVersion('3.8.1', { installers: [{ os: 'win32', uri: win32.uri }, { os: 'linux32', uri: linux32.uri }] });
    expect(await (await fetchApp(`${D}/installer`, { 'user-agent': CHROME_WIN })).text()).toBe('win32');
    await expectError(await fetchApp(`${D}/installer`, { 'user-agent': FIREFOX_LINUX }), 404, 'INSTALLER_NOT_FOUND');
    await expectError(await fetchApp(`${D}/installers/win64`), 404, 'INSTALLER_NOT_FOUND');
  });

  it('an undetectable User-Agent gets OS_NOT_DETECTED with data.available', async () => {
    const file = installerFile('t1c.exe', 'x');
    await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
    const res = await fetchApp(`${D}/installer`, { 'user-agent': 'curl/8.5.0' });
    const body = await expectError(res, 404, 'OS_NOT_DETECTED');
    expect(body.data).toEqual({ available: [{ os: 'WIN64', url: 'https://ds.example.test/v3_5/downloads/installers/win64/versions/3.8.1' }] });
    expect(res.headers.get('vary')).toMatch(/User-Agent/);
  });

  it.each([
    ['win65', 'UNKNOWN_OS', 400],
    ['..%2F..%2Fetc%2Fpasswd', 'UNKNOWN_OS', 400],
    ['win64%00', 'VALIDATION_ERROR', 400], // a NUL is refused before any lookup (lib/validate.ts)
  ])('os %s → %s', async (os, code, status) => {
    await putVersion('3.8.1', {});
    await expectError(await fetchApp(`${D}/installers/${os}`), status, code);
    await expectError(await fetchApp(`${D}/installers/${os}/versions/3.8.1`), status, code);
  });

  it.each([
    '..',
    '%2e%2e',
    '%2E%2E%2F%2E%2E',
    '..%2F..%2Fetc%2Fpasswd',
    '3.8.1%2F..',
    '3.8.1%00',
    '%00',
    '3.8.1%5C..%5C..',
    '3.8.1/..',
    '..%5C3.8.1',
    'latest',
    '3.8',
    'v3.8.1',
    `3.8.1-${'a'.repeat(80)}`,
  ])('version %s → 400 VALIDATION_ERROR', async (version) => {
    const file = installerFile('t1c.exe', 'x');
    await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
    const res = await fetchApp(`${D}/installers/win64/versions/${version}`);
    await expectError(res, 400, 'VALIDATION_ERROR');
  });

  it('other paths under /installers are 400 too', async () => {
    for (const path of ['/installers/win64/', '/installers/win64/versions', '/installers/win64/versions/3.8.1/x', '/installers/']) {
      await expectError(await fetchApp(`${D}${path}`), 400, 'VALIDATION_ERROR');
    }
  });

  it('answers browser preflights and exposes the download headers', async () => {
    const preflight = await ctx.app.request(`${D}/installers/win64`, {
      method: 'OPTIONS',
      headers: { origin: 'https://www.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range, if-range' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('range');
    const file = installerFile('t1c.exe', 'x');
    await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
    const res = await fetchApp(`${D}/installers/win64`, { origin: 'https://www.example.com' });
    const exposed = res.headers.get('access-control-expose-headers')?.toLowerCase() ?? '';
    for (const name of ['content-disposition', 'x-checksum-sha256', 'digest', 'etag', 'content-range']) expect(exposed).toContain(name);
    await res.arrayBuffer();
  });
});

// ---------------------------------------------------------------------------------- events

describe('download events', () => {
  beforeEach(() => setup());
  afterEach(async () => ctx.close());

  it('counts each GET with os, version, browser, bytes and whether it completed', async () => {
    const file = installerFile('t1c.exe', randomBytes(50_000));
    const deb = installerFile('t1c.deb', randomBytes(20_000));
    await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }, { os: 'linux64', uri: deb.uri }] });
    await bytesOf(await fetchApp(`${D}/installer`, { 'user-agent': CHROME_WIN }));
    await bytesOf(await fetchApp(`${D}/installers/win64/versions/3.8.1`, { 'user-agent': CHROME_WIN, range: 'bytes=1000-1999' }));
    await bytesOf(await fetchApp(`${D}/installers/linux64`, { 'user-agent': FIREFOX_LINUX }));
    await bytesOf(await fetchApp(`${D}/installers/linux64`, { 'user-agent': 'curl/8.5.0' }));
    // Not downloads: HEAD, 304, errors.
    await fetchApp(`${D}/installers/win64`, {}, 'HEAD');
    await fetchApp(`${D}/installers/win64`, { 'if-none-match': `"${sha256(file.data)}"` });
    await (await fetchApp(`${D}/installers/macos`)).text();
    await (await fetchApp(`${D}/installers/win64`, { range: 'bytes=999999-' })).text();
    const rows = await waitForEvents(4);
    const strip = rows.map(({ id, createdAt, ...rest }) => rest);
    expect(strip).toEqual(
      expect.arrayContaining([
        { day: '2026-03-15', os: 'WIN64', version: '3.8.1', browserName: 'Chrome', browserMajor: '131', bytes: 50_000, complete: 1, status: 200 },
        { day: '2026-03-15', os: 'WIN64', version: '3.8.1', browserName: 'Chrome', browserMajor: '131', bytes: 1000, complete: 1, status: 206 },
        { day: '2026-03-15', os: 'LINUX64', version: '3.8.1', browserName: 'Firefox', browserMajor: '133', bytes: 20_000, complete: 1, status: 200 },
        { day: '2026-03-15', os: 'LINUX64', version: '3.8.1', browserName: null, browserMajor: null, bytes: 20_000, complete: 1, status: 200 },
      ]),
    );
    expect(rows.every((r) => r.createdAt === '2026-03-15T10:00:00.000Z')).toBe(true);
  });

  it('a body the client stops reading is counted as incomplete with the bytes sent', async () => {
    const file = installerFile('t1c.exe', randomBytes(5 * 1024 * 1024));
    await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
    const res = await fetchApp(`${D}/installers/win64`);
    const reader = res.body!.getReader();
    let received = 0;
    while (received < 1024 * 1024) received += (await reader.read()).value!.length;
    await reader.cancel();
    const [row] = await waitForEvents(1);
    expect(row).toMatchObject({ complete: 0, status: 200 });
    expect(row!.bytes).toBe(received);
  });

  it('a failing event store never breaks the download', async () => {
    const file = installerFile('t1c.exe', randomBytes(100_000));
    await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
    await ctx.database.db.schema.dropTable('download_events').execute();
    const res = await fetchApp(`${D}/installers/win64`);
    expect(res.status).toBe(200);
    expect((await bytesOf(res)).equals(file.data)).toBe(true);
    // and the next one too
    expect((await bytesOf(await fetchApp(`${D}/installers/win64`))).length).toBe(100_000);
  });
});

// ---------------------------------------------------------------------------------- http(s): origins

/**
 * The test origins listen on 127.0.0.1, a loopback address DS refuses to fetch from unless told
 * (on-premises mirrors): the tests that stream from them turn that on.
 */
const LOCAL_ORIGINS = { DS_ALLOW_PRIVATE_ORIGINS: 'true' };

/** An origin on 127.0.0.1: a file with Range support, failures, no answer and a stalling answer. */
interface Origin {
  url: string;
  data: Buffer;
  etag: string;
  requests: { method: string; url: string; headers: IncomingHttpHeaders }[];
  server: Server;
}

async function startOrigin(): Promise<Origin> {
  const data = randomBytes(1_500_000);
  const etag = '"origin-v1"';
  const lastModified = new Date('2026-03-01T08:00:00Z').toUTCString();
  const requests: Origin['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method!, url: req.url!, headers: req.headers });
    if (req.url === '/fail.msi') return res.writeHead(500).end('boom');
    if (req.url === '/missing.msi') return res.writeHead(404).end('no');
    if (req.url === '/silent.msi') return; // never answers
    if (req.url === '/stall.msi') {
      res.writeHead(200, { 'content-length': String(data.length), 'content-type': 'application/x-msi' });
      res.write(data.subarray(0, 100_000));
      return; // never ends
    }
    if (req.url === '/redirect.msi') return res.writeHead(302, { location: '/files/t1c-3.8.1.msi' }).end();
    if (req.url === '/loop.msi') return res.writeHead(302, { location: '/loop.msi' }).end();
    const headers: Record<string, string> = { etag, 'last-modified': lastModified, 'accept-ranges': 'bytes', 'content-type': 'application/x-msi' };
    if (req.headers['if-none-match'] === etag) return res.writeHead(304, headers).end();
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
    const ifRange = req.headers['if-range'];
    if (range && (ifRange === undefined || ifRange === etag)) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), data.length - 1) : data.length - 1;
      if (start >= data.length) return res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
      res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${data.length}`, 'content-length': String(end - start + 1) });
      return req.method === 'HEAD' ? res.end() : res.end(data.subarray(start, end + 1));
    }
    res.writeHead(200, { ...headers, 'content-length': String(data.length) });
    return req.method === 'HEAD' ? res.end() : res.end(data);
  });
  return { url: `http://127.0.0.1:${await listenLocal(server)}`, data, etag, requests, server };
}

describe('http(s): installers', () => {
  let origin: Origin;
  localServerForSuite(startOrigin, (started) => (origin = started));

  describe('streamed through', () => {
    // The default origin timeout (30 s): a busy machine never fails a good origin. The tests of an
    // origin that is silent or stalls set a short one.
    beforeEach(async () => {
      await setup(LOCAL_ORIGINS);
      origin.requests.length = 0;
    });
    afterEach(async () => ctx.close());

    it('passes the body, length, type, validators through and adds the operator checksum', async () => {
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: `${origin.url}/files/t1c-3.8.1.msi`, sha256: sha256(origin.data) }] });
      const res = await fetchApp(`${D}/installer`, { 'user-agent': CHROME_WIN });
      expect(res.status).toBe(200);
      expect(Object.fromEntries(res.headers)).toMatchObject({
        'content-length': String(origin.data.length),
        'content-type': 'application/x-msi',
        etag: origin.etag,
        'last-modified': new Date('2026-03-01T08:00:00Z').toUTCString(),
        'accept-ranges': 'bytes',
        'content-disposition': 'attachment; filename="t1c-3.8.1.msi"',
        'x-checksum-sha256': sha256(origin.data),
        digest: `sha-256=${base64Sha256(origin.data)}`,
      });
      expect((await bytesOf(res)).equals(origin.data)).toBe(true);
      expect(origin.requests[0]!.headers['accept-encoding']).toBe('identity');
      expect(origin.requests[0]!.headers['user-agent']).toMatch(/^T1C-DS\//);
      const [row] = await waitForEvents(1);
      expect(row).toMatchObject({ os: 'WIN64', bytes: origin.data.length, complete: 1, status: 200, browserName: 'Chrome' });
    });

    it('passes Range and If-Range on: 206, and 416 as 416', async () => {
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: `${origin.url}/files/t1c-3.8.1.msi` }] });
      const url = `${D}/installers/win64/versions/3.8.1`;
      const part = await fetchApp(url, { range: 'bytes=1000-', 'if-range': origin.etag });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 1000-${origin.data.length - 1}/${origin.data.length}`);
      expect(part.headers.get('content-length')).toBe(String(origin.data.length - 1000));
      expect(part.headers.get('x-checksum-sha256')).toBeNull(); // the operator gave none
      expect((await bytesOf(part)).equals(origin.data.subarray(1000))).toBe(true);
      expect(origin.requests[0]!.headers).toMatchObject({ range: 'bytes=1000-', 'if-range': origin.etag });
      // A stale If-Range: the origin answers the whole file.
      const stale = await fetchApp(url, { range: 'bytes=1000-', 'if-range': '"origin-v0"' });
      expect(stale.status).toBe(200);
      expect((await bytesOf(stale)).length).toBe(origin.data.length);
      const outside = await fetchApp(url, { range: 'bytes=9999999-' });
      await expectError(outside, 416, 'RANGE_NOT_SATISFIABLE');
      expect(outside.headers.get('content-range')).toBe(`bytes */${origin.data.length}`);
      const notModified = await fetchApp(url, { 'if-none-match': origin.etag });
      expect(notModified.status).toBe(304);
      expect(notModified.headers.get('etag')).toBe(origin.etag);
      const events = await waitForEvents(2);
      expect(events.map((e) => [e.status, e.bytes, e.complete]).sort()).toEqual([
        [200, origin.data.length, 1],
        [206, origin.data.length - 1000, 1],
      ]);
    });

    it('HEAD asks the origin with HEAD', async () => {
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: `${origin.url}/files/t1c-3.8.1.msi` }] });
      const res = await fetchApp(`${D}/installers/win64`, {}, 'HEAD');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe(String(origin.data.length));
      expect(await res.text()).toBe('');
      expect(origin.requests.map((r) => r.method)).toEqual(['HEAD']);
    });

    it('follows origin redirects', async () => {
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: `${origin.url}/redirect.msi` }] });
      const res = await fetchApp(`${D}/installers/win64`);
      expect(res.status).toBe(200);
      expect((await bytesOf(res)).equals(origin.data)).toBe(true);
      // Range and If-Range go on to the redirect's target.
      origin.requests.length = 0;
      const part = await fetchApp(`${D}/installers/win64`, { range: 'bytes=1000-', 'if-range': origin.etag });
      expect(part.status).toBe(206);
      expect((await bytesOf(part)).equals(origin.data.subarray(1000))).toBe(true);
      expect(origin.requests.map((r) => [r.url, r.headers.range, r.headers['if-range']])).toEqual([
        ['/redirect.msi', 'bytes=1000-', origin.etag],
        ['/files/t1c-3.8.1.msi', 'bytes=1000-', origin.etag],
      ]);
    });

    it('an origin that redirects without end → 502 after a few hops', async () => {
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: `${origin.url}/loop.msi` }] });
      const body = await expectError(await fetchApp(`${D}/installers/win64`), 502, 'ORIGIN_FAILED');
      expect(body.description).toContain('redirected too many times');
      expect(origin.requests).toHaveLength(6);
    });

    it.each([
      ['/fail.msi', 'answered 500'],
      ['/missing.msi', 'answered 404'],
      ['/silent.msi', 'did not answer within 300 ms'],
    ])('%s → 502 ORIGIN_FAILED (%s), never naming the origin', async (path, text) => {
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: `${origin.url}${path}` }] });
      // Only the silent origin is waited for; the others answer at once, however long that takes.
      if (path === '/silent.msi') ctx.config.originTimeoutMs = 300;
      const body = await expectError(await fetchApp(`${D}/installers/win64`), 502, 'ORIGIN_FAILED');
      expect(body.description).toContain(text);
      expect(body.description).toContain('3.8.1');
      expect(body.description).not.toContain('127.0.0.1');
      expect(await events()).toHaveLength(0);
    });

    it('an origin that cannot be reached → 502', async () => {
      const closed = createServer();
      const port = await listenLocal(closed);
      await closeServer(closed);
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: `http://127.0.0.1:${port}/t1c.msi` }] });
      const body = await expectError(await fetchApp(`${D}/installers/win64`), 502, 'ORIGIN_FAILED');
      expect(body.description).toContain('cannot be reached');
    });

    it('an origin that stalls mid-body breaks the download off (never a clean short body)', async () => {
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: `${origin.url}/stall.msi` }] });
      ctx.config.originTimeoutMs = 300;
      const res = await fetchApp(`${D}/installers/win64`);
      expect(res.status).toBe(200);
      await expect(res.arrayBuffer()).rejects.toThrow();
      const [row] = await waitForEvents(1);
      expect(row).toMatchObject({ complete: 0, bytes: 100_000, status: 200 });
    });
  });

  describe('redirect mode (DS_DOWNLOADS=redirect)', () => {
    beforeEach(() => setup({ DS_DOWNLOADS: 'redirect', ...LOCAL_ORIGINS }));
    afterEach(async () => ctx.close());

    it('answers 302 to the origin for http(s) installers and still streams file: installers', async () => {
      const file = installerFile('t1c.deb', 'deb');
      const uri = `${origin.url}/files/t1c-3.8.1.msi`;
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri, sha256: sha256(origin.data) }, { os: 'linux64', uri: file.uri }] });
      origin.requests.length = 0;
      const res = await fetchApp(`${D}/installer`, { 'user-agent': CHROME_WIN });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(uri);
      expect(res.headers.get('x-checksum-sha256')).toBe(sha256(origin.data));
      expect(origin.requests).toHaveLength(0);
      const head = await fetchApp(`${D}/installers/win64`, {}, 'HEAD');
      expect(head.status).toBe(302);
      const deb = await fetchApp(`${D}/installers/linux64`);
      expect(deb.status).toBe(200);
      expect(await deb.text()).toBe('deb');
      const rows = await waitForEvents(2);
      expect(rows.map((r) => [r.os, r.status, r.complete]).sort()).toEqual([
        ['LINUX64', 200, 1],
        ['WIN64', 302, 0],
      ]);
    });
  });
});

// ---------------------------------------------------------------------------------- private origins

describe('origins on private addresses (DS_ALLOW_PRIVATE_ORIGINS off)', () => {
  let origin: Origin;
  localServerForSuite(startOrigin, (started) => (origin = started));
  afterEach(async () => {
    vi.restoreAllMocks();
    origin.requests.length = 0;
    await ctx.close();
  });
  const uri = () => `${origin.url}/files/t1c-3.8.1.msi`;
  const refusals = () => (ctx.app.services.logger.warn as unknown as { mock: { calls: [string, Record<string, unknown>][] } }).mock.calls.filter(([message]) => message === 'installer origin refused');

  it('the local origin is refused when a version is saved', async () => {
    await setup();
    const res = await ctx.request('PUT', '/v3_5/admin/versions/3.8.1', { token: admin, body: { installers: [{ os: 'win64', uri: uri() }] } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INVALID_INSTALLER_URI', description: expect.stringContaining('127.0.0.1 is a loopback address') });
    expect(origin.requests).toEqual([]);
  });

  it('an origin saved while they were allowed is refused when fetched: 502 never naming it, the reason logged for operators', async () => {
    await setup(LOCAL_ORIGINS);
    await putVersion('3.8.1', { installers: [{ os: 'win64', uri: uri() }] });
    ctx.config.allowPrivateOrigins = false; // a restart without the setting
    vi.spyOn(ctx.app.services.logger, 'warn');
    for (const method of ['GET', 'HEAD']) {
      const res = await fetchApp(`${D}/installers/win64`, {}, method);
      expect(res.status).toBe(502);
      if (method === 'GET') {
        const body = await expectError(res, 502, 'ORIGIN_FAILED');
        expect(body.description).toBe('the origin of the win64 installer of version 3.8.1 cannot be reached');
      }
    }
    expect(origin.requests).toEqual([]);
    expect(refusals()).toHaveLength(2);
    expect(refusals()[0]![1]).toMatchObject({ version: '3.8.1', uri: uri(), reason: expect.stringContaining('127.0.0.1 is a loopback address') });
    expect(await waitForEvents(0)).toEqual([]);
  });

  it('a public-looking name that resolves to 127.0.0.1 when fetched is refused on the connection', async () => {
    await setup();
    const resolve = vi.spyOn(systemResolver, 'resolve').mockResolvedValueOnce([{ address: '93.184.215.14', family: 4 }]).mockResolvedValue([{ address: '127.0.0.1', family: 4 }]);
    const named = `http://cdn.example.com:${new URL(origin.url).port}/files/t1c-3.8.1.msi`;
    await putVersion('3.8.1', { installers: [{ os: 'win64', uri: named }] }); // public when saved
    vi.spyOn(ctx.app.services.logger, 'warn');
    await expectError(await fetchApp(`${D}/installers/win64`), 502, 'ORIGIN_FAILED');
    expect(origin.requests).toEqual([]);
    expect(refusals()[0]![1]).toMatchObject({ reason: expect.stringContaining('cdn.example.com resolves to 127.0.0.1, a loopback address') });
    // The name reaches that origin through the same resolver once private origins are allowed.
    ctx.config.allowPrivateOrigins = true;
    const res = await fetchApp(`${D}/installers/win64`);
    expect(res.status).toBe(200);
    expect((await bytesOf(res)).equals(origin.data)).toBe(true);
    expect(origin.requests.map((r) => r.headers.host)).toEqual([new URL(named).host]);
    expect(resolve).toHaveBeenCalledTimes(3);
    await waitForEvents(1);
  });

  it.each([['local origin', () => uri()], ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data/t1c.msi'], ['localhost', () => 'http://localhost:8080/t1c.msi']])(
    'DS_DOWNLOADS=redirect does not send downloaders to a %s saved before: 502, no Location',
    async (_, location) => {
      await setup({ DS_DOWNLOADS: 'redirect', ...LOCAL_ORIGINS });
      await putVersion('3.8.1', { installers: [{ os: 'win64', uri: location() }] });
      expect((await fetchApp(`${D}/installers/win64`)).status).toBe(302);
      await waitForEvents(1);
      ctx.config.allowPrivateOrigins = false;
      vi.spyOn(ctx.app.services.logger, 'warn');
      const res = await fetchApp(`${D}/installers/win64`);
      expect(res.headers.get('location')).toBeNull();
      const body = await expectError(res, 502, 'ORIGIN_FAILED');
      expect(body.description).not.toMatch(/127\.0\.0\.1|169\.254|localhost/);
      expect(refusals()).toHaveLength(1);
      expect(await waitForEvents(1)).toHaveLength(1); // only the 302 before
    },
  );
});

// ---------------------------------------------------------------------------------- real sockets

describe('over a real connection', () => {
  let server: Server;
  let base: string;
  let file: ReturnType<typeof installerFile>;
  let origin: Origin;
  const SIZE = 48 * 1024 * 1024;

  beforeAll(async () => {
    await setup(LOCAL_ORIGINS);
    origin = await startOrigin();
    file = installerFile('t1c-big.exe', randomBytes(SIZE));
    await putVersion('3.8.1', {
      installers: [
        { os: 'win64', uri: file.uri },
        { os: 'linux64', uri: `${origin.url}/files/t1c-3.8.1.msi` },
        { os: 'macos', uri: `${origin.url}/stall.msi` },
      ],
    });
    server = await new Promise<Server>((resolve) => {
      const s = serve({ fetch: ctx.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await closeServer(server);
    await closeServer(origin.server);
    await ctx.close();
  });

  /** Files under the installer root this process has open (not the database's sockets and files). */
  const openInstallerFiles = () =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(ctx.installerRoot);
      } catch {
        return false; // closed meanwhile (or the directory listing's own descriptor)
      }
    });
  /** Downloads these tests made so far that record an event (every GET with a 200 or 206). */
  let downloads = 0;

  /**
   * GET with a fresh connection; stops reading and destroys the socket after `stopAfter` bytes.
   * A slow reader pauses now and then, so the socket fills and DS's writes wait in Node's buffers.
   */
  function download(path: string, headers: Record<string, string>, stopAfter = Infinity, slow = false) {
    return new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer; aborted: boolean }>((resolve, reject) => {
      const req = httpGet(`${base}${path}`, { headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let length = 0;
        let pauseAt = 512 * 1024;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          length += chunk.length;
          if (slow && length >= pauseAt) {
            pauseAt += 2 * 1024 * 1024;
            res.pause();
            setTimeout(() => res.resume(), 15);
          }
          if (length >= stopAfter) {
            req.destroy();
            resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), aborted: true });
          }
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), aborted: false }));
        res.on('error', () => {});
      });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
    });
  }

  it('concurrent whole and partial downloads are byte-exact (buffers are reused only once sent)', async () => {
    const url = `${D}/installers/win64/versions/3.8.1`;
    const ranges = Array.from({ length: 6 }, () => {
      const start = Math.floor(Math.random() * (SIZE - 1));
      return [start, Math.min(SIZE - 1, start + Math.floor(Math.random() * 8 * 1024 * 1024))] as const;
    });
    const [wholes, parts] = await Promise.all([
      Promise.all(Array.from({ length: 4 }, (_, i) => download(url, {}, Infinity, i % 2 === 0))),
      Promise.all(ranges.map(([start, end], i) => download(url, { range: `bytes=${start}-${end}` }, Infinity, i % 2 === 0))),
    ]);
    await waitForEvents((downloads += 10));
    for (const whole of wholes) {
      expect(whole.status).toBe(200);
      expect(sha256(whole.body)).toBe(sha256(file.data));
    }
    parts.forEach((part, i) => {
      const [start, end] = ranges[i]!;
      expect(part.status).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes ${start}-${end}/${SIZE}`);
      expect(part.body.equals(file.data.subarray(start, end + 1))).toBe(true);
    });
  });

  it('sends the request id, CORS headers with Vary: Origin, and the checksum on streamed responses', async () => {
    const res = await download(`${D}/installer`, { 'user-agent': CHROME_WIN, origin: 'https://www.example.com', range: 'bytes=0-99' });
    expect(res.status).toBe(206);
    expect(res.headers).toMatchObject({
      'x-request-id': expect.any(String),
      'access-control-allow-origin': 'https://www.example.com',
      'x-checksum-sha256': sha256(file.data),
      'content-length': '100',
      'content-type': 'application/vnd.microsoft.portable-executable',
    });
    expect(res.headers.vary).toMatch(/User-Agent/);
    expect(res.headers.vary).toMatch(/Origin/);
    expect(res.body.equals(file.data.subarray(0, 100))).toBe(true);
    await waitForEvents((downloads += 1));
  });

  it('HEAD over a socket: the length, no body', async () => {
    const res = await new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = httpGet(`${base}${D}/installers/win64`, { method: 'HEAD', agent: false }, (r) => {
        let body = '';
        r.on('data', (chunk) => (body += chunk));
        r.on('end', () => resolve({ status: r.statusCode!, headers: r.headers, body }));
      });
      req.on('error', reject);
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(SIZE));
    expect(res.body).toBe('');
    await waitForEvents(downloads); // HEAD is no download
  });

  it('an origin streams through a socket; one that stalls mid-body breaks the connection', async () => {
    const good = await download(`${D}/installers/linux64`, {});
    expect(good.status).toBe(200);
    expect(good.body.equals(origin.data)).toBe(true);
    ctx.config.originTimeoutMs = 300;
    try {
      const broken = await new Promise<{ status: number; received: number; error: string }>((resolve) => {
        httpGet(`${base}${D}/installers/macos`, { agent: false }, (res) => {
          let received = 0;
          res.on('data', (chunk: Buffer) => (received += chunk.length));
          res.on('error', (error) => resolve({ status: res.statusCode!, received, error: error.message }));
          res.on('end', () => resolve({ status: res.statusCode!, received, error: 'none' }));
        });
      });
      expect(broken.status).toBe(200);
      expect(broken.error).toMatch(/aborted/);
      expect(broken.received).toBe(100_000);
    } finally {
      ctx.config.originTimeoutMs = 30_000;
    }
    expect(await waitForEvents((downloads += 2))).toContainEqual(expect.objectContaining({ os: 'MACOS', complete: 0, bytes: 100_000 }));
  });

  it('a download broken off mid-stream is resumed with Range and If-Range into the exact file', async () => {
    const before = await events();
    const url = `${D}/installers/win64/versions/3.8.1`;
    const first = await download(url, { 'user-agent': CHROME_WIN }, 2 * 1024 * 1024);
    expect(first.aborted).toBe(true);
    expect(first.status).toBe(200);
    const etag = first.headers.etag!;

    // The server noticed: the event says incomplete, with fewer bytes than the file, and the file
    // is closed (a download records its event after closing its file).
    const after = await waitForEvents((downloads += 1));
    expect(after).toHaveLength(before.length + 1);
    const row = after.find((e) => !before.some((b) => b.id === e.id))!;
    expect(row).toMatchObject({ complete: 0, status: 200, browserName: 'Chrome' });
    expect(row.bytes).toBeGreaterThanOrEqual(first.body.length);
    expect(row.bytes).toBeLessThan(SIZE);
    expect(openInstallerFiles()).toEqual([]);

    const rest = await download(url, { 'user-agent': CHROME_WIN, range: `bytes=${first.body.length}-`, 'if-range': etag });
    expect(rest.status).toBe(206);
    expect(rest.headers['content-range']).toBe(`bytes ${first.body.length}-${SIZE - 1}/${SIZE}`);
    expect(sha256(Buffer.concat([first.body, rest.body]))).toBe(sha256(file.data));
    expect(await waitForEvents((downloads += 1))).toContainEqual(expect.objectContaining({ status: 206, complete: 1, bytes: SIZE - first.body.length }));
  });

  it('a complete download over a socket is counted complete with every byte', async () => {
    const before = (await events()).length;
    const res = await download(`${D}/installers/win64`, {});
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(SIZE);
    const after = await waitForEvents((downloads += 1));
    expect(after).toHaveLength(before + 1);
    expect(after).toContainEqual(expect.objectContaining({ status: 200, complete: 1, bytes: SIZE, browserName: null }));
  });

  it('resuming after the file changed: refused with 409 until the version is saved again, then the new file in full', async () => {
    const url = `${D}/installers/win64/versions/3.8.1`;
    const first = await download(url, {}, 1024 * 1024);
    const etag = first.headers.etag!;
    // The server is done with the old file (it records the broken-off download after closing it).
    await waitForEvents((downloads += 1));
    const replacement = randomBytes(SIZE);
    writeFileSync(file.path, replacement);
    const refused = await download(url, { range: `bytes=${first.body.length}-`, 'if-range': etag });
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.body.toString()).code).toBe('INSTALLER_CHANGED');
    await putVersion('3.8.1', { installers: [{ os: 'win64', uri: file.uri }] });
    const fresh = await download(url, { range: `bytes=${first.body.length}-`, 'if-range': etag });
    expect(fresh.status).toBe(200); // the If-Range no longer matches: the whole new file
    expect(fresh.headers.etag).toBe(`"${sha256(replacement)}"`);
    expect(sha256(fresh.body)).toBe(sha256(replacement));
    await waitForEvents((downloads += 1)); // the refused one is no download
  });
});
