import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, loadConfig, startServer, type RunningServer } from '@ds/server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser.js';

// A web app on another origin asks DS for an application token with its label API key, then
// for the latest version with that token, as the T1C SDK does: a real browser, real preflights.
// CORS does not depend on the database, so this runs in the SQLite pass only (vitest.config.ts).
const ADMIN_PASSWORD = 'browser-test-password';

describe('cross-origin token then latest version', () => {
  let dir: string;
  let browser: Browser;
  const servers: RunningServer[] = [];
  let page: Server;
  let pageOrigin: string;

  /** What DS saw: one entry per request from its JSON request log. */
  const seen: { method: string; path: string; status: number }[] = [];

  async function startDs(env: Record<string, string> = {}) {
    const logger = createLogger('info', (line) => {
      const entry = JSON.parse(line);
      if (entry.msg === 'request') seen.push({ method: entry.method, path: entry.path, status: entry.status });
    });
    const ds = await startServer(
      loadConfig({ DATABASE_URL: join(dir, `ds-${servers.length}.db`), PORT: '0', DS_ADMIN_PASSWORD: ADMIN_PASSWORD, DS_INSTALLER_ROOT: dir, ...env }),
      { logger },
    );
    servers.push(ds);
    const call = async (method: string, path: string, body?: unknown, token?: string) => {
      const res = await fetch(`${ds.url}/v3_5${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return (await res.json()).data;
    };
    const { token } = await call('POST', '/admin/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
    await call('PUT', '/admin/organizations/acme', {}, token);
    const label = await call('PUT', '/admin/labels/acme-web', { organization: 'acme' }, token);
    await call('PUT', '/admin/versions/3.8.1', { recommended: true, installers: [{ os: 'win64', uri: 'https://cdn.example.test/t1c.exe' }] }, token);
    return { url: ds.url, apiKey: label.apiKey as string };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-browser-'));
    // The web app's origin: a page served from another port and host name than DS.
    page = createServer((req, res) => {
      const params = new URL(req.url ?? '/', 'http://x').searchParams;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>app</title><pre id="out">running</pre><script>
        (async () => {
          const ds = ${JSON.stringify(params.get('ds'))};
          try {
            const t = await fetch(ds + '/v3_5/tokens/application', { headers: { apikey: ${JSON.stringify(params.get('key'))} }, credentials: 'include' });
            const token = (await t.json()).data;
            const v = await fetch(ds + '/v3_5/versions/latest', { headers: { Authorization: 'Bearer ' + token, 'Accept-Language': 'en', 'X-T1C-BILLING-TAG': 'demo' }, credentials: 'include' });
            document.getElementById('out').textContent = JSON.stringify({ status: v.status, body: await v.json(), requestId: v.headers.get('x-request-id') });
          } catch (e) {
            document.getElementById('out').textContent = JSON.stringify({ error: String(e) });
          }
        })();
      </script>`);
    });
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    pageOrigin = `http://localhost:${(page.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    for (const s of servers) await s.close();
    await new Promise((resolve) => page?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  async function runPage(ds: { url: string; apiKey: string }) {
    const tab = await browser.newPage();
    seen.length = 0;
    await tab.goto(`${pageOrigin}/?ds=${encodeURIComponent(ds.url)}&key=${encodeURIComponent(ds.apiKey)}`);
    await tab.waitForFunction(() => document.getElementById('out')?.textContent !== 'running', undefined, { timeout: 15_000 });
    const result = JSON.parse((await tab.textContent('#out')) ?? '{}');
    await tab.close();
    const preflights = seen.filter((r) => r.method === 'OPTIONS' && r.status === 204).map((r) => r.path);
    return { result, preflights };
  }

  it('works from a page on another origin, preflights included', async () => {
    const ds = await startDs();
    const { result, preflights } = await runPage(ds);
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(200);
    expect(result.body.data).toMatchObject({ id: '3.8.1', recommended: true, uris: [{ os: 'WIN64', uri: `${ds.url}/v3_5/downloads/installers/win64/versions/3.8.1` }] });
    // The custom headers make both requests non-simple: the browser asked first.
    expect(preflights).toEqual(expect.arrayContaining(['/v3_5/tokens/application', '/v3_5/versions/latest']));
    expect(result.requestId).toBeTruthy();
  });

  it('is refused by the browser when the origin is not allowed', async () => {
    const ds = await startDs({ DS_CORS_ORIGINS: 'https://*.acme.example' });
    const { result } = await runPage(ds);
    expect(result.error).toMatch(/Failed to fetch/);
  });

  it('answers preflights with exactly the allowed headers and echoes the origin with credentials', async () => {
    const ds = servers[0]!;
    const res = await fetch(`${ds.url}/v3_5/tokens/application`, {
      method: 'OPTIONS',
      headers: { origin: pageOrigin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'apikey' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(pageOrigin);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(',').map((h) => h.trim());
    // The headers of API.md, and those a page needs to resume a download with fetch().
    expect(allowed.sort()).toEqual(['accept-language', 'apikey', 'authorization', 'content-type', 'if-none-match', 'if-range', 'range', 'x-csrf-token', 'x-t1c-billing-tag']);
    // The admin API is not open to browsers.
    const admin = await fetch(`${ds.url}/v3_5/admin/organizations`, { method: 'OPTIONS', headers: { origin: pageOrigin, 'access-control-request-method': 'GET' } });
    expect(admin.headers.get('access-control-allow-origin')).toBeNull();
  });
});
