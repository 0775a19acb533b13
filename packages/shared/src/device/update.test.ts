import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceCallError } from './client.js';
import { downloadInstaller, updateOffer } from './update.js';

// The device side of an update: which answers offer one, and an installer that is used only when
// it is what DS said it is (size and SHA-256 from its headers, or what the caller expects).

const BYTES = Buffer.from('installer bytes '.repeat(300));
const HEX = createHash('sha256').update(BYTES).digest('hex');
const URI = 'https://ds.example.test/v3_5/downloads/installers/win64/versions/3.9.0';

const serving = (body: Uint8Array, headers: Record<string, string>, status = 200) =>
  (async () => new Response(body, { status, headers })) as unknown as typeof fetch;

describe('downloadInstaller', () => {
  it.each([
    ['X-Checksum-Sha256 and Content-Length', { 'x-checksum-sha256': HEX, 'content-length': String(BYTES.length) }],
    ['only Digest (RFC 3230, base64)', { digest: `sha-256=${Buffer.from(HEX, 'hex').toString('base64')}` }],
    ['no checksum at all', {}],
  ])('accepts the bytes DS announced with %s', async (_, headers) => {
    const got = await downloadInstaller(URI, { fetch: serving(BYTES, { 'content-disposition': 'attachment; filename="t1c.exe"', ...headers }) });
    expect(got).toEqual({ uri: URI, size: BYTES.length, sha256: HEX, fileName: 't1c.exe' });
  });

  it.each([
    ['another SHA-256 in X-Checksum-Sha256', { 'x-checksum-sha256': 'a'.repeat(64) }, {}, /SHA-256 .* differs from the a{64} DS announced/],
    ['another SHA-256 in Digest', { digest: `sha-256=${Buffer.alloc(32, 1).toString('base64')}` }, {}, /differs from the 0101/],
    ['fewer bytes than expected', {}, { size: BYTES.length + 1 }, /received \d+ bytes, expected/],
    ['another SHA-256 than expected', {}, { sha256: 'B'.repeat(64) }, /differs from the expected b{64}/],
  ])('refuses %s (BAD_RESPONSE: never installed)', async (_, headers, expected, message) => {
    const error = await downloadInstaller(URI, { fetch: serving(BYTES, headers), expected }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceCallError);
    expect((error as DeviceCallError).code).toBe('BAD_RESPONSE');
    expect((error as DeviceCallError).message).toMatch(message);
  });

  describe('redirects and size', () => {
    const servers: Server[] = [];
    afterEach(async () => {
      await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    });
    /** A real HTTP server on port 0; answers with `route(path)`. */
    const listen = async (route: (path: string, base: string) => { status?: number; headers?: Record<string, string>; body?: Buffer }) => {
      const server = createServer((req, res) => {
        const { status = 200, headers = {}, body } = route(req.url ?? '/', base);
        res.writeHead(status, headers).end(body);
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return base;
    };

    it("checks the origin's bytes against the SHA-256 DS announced on its redirect, not against the origin's own", async () => {
      const other = Buffer.from('something else entirely');
      const origin = await listen(() => ({ headers: { 'x-checksum-sha256': createHash('sha256').update(other).digest('hex') }, body: other }));
      const ds = await listen(() => ({ status: 302, headers: { location: `${origin}/t1c.exe`, 'x-checksum-sha256': HEX } }));
      const error = await downloadInstaller(`${ds}/v3_5/downloads/installers/win64/versions/3.9.0`).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'BAD_RESPONSE' });
      expect((error as Error).message).toMatch(new RegExp(`differs from the ${HEX} DS announced`));
      // The same redirect to the right bytes is installed.
      const good = await listen(() => ({ body: BYTES }));
      const ds2 = await listen(() => ({ status: 302, headers: { location: `${good}/t1c.exe`, 'x-checksum-sha256': HEX } }));
      await expect(downloadInstaller(`${ds2}/d`)).resolves.toMatchObject({ size: BYTES.length, sha256: HEX });
    });

    it('follows a few redirects, never without end', async () => {
      const loop = await listen((path) => ({ status: 302, headers: { location: `/hop${Number(path.slice(4) || 0) + 1}` } }));
      const error = await downloadInstaller(`${loop}/hop0`).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'BAD_RESPONSE' });
      expect((error as Error).message).toContain('redirected more than 5 times');
    });

    it('refuses a redirect from https down to http, or to another scheme', async () => {
      const redirecting = (location: string) => (async () => new Response(null, { status: 302, headers: { location } })) as unknown as typeof fetch;
      for (const [location, message] of [
        ['http://cdn.example.test/t1c.exe', 'from https down to http'],
        ['file:///etc/passwd', 'only http and https are followed'],
      ]) {
        const error = await downloadInstaller(URI, { fetch: redirecting(location!) }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'BAD_RESPONSE' });
        expect((error as Error).message).toContain(message);
      }
    });

    it('stops reading a body larger than it accepts', async () => {
      const big = await listen(() => ({ body: BYTES }));
      const error = await downloadInstaller(`${big}/t1c.exe`, { maxBytes: 1000 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'BAD_RESPONSE' });
      expect((error as Error).message).toMatch(/more than the 1000 accepted|past the 1000 bytes accepted/);
      // Without Content-Length (chunked) too.
      const endless = (async () => new Response(new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(512)) }))) as unknown as typeof fetch;
      const cut = await downloadInstaller(URI, { fetch: endless, maxBytes: 4096 }).catch((e: unknown) => e);
      expect((cut as Error).message).toContain('past the 4096 bytes accepted');
    });
  });

  it("passes DS's error on, with its code", async () => {
    const body = Buffer.from(JSON.stringify({ success: false, code: 'VERSION_NOT_ALLOWED', description: 'version 3.9.0 is not allowed', requestId: 'r' }));
    const error = await downloadInstaller(URI, { fetch: serving(body, { 'content-type': 'application/json' }, 410) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 410, code: 'VERSION_NOT_ALLOWED' });
  });

  it('says when DS cannot be reached', async () => {
    const fetch = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof globalThis.fetch;
    await expect(downloadInstaller(URI, { fetch })).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
  });
});

describe('updateOffer', () => {
  const info = { id: '3.9.0', recommended: true, mandatory: false, allowed: true, uris: [], publishedAt: '2026-01-01T00:00:00.000Z' };
  it.each([
    ['RECOMMENDED', '3.8.1', { version: '3.9.0', downloadUri: URI, mandatory: false }],
    ['MANDATORY', '3.8.1', { version: '3.9.0', downloadUri: URI, mandatory: true }],
    ['UPDATE_AVAILABLE', '3.8.1', null],
    ['NOT_ALLOWED', '3.8.1', null],
    ['RECOMMENDED', '3.9.0', null],
  ] as const)('%s to a device on %s: %j', (action, running, expected) => {
    const offer = updateOffer({ action, latest: info, current: null, downloadUri: URI }, running);
    expect(offer === null ? null : { version: offer.version, downloadUri: offer.downloadUri, mandatory: offer.mandatory }).toEqual(expected);
  });

  it('no download URI (an OS DS has no installer for): nothing to install', () => {
    expect(updateOffer({ action: 'RECOMMENDED', latest: info, current: null, downloadUri: null }, '3.8.1')).toBeNull();
  });
});
