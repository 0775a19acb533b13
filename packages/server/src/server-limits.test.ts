import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { silentLogger } from './lib/logger.js';
import { startServer, type RunningServer } from './main.js';

// What a real HTTP server does with clients that send too much or too slowly. (A real socket:
// app.request() has no connection to keep alive or to time out.)

let dir: string;
let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string> = {}) {
  dir = mkdtempSync(join(tmpdir(), 'ds-limits-'));
  const config = loadConfig({ DATABASE_URL: join(dir, 'ds.db'), PORT: '0', DS_INSTALLER_ROOT: dir, DS_ADMIN_PASSWORD: 'a-long-password-1', ...env });
  server = await startServer(config, { logger: silentLogger });
  return server.url;
}

/** One request through `agent`; errors the client meets writing a body DS refused do not matter once it answered. */
function send(agent: Agent, url: string, init: { method: string; body?: Buffer }) {
  return new Promise<{ status: number; connection: string | undefined; socket: object }>((resolve, reject) => {
    let answered = false;
    const headers = init.body ? { 'content-type': 'application/json', 'content-length': String(init.body.length) } : undefined;
    const req = request(url, { method: init.method, agent, ...(headers ? { headers } : {}) }, (res) => {
      answered = true;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, socket: req.socket! }));
    });
    req.on('error', (error) => (answered ? undefined : reject(error)));
    req.end(init.body);
  });
}

describe('the HTTP server', () => {
  it('answers an oversized body 413 with Connection: close, and the client’s next request works on a new connection', async () => {
    const url = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const warm = await send(agent, `${url}/v3_5/system/status`, { method: 'GET' });
    const tooLarge = await send(agent, `${url}/v3_5/admin/auth/login`, { method: 'POST', body: Buffer.alloc(4 * 1024 * 1024, 'a') });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.connection).toBe('close');
    const next = await send(agent, `${url}/v3_5/system/status`, { method: 'GET' });
    expect(next.status).toBe(200);
    expect(next.socket).not.toBe(warm.socket);
    agent.destroy();
  });

  it('closes a connection whose headers never finish, and an idle keep-alive connection, by their timeouts', async () => {
    const url = new URL(await start({ DS_REQUEST_TIMEOUT_MS: '1000', DS_KEEP_ALIVE_TIMEOUT_MS: '1000' }));
    const closed = (socket: ReturnType<typeof connect>) => new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.on('close', () => resolve(text));
    });
    // A slow client: the request line and one header, then nothing.
    const slow = connect(Number(url.port), url.hostname, () => slow.write('GET /v3_5/system/status HTTP/1.1\r\nHost: x\r\n'));
    expect(await closed(slow)).toMatch(/^HTTP\/1\.1 408/);
    // A keep-alive client that answered and then went quiet.
    const idle = connect(Number(url.port), url.hostname, () => idle.write('GET /v3_5/system/status HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(await closed(idle)).toMatch(/^HTTP\/1\.1 200/);
  });

  it('counts failed logins per client behind a trusted proxy, and per proxy otherwise', async () => {
    const login = (url: string, forwardedFor: string) =>
      fetch(`${url}/v3_5/admin/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
        body: JSON.stringify({ username: 'admin', password: 'a wrong password' }),
      });
    // The test client connects from 127.0.0.1: with it trusted, each forwarded client has its own limit.
    const trusted = await start({ DS_TRUSTED_PROXIES: '127.0.0.1, ::1' });
    for (let i = 0; i < 10; i++) expect((await login(trusted, '203.0.113.1')).status).toBe(401);
    expect((await login(trusted, '203.0.113.1')).status).toBe(429);
    expect((await login(trusted, '203.0.113.2')).status).toBe(401);
    await server!.close();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
    // Without it, the header is the client's own claim: rotating it buys nothing.
    const direct = await start();
    for (let i = 0; i < 10; i++) expect((await login(direct, `203.0.113.${i}`)).status).toBe(401);
    expect((await login(direct, '203.0.113.99')).status).toBe(429);
  });
});
