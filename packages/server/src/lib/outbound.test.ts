import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { LookupOptions } from 'node:dns';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { listenLocal, localServerForSuite } from '../test/local-server.js';
import { loadConfig } from '../config.js';
import {
  addressClass,
  checkedLookup,
  checkOutboundUrl,
  outboundFetch,
  outboundPolicy,
  OutboundRefusedError,
  systemResolver,
  type OutboundPolicy,
  type ResolvedAddress,
} from './outbound.js';

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });

describe('addressClass', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.254', 'shared (CGNAT)'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.8', 'IETF protocol assignments'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['0:0:0:0:0:ffff:10.0.0.1', 'private'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::169.254.169.254', 'link-local'],
    ['64:ff9b::c0a8:101', 'private'],
    ['64:ff9b:1::a00:1', 'private'],
    ['::127.0.0.1', 'reserved'],
  ])('%s is %s', (address, cls) => {
    expect(addressClass(address)).toBe(cls);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.215.14',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '169.255.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.1',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '::2:0:0:1', // outside ::/96
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    'fbff::1',
    'fe7f::1',
    'fe00::1',
  ])('%s is public', (address) => {
    expect(addressClass(address)).toBeNull();
  });

  it('refuses what is not an address', () => {
    expect(() => addressClass('example.com')).toThrow(TypeError);
  });
});

describe('checkOutboundUrl (when a URL is saved)', () => {
  const strict = outboundPolicy({ allowPrivate: false });
  const open = outboundPolicy({ allowPrivate: true });

  // Literal hosts in every form WHATWG URL normalises to the same address: judged without DNS.
  it.each([
    ['http://127.0.0.1/t1c.msi', 'loopback'],
    ['http://2130706433/t1c.msi', 'loopback'],
    ['http://0x7f.1/t1c.msi', 'loopback'],
    ['http://0x7f000001/t1c.msi', 'loopback'],
    ['http://0177.0.0.1/t1c.msi', 'loopback'],
    ['http://127.1/t1c.msi', 'loopback'],
    ['http://0/t1c.msi', 'unspecified'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/', 'link-local'],
    ['https://10.1.2.3:8443/t1c.msi', 'private'],
    ['http://[::1]:8080/t1c.msi', 'loopback'],
    ['http://[::]/t1c.msi', 'unspecified'],
    ['http://[::ffff:127.0.0.1]/t1c.msi', 'loopback'],
    ['http://[::ffff:169.254.169.254]/', 'link-local'],
    ['http://[64:ff9b::169.254.169.254]/', 'link-local'],
    ['http://[fd00::1]/t1c.msi', 'unique-local'],
    ['http://[fe80::1]/t1c.msi', 'link-local'],
    ['http://localhost:3000/t1c.msi', 'loopback'],
    ['http://LOCALHOST./t1c.msi', 'loopback'],
    ['http://mirror.localhost/t1c.msi', 'loopback'],
  ])('%s is refused (%s)', async (url, cls) => {
    const resolve = vi.spyOn(systemResolver, 'resolve');
    const error = await checkOutboundUrl(url, strict).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundRefusedError);
    expect((error as OutboundRefusedError).addressClass).toBe(cls);
    expect((error as Error).message).toContain(cls);
    expect(resolve).not.toHaveBeenCalled();
    // With private origins allowed, the same URL passes.
    expect(await checkOutboundUrl(url, open)).toMatchObject({ resolved: true });
  });

  it('refuses a name when any of its addresses is refused, naming the name, the address and its class', async () => {
    const resolve = vi.spyOn(systemResolver, 'resolve').mockResolvedValue([v4('93.184.215.14'), v4('10.0.0.7')]);
    await expect(checkOutboundUrl('https://mirror.example.com/t1c.msi', strict)).rejects.toMatchObject({
      name: 'OutboundRefusedError',
      message: 'mirror.example.com resolves to 10.0.0.7, a private address',
      addressClass: 'private',
    });
    expect(resolve).toHaveBeenCalledWith('mirror.example.com');
    resolve.mockResolvedValue([{ address: 'fd00::5', family: 6 }]);
    await expect(checkOutboundUrl('https://mirror.example.com/t1c.msi', strict)).rejects.toThrow(/fd00::5, a unique-local address/);
    expect(await checkOutboundUrl('https://mirror.example.com/t1c.msi', open)).toEqual({ resolved: true, addresses: [{ address: 'fd00::5', family: 6 }] });
  });

  it('accepts a name whose addresses are all public', async () => {
    vi.spyOn(systemResolver, 'resolve').mockResolvedValue([v4('93.184.215.14'), { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 }]);
    expect(await checkOutboundUrl('https://cdn.example.com/t1c.msi', strict)).toMatchObject({ resolved: true });
  });

  it('a name that does not resolve is not refused: resolved false, saying why', async () => {
    vi.spyOn(systemResolver, 'resolve').mockRejectedValue(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    expect(await checkOutboundUrl('https://not-yet.example.com/t1c.msi', strict)).toEqual({ resolved: false, problem: 'not-yet.example.com does not resolve (ENOTFOUND)' });
  });

  it('waits for a resolver at most timeoutMs', async () => {
    vi.useFakeTimers();
    vi.spyOn(systemResolver, 'resolve').mockReturnValue(new Promise(() => {}));
    const check = checkOutboundUrl('https://slow.example.com/t1c.msi', strict, { timeoutMs: 3000 });
    await vi.advanceTimersByTimeAsync(3000);
    expect(await check).toEqual({ resolved: false, problem: 'slow.example.com does not resolve (ETIMEOUT)' });
  });

  it('refuses schemes other than http and https', async () => {
    await expect(checkOutboundUrl('ftp://ftp.example.com/t1c.msi', open)).rejects.toThrow(OutboundRefusedError);
  });
});

describe('checkedLookup (the sockets\' look-up)', () => {
  const lookup = (policy: OutboundPolicy, hostname: string, options: LookupOptions) =>
    new Promise<{ error: Error | null; address: unknown; family?: number }>((resolve) => {
      checkedLookup(policy)(hostname, options, (error, address, family) => resolve({ error, address, family }));
    });
  const both: ResolvedAddress[] = [v4('93.184.215.14'), { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 }];

  it('hands the socket checked addresses: all of them, or the first of the family asked for', async () => {
    vi.spyOn(systemResolver, 'resolve').mockResolvedValue(both);
    const strict = outboundPolicy({ allowPrivate: false });
    expect(await lookup(strict, 'cdn.example.com', { all: true })).toEqual({ error: null, address: both, family: undefined });
    expect(await lookup(strict, 'cdn.example.com', {})).toEqual({ error: null, address: '93.184.215.14', family: 4 });
    expect(await lookup(strict, 'cdn.example.com', { family: 6 })).toEqual({ error: null, address: both[1]!.address, family: 6 });
  });

  it('fails the connection when any address is refused', async () => {
    vi.spyOn(systemResolver, 'resolve').mockResolvedValue([...both, v4('169.254.169.254')]);
    const { error } = await lookup(outboundPolicy({ allowPrivate: false }), 'cdn.example.com', { all: true });
    expect(error).toBeInstanceOf(OutboundRefusedError);
    expect(error!.message).toBe('cdn.example.com resolves to 169.254.169.254, a link-local address');
  });
});

// ---------------------------------------------------------------------------------- fetching

/** A local origin: redirects of every kind, and a file with Range support. */
interface Origin {
  port: number;
  requests: { method: string; url: string; host: string; headers: IncomingHttpHeaders; body: string }[];
  server: Server;
}

const DATA = Buffer.from('0123456789'.repeat(1000));

async function startOrigin(): Promise<Origin> {
  const requests: Origin['requests'] = [];
  let port = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, host: req.headers.host!, headers: req.headers, body });
      const to = (location: string, status = 302) => res.writeHead(status, { location }).end();
      switch (req.url) {
        case '/to-metadata':
          return to('http://169.254.169.254/latest/meta-data/');
        case '/to-loopback':
          return to(`http://127.0.0.2:${port}/file`);
        case '/to-decimal':
          return to(`http://2130706434:${port}/file`);
        case '/to-internal-name':
          return to(`http://internal.test:${port}/file`);
        case '/to-localhost':
          return to(`http://localhost:${port}/file`);
        case '/to-file':
          return to('file:///etc/passwd');
        case '/hop':
          return to('/hop2', 301);
        case '/hop2':
          return to(`http://cdn.test:${port}/file`, 307);
        case '/other-origin':
          return to(`http://other.test:${port}/file`);
        case '/loop':
          return to('/loop');
        case '/see-other':
          return to('/file', 303);
        case '/temporary':
          return to('/echo', 307);
        case '/echo':
          return res.writeHead(200).end(`${req.method} ${body}`);
      }
      const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
      if (range && req.headers['if-range'] === '"v1"') {
        const start = Number(range[1]);
        return res.writeHead(206, { etag: '"v1"', 'content-range': `bytes ${start}-${DATA.length - 1}/${DATA.length}` }).end(DATA.subarray(start));
      }
      res.writeHead(200, { etag: '"v1"' }).end(DATA);
    });
  });
  port = await listenLocal(server);
  return { port, requests, server };
}

describe('outboundFetch', () => {
  let origin: Origin;
  localServerForSuite(startOrigin, (started) => (origin = started));
  afterEach(() => {
    origin.requests.length = 0;
  });

  const strict = outboundPolicy({ allowPrivate: false });
  const open = outboundPolicy({ allowPrivate: true });
  const refusedWith = async (promise: Promise<unknown>, cls: string) => {
    const error = await promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundRefusedError);
    expect((error as OutboundRefusedError).addressClass).toBe(cls);
    return error as OutboundRefusedError;
  };

  it('refuses a literal private address before connecting', async () => {
    await refusedWith(outboundFetch(`http://127.0.0.1:${origin.port}/file`, strict), 'loopback');
    await refusedWith(outboundFetch(`http://0x7f.1:${origin.port}/file`, strict), 'loopback');
    await refusedWith(outboundFetch(`http://localhost:${origin.port}/file`, strict), 'loopback');
    expect(origin.requests).toEqual([]);
  });

  it('refuses a public-looking name that resolves to 127.0.0.1 when connecting', async () => {
    vi.spyOn(systemResolver, 'resolve').mockResolvedValue([v4('127.0.0.1')]);
    const error = await refusedWith(outboundFetch(`http://cdn.example.com:${origin.port}/file`, strict), 'loopback');
    expect(error.message).toBe('cdn.example.com resolves to 127.0.0.1, a loopback address');
    expect(origin.requests).toEqual([]);
  });

  it('checks the addresses of the connection actually made: a name that turns private after the check (DNS rebinding) is refused', async () => {
    const resolve = vi.spyOn(systemResolver, 'resolve').mockResolvedValueOnce([v4('93.184.215.14')]).mockResolvedValue([v4('127.0.0.1')]);
    const url = `http://rebind.example.com:${origin.port}/file`;
    expect(await checkOutboundUrl(url, strict)).toMatchObject({ resolved: true });
    await refusedWith(outboundFetch(url, strict), 'loopback');
    expect(resolve).toHaveBeenCalledTimes(2);
    expect(origin.requests).toEqual([]);
  });

  it('with private origins allowed, reaches local addresses and names', async () => {
    vi.spyOn(systemResolver, 'resolve').mockResolvedValue([v4('127.0.0.1')]);
    for (const host of ['127.0.0.1', 'localhost', 'mirror.internal']) {
      const res = await outboundFetch(`http://${host}:${origin.port}/file`, open);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(DATA)).toBe(true);
    }
    expect(origin.requests.map((r) => r.host)).toEqual([`127.0.0.1:${origin.port}`, `localhost:${origin.port}`, `mirror.internal:${origin.port}`]);
  });

  describe('redirects', () => {
    // The origin under test is allowed (an exception for 127.0.0.1 only), so it can answer with
    // redirects; every other refused address stays refused.
    const names: Record<string, string> = { 'origin.test': '127.0.0.1', 'cdn.test': '127.0.0.1', 'other.test': '127.0.0.1', 'internal.test': '10.1.2.3' };
    const policy: OutboundPolicy = {
      refusal: (address) => (address === '127.0.0.1' ? null : addressClass(address)),
      resolve: async (hostname) => (names[hostname] ? [v4(names[hostname])] : Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }))),
    };
    const from = (path: string) => `http://origin.test:${origin.port}${path}`;

    it.each([
      ['/to-metadata', 'link-local', '169.254.169.254 is a link-local address'],
      ['/to-loopback', 'loopback', '127.0.0.2 is a loopback address'],
      ['/to-decimal', 'loopback', '127.0.0.2 is a loopback address'],
      ['/to-internal-name', 'private', 'internal.test resolves to 10.1.2.3, a private address'],
    ])('a redirect from an allowed origin to a private one is refused: %s', async (path, cls, message) => {
      const error = await refusedWith(outboundFetch(from(path), policy), cls);
      expect(error.message).toBe(message);
      expect(origin.requests.map((r) => r.url)).toEqual([path]);
    });

    it('a redirect to localhost or another scheme is refused', async () => {
      // localhost is 127.0.0.1 and ::1: the exception lets 127.0.0.1 through, not ::1.
      expect((await refusedWith(outboundFetch(from('/to-localhost'), policy), 'loopback')).message).toBe('localhost resolves to ::1, a loopback address');
      await expect(outboundFetch(from('/to-file'), policy)).rejects.toThrow(/file: URLs are not fetched/);
      expect(origin.requests.map((r) => r.url)).toEqual(['/to-localhost', '/to-file']);
    });

    it('follows allowed hops, keeping Range and If-Range on every one', async () => {
      const res = await outboundFetch(from('/hop'), policy, { headers: { range: 'bytes=9000-', 'if-range': '"v1"' } });
      expect(res.status).toBe(206);
      expect(Buffer.from(await res.arrayBuffer()).equals(DATA.subarray(9000))).toBe(true);
      expect(origin.requests.map((r) => [r.host, r.url, r.headers.range, r.headers['if-range']])).toEqual([
        [`origin.test:${origin.port}`, '/hop', 'bytes=9000-', '"v1"'],
        [`origin.test:${origin.port}`, '/hop2', 'bytes=9000-', '"v1"'],
        [`cdn.test:${origin.port}`, '/file', 'bytes=9000-', '"v1"'],
      ]);
    });

    it('stops after maxRedirects', async () => {
      await expect(outboundFetch(from('/loop'), policy, { maxRedirects: 3 })).rejects.toMatchObject({ code: 'ERR_TOO_MANY_REDIRECTS' });
      expect(origin.requests).toHaveLength(4);
      const res = await outboundFetch(from('/loop'), policy, { maxRedirects: 0 });
      expect(res.status).toBe(302);
      await res.body?.cancel();
    });

    it('drops credentials when a redirect leaves the origin, and changes methods as fetch does', async () => {
      const res = await outboundFetch(from('/other-origin'), policy, { headers: { authorization: 'Bearer secret', range: 'bytes=0-' } });
      await res.arrayBuffer();
      expect(origin.requests[0]!.headers.authorization).toBe('Bearer secret');
      expect(origin.requests[1]!.headers).not.toHaveProperty('authorization');
      expect(origin.requests[1]!.headers.range).toBe('bytes=0-');

      origin.requests.length = 0;
      const posted = await outboundFetch(from('/temporary'), policy, { method: 'POST', body: 'event', headers: { 'content-type': 'text/plain' } });
      expect(await posted.text()).toBe('POST event');
      const seeOther = await outboundFetch(from('/see-other'), policy, { method: 'POST', body: 'event', headers: { 'content-type': 'text/plain' } });
      await seeOther.arrayBuffer();
      expect(origin.requests.map((r) => [r.method, r.url, r.body])).toEqual([
        ['POST', '/temporary', 'event'],
        ['POST', '/echo', 'event'],
        ['POST', '/see-other', 'event'],
        ['GET', '/file', ''],
      ]);
    });
  });
});

describe('DS_ALLOW_PRIVATE_ORIGINS', () => {
  it('is off unless set, takes true or false, and names itself when invalid', () => {
    expect(loadConfig({}).allowPrivateOrigins).toBe(false);
    expect(loadConfig({ DS_ALLOW_PRIVATE_ORIGINS: 'true' }).allowPrivateOrigins).toBe(true);
    expect(loadConfig({ DS_ALLOW_PRIVATE_ORIGINS: 'false' }).allowPrivateOrigins).toBe(false);
    expect(loadConfig({ DS_ALLOW_PRIVATE_ORIGINS: 'false' }, { allowPrivateOrigins: true }).allowPrivateOrigins).toBe(true);
    expect(() => loadConfig({ DS_ALLOW_PRIVATE_ORIGINS: 'maybe' })).toThrow(/DS_ALLOW_PRIVATE_ORIGINS: expected true or false/);
  });
});
