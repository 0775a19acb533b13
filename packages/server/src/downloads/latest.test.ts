import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { VersionCheckResponse } from '@ds/shared';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registeredDevice } from '../test/devices.js';
import { createTestContext, type TestContext } from '../test/harness.js';
import { acceptWeight, prefersHtml } from './http-headers.js';

// Issue 12, items 1-4: which version is "latest" (never a pre-release unless recommended; per os,
// the newest that has an installer for it), for downloads, /system/status, /versions/latest and
// device version checks; the client hints and the Mac choice; the HTML page for browsers.

const D = '/v3_5/downloads';
const BASE = 'https://ds.example.test/v3_5/downloads/installers';
const CHROME_WIN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const SAFARI_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';
const CHROME_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
/** What Chrome sends when it follows a link. */
const NAVIGATE = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';
const MAC_HINTS = (arch: string) => ({ 'sec-ch-ua': '"Chromium";v="131"', 'sec-ch-ua-platform': '"macOS"', 'sec-ch-ua-arch': `"${arch}"` });

let ctx: TestContext;
let admin: string;

/** Publishes `id` with a file installer per os whose content is "<id> <os>"; answers the installation key. */
async function publish(id: string, oses: string[], flags: Record<string, unknown> = {}): Promise<string | undefined> {
  const installers = oses.map((os) => {
    const path = join(ctx.installerRoot, `t1c-${id}-${os}.bin`);
    writeFileSync(path, `${id} ${os}`);
    return { os, uri: pathToFileURL(path).href };
  });
  const res = await ctx.request('PUT', `/v3_5/admin/versions/${id}`, { token: admin, body: { ...flags, installers } });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  return res.body.data.installationApiKey;
}

const update = async (id: string, flags: Record<string, unknown>) => {
  const current = (await ctx.request('GET', `/v3_5/admin/versions/${id}`, { token: admin })).body.data;
  const installers = current.installers.map((i: { os: string; uri: string }) => ({ os: i.os, uri: i.uri }));
  const res = await ctx.request('PUT', `/v3_5/admin/versions/${id}`, { token: admin, body: { recommended: current.recommended, mandatory: current.mandatory, allowed: current.allowed, ...flags, installers } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
};

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => ctx.app.request(path, { method, headers });
/** The body of a download: "<version> <os>". */
const served = async (path: string, headers: Record<string, string> = {}) => {
  const res = await get(path, headers);
  const text = await res.text();
  return res.status === 200 ? text : `${res.status} ${text}`;
};
const json = async (res: Response) => (await res.json()) as any;

async function statusLatest() {
  return (await ctx.request('GET', '/v3_5/system/status')).body.data.latestVersion;
}

async function versionsLatest() {
  await ctx.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} });
  const label = await ctx.request('PUT', '/v3_5/admin/labels/acme-web', { token: admin, body: { organization: 'acme' } });
  const apiKey = label.body.data.apiKey ?? (await ctx.request('POST', '/v3_5/admin/labels/acme-web/rotate-key', { token: admin, body: {} })).body.data.apiKey;
  const token = (await ctx.request('GET', '/v3_5/tokens/application', { headers: { apikey: apiKey } })).body.data;
  const res = await ctx.request('GET', '/v3_5/versions/latest', { token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

/** A device of `version` (published, with its installation key) on `os` checks its version. */
async function versionCheck(version: string, os: { name: string; architecture: string }): Promise<VersionCheckResponse> {
  const key = (await ctx.request('POST', `/v3_5/admin/versions/${version}/rotate-key`, { token: admin, body: {} })).body.data.installationApiKey;
  const d = await registeredDevice(ctx, key, { version, os: { ...os, version: '1' } });
  return d.versionCheck();
}
const WINDOWS = { name: 'Windows', architecture: 'x64' };
const LINUX = { name: 'Linux', architecture: 'x86_64' };
const INTEL_MAC = { name: 'macOS', architecture: 'x86_64' };
const ARM_MAC = { name: 'macOS', architecture: 'arm64' };

// ---------------------------------------------------------------------------------- 1. pre-releases

describe('a pre-release is never latest unless an operator recommends it', () => {
  beforeEach(async () => {
    ctx = await createTestContext();
    admin = await ctx.login();
    await publish('3.8.1', ['win64', 'linux64']);
    await publish('3.9.0', ['win64', 'linux64']);
    // As `ds version create 3.9.1-beta.1` makes it: allowed, not recommended.
    await publish('3.9.1-beta.1', ['win64', 'linux64']);
  });
  afterEach(async () => ctx.close());

  it('downloads, /system/status, /versions/latest and version checks all answer the release', async () => {
    expect(await served(`${D}/installer`, { 'user-agent': CHROME_WIN })).toBe('3.9.0 win64');
    expect(await served(`${D}/installers/linux64`)).toBe('3.9.0 linux64');
    expect(await statusLatest()).toBe('3.9.0');
    const latest = await versionsLatest();
    expect(latest.id).toBe('3.9.0');
    expect(latest.uris).toEqual([
      { os: 'LINUX64', uri: `${BASE}/linux64/versions/3.9.0` },
      { os: 'WIN64', uri: `${BASE}/win64/versions/3.9.0` },
    ]);
    const check = await versionCheck('3.8.1', WINDOWS);
    expect(check).toMatchObject({ action: 'UPDATE_AVAILABLE', latest: { id: '3.9.0' }, downloadUri: `${BASE}/win64/versions/3.9.0` });
    expect(await versionCheck('3.9.0', LINUX)).toMatchObject({ action: 'NONE', latest: { id: '3.9.0' }, downloadUri: null });
    // Whoever is on the beta stays on it: nothing newer to offer.
    expect((await versionCheck('3.9.1-beta.1', WINDOWS)).action).toBe('NONE');
    // The beta is still published: its own links work, and it is in the version list.
    expect(await served(`${D}/installers/win64/versions/3.9.1-beta.1`)).toBe('3.9.1-beta.1 win64');
  });

  it('a pre-release the operator made recommended is latest everywhere', async () => {
    await update('3.9.1-beta.1', { recommended: true });
    expect(await served(`${D}/installer`, { 'user-agent': CHROME_WIN })).toBe('3.9.1-beta.1 win64');
    expect(await served(`${D}/installers/linux64`)).toBe('3.9.1-beta.1 linux64');
    expect(await statusLatest()).toBe('3.9.1-beta.1');
    expect((await versionsLatest()).id).toBe('3.9.1-beta.1');
    expect(await versionCheck('3.9.0', LINUX)).toMatchObject({ action: 'RECOMMENDED', latest: { id: '3.9.1-beta.1' }, downloadUri: `${BASE}/linux64/versions/3.9.1-beta.1` });
  });

  it('a newer release wins over a recommended pre-release; build metadata does not make one; a not-allowed pre-release never counts', async () => {
    await update('3.9.1-beta.1', { recommended: true });
    await publish('3.9.1', ['win64']);
    expect(await statusLatest()).toBe('3.9.1');
    await publish('3.9.2+build.7', ['win64']);
    expect(await statusLatest()).toBe('3.9.2+build.7');
    expect(await served(`${D}/installers/win64`)).toBe('3.9.2+build.7 win64');
    await publish('4.0.0-rc.1', ['win64'], { recommended: true, allowed: false });
    expect(await statusLatest()).toBe('3.9.2+build.7');
  });

  it('only pre-releases published: no latest until one is recommended', async () => {
    await ctx.close();
    ctx = await createTestContext();
    admin = await ctx.login();
    await publish('1.0.0-rc.1', ['win64']);
    expect(await statusLatest()).toBeNull();
    const res = await get(`${D}/installer`, { 'user-agent': CHROME_WIN });
    expect(res.status).toBe(404);
    expect((await json(res)).code).toBe('NOT_FOUND');
    await update('1.0.0-rc.1', { recommended: true });
    expect(await statusLatest()).toBe('1.0.0-rc.1');
    expect(await served(`${D}/installer`, { 'user-agent': CHROME_WIN })).toBe('1.0.0-rc.1 win64');
  });
});

// ---------------------------------------------------------------------------------- 2. per os

describe('latest for an os: the newest allowed release that has an installer for it', () => {
  beforeAll(async () => {
    ctx = await createTestContext();
    admin = await ctx.login();
    await publish('3.8.0', ['win64', 'linux64']);
    await publish('3.8.1', ['win64', 'macos', 'macosarm', 'linux64', 'linux32']);
    // The release of the issue: only Windows and Apple silicon installers.
    await publish('3.9.0', ['win64', 'macosarm']);
  });
  afterAll(async () => ctx.close());

  it.each([
    ['Windows', { 'user-agent': CHROME_WIN }, '3.9.0 win64'],
    ['Linux', { 'user-agent': FIREFOX_LINUX }, '3.8.1 linux64'],
    ['an Intel Mac (Chrome says x86)', { 'user-agent': CHROME_MAC, ...MAC_HINTS('x86') }, '3.8.1 macos'],
    ['Apple silicon (Chrome says arm)', { 'user-agent': CHROME_MAC, ...MAC_HINTS('arm') }, '3.9.0 macosarm'],
  ])('/installer for %s', async (_name, headers, body) => {
    expect(await served(`${D}/installer`, headers)).toBe(body);
  });

  it('/installer for a Mac that does not tell its chip: the newest of each Mac installer, to choose from', async () => {
    // 3.9.0 has only the Apple silicon installer, 3.8.1 the latest Intel one: either may be the
    // right one, so neither is picked.
    const res = await get(`${D}/installer`, { 'user-agent': SAFARI_MAC });
    expect(res.status).toBe(404);
    const body = await json(res);
    expect(body.code).toBe('OS_NOT_DETECTED');
    expect(body.data.available).toEqual(expect.arrayContaining([
      { os: 'MACOS', url: `${BASE}/macos/versions/3.8.1` },
      { os: 'MACOSARM', url: `${BASE}/macosarm/versions/3.9.0` },
    ]));
    expect(res.headers.get('critical-ch')).toBe('Sec-CH-UA-Arch');
  });

  it.each([
    ['win64', '3.9.0 win64'],
    ['linux64', '3.8.1 linux64'],
    ['LINUX32', '3.8.1 linux32'],
    ['macos', '3.8.1 macos'],
    ['macosarm', '3.9.0 macosarm'],
  ])('/installers/%s', async (os, body) => {
    expect(await served(`${D}/installers/${os}`)).toBe(body);
  });

  const AVAILABLE = [
    { os: 'WIN64', url: `${BASE}/win64/versions/3.9.0` },
    { os: 'MACOS', url: `${BASE}/macos/versions/3.8.1` },
    { os: 'MACOSARM', url: `${BASE}/macosarm/versions/3.9.0` },
    { os: 'LINUX32', url: `${BASE}/linux32/versions/3.8.1` },
    { os: 'LINUX64', url: `${BASE}/linux64/versions/3.8.1` },
  ];

  it('the choice lists offer every os its latest installer', async () => {
    const phone = await get(`${D}/installer`, { 'user-agent': IPHONE });
    expect(phone.status).toBe(404);
    expect(await json(phone)).toMatchObject({ code: 'OS_NOT_DETECTED', data: { available: AVAILABLE } });
    const unix = await get(`${D}/installers/unix`);
    expect(unix.status).toBe(404);
    const body = await json(unix);
    expect(body).toMatchObject({ code: 'INSTALLER_NOT_FOUND', data: { available: AVAILABLE } });
    expect(body.description).toBe('no allowed version has an installer for unix');
    // A version asked for by name offers its own installers.
    const named = await json(await get(`${D}/installers/linux64/versions/3.9.0`));
    expect(named).toMatchObject({ code: 'INSTALLER_NOT_FOUND', data: { available: [AVAILABLE[0], AVAILABLE[2]] } });
  });

  it('/system/status names the newest release, whatever its installers', async () => {
    expect(await statusLatest()).toBe('3.9.0');
  });

  it('/versions/latest: the newest release, and per os the latest installer, with VersionInfo shape', async () => {
    const latest = await versionsLatest();
    expect(Object.keys(latest).sort()).toEqual(['allowed', 'id', 'mandatory', 'publishedAt', 'recommended', 'uris']);
    expect(latest).toMatchObject({ id: '3.9.0', allowed: true, recommended: false, mandatory: false });
    expect(latest.uris).toEqual([
      { os: 'LINUX32', uri: `${BASE}/linux32/versions/3.8.1` },
      { os: 'LINUX64', uri: `${BASE}/linux64/versions/3.8.1` },
      { os: 'MACOS', uri: `${BASE}/macos/versions/3.8.1` },
      { os: 'MACOSARM', uri: `${BASE}/macosarm/versions/3.9.0` },
      { os: 'WIN64', uri: `${BASE}/win64/versions/3.9.0` },
    ]);
  });

  it.each([
    ['a Linux device on 3.8.1 is on its latest', '3.8.1', LINUX, { action: 'NONE', latestId: '3.8.1', downloadUri: null }],
    ['a Linux device on 3.8.0 updates to 3.8.1, not to 3.9.0', '3.8.0', LINUX, { action: 'UPDATE_AVAILABLE', latestId: '3.8.1', downloadUri: `${BASE}/linux64/versions/3.8.1` }],
    ['a Windows device on 3.8.1 updates to 3.9.0', '3.8.1', WINDOWS, { action: 'UPDATE_AVAILABLE', latestId: '3.9.0', downloadUri: `${BASE}/win64/versions/3.9.0` }],
    ['an Intel Mac on 3.8.1 is on its latest', '3.8.1', INTEL_MAC, { action: 'NONE', latestId: '3.8.1', downloadUri: null }],
    ['an Apple silicon Mac on 3.8.1 updates to 3.9.0', '3.8.1', ARM_MAC, { action: 'UPDATE_AVAILABLE', latestId: '3.9.0', downloadUri: `${BASE}/macosarm/versions/3.9.0` }],
    ['a device of an os without installers is judged against the newest release', '3.8.1', { name: 'Linux', architecture: 'aarch64' }, { action: 'UPDATE_AVAILABLE', latestId: '3.9.0', downloadUri: null }],
  ])('version check: %s', async (_name, version, os, expected) => {
    const check = await versionCheck(version, os);
    expect({ action: check.action, latestId: check.latest?.id, downloadUri: check.downloadUri }).toEqual(expected);
    // `latest` answers per os what /versions/latest answers, up to that version.
    if (expected.latestId === '3.8.1') {
      expect(check.latest?.uris.map((u) => u.uri)).toEqual([`${BASE}/linux32/versions/3.8.1`, `${BASE}/linux64/versions/3.8.1`, `${BASE}/macos/versions/3.8.1`, `${BASE}/macosarm/versions/3.8.1`, `${BASE}/win64/versions/3.8.1`]);
    }
  });

  it('withdrawing 3.9.0 brings Windows back to 3.8.1 everywhere', async () => {
    await update('3.9.0', { allowed: false });
    try {
      expect(await served(`${D}/installer`, { 'user-agent': CHROME_WIN })).toBe('3.8.1 win64');
      expect(await served(`${D}/installers/macosarm`)).toBe('3.8.1 macosarm');
      expect(await statusLatest()).toBe('3.8.1');
      expect((await versionsLatest()).uris.map((u: { uri: string }) => u.uri)).not.toContain(`${BASE}/win64/versions/3.9.0`);
    } finally {
      await update('3.9.0', { allowed: true });
    }
  });
});

// ---------------------------------------------------------------------------------- 3. client hints, Macs

describe('client hints and the Mac choice', () => {
  beforeEach(async () => {
    ctx = await createTestContext();
    admin = await ctx.login();
  });
  afterEach(async () => ctx.close());

  it('/installer asks for the hints and varies on them, on downloads and on errors', async () => {
    await publish('3.8.1', ['win64']);
    const requests: Record<string, string>[] = [{ 'user-agent': CHROME_WIN }, { 'user-agent': IPHONE }, { 'user-agent': IPHONE, accept: NAVIGATE }];
    for (const headers of requests) {
      const res = await get(`${D}/installer`, headers);
      await res.arrayBuffer();
      expect(res.headers.get('accept-ch')).toBe('Sec-CH-UA-Arch, Sec-CH-UA-Bitness, Sec-CH-UA-Platform');
      const vary = (res.headers.get('vary') ?? '').split(',').map((v) => v.trim().toLowerCase());
      for (const name of ['user-agent', 'sec-ch-ua-platform', 'sec-ch-ua-arch', 'sec-ch-ua-bitness']) expect(vary).toContain(name);
      // Errors come as JSON or HTML by Accept; downloads do not depend on it.
      expect(vary.includes('accept')).toBe(res.status !== 200);
      expect(res.headers.get('critical-ch')).toBeNull();
    }
    // The os routes detect nothing and ask for nothing.
    const res = await get(`${D}/installers/win64`);
    await res.arrayBuffer();
    expect(res.headers.get('accept-ch')).toBeNull();
  });

  it('a Mac that does not tell its chip, with both Mac installers: the choice, never a guess', async () => {
    await publish('3.8.1', ['win64', 'macos', 'macosarm']);
    const requests: Record<string, string>[] = [{ 'user-agent': SAFARI_MAC }, { 'user-agent': CHROME_MAC, 'sec-ch-ua-platform': '"macOS"' }, { 'user-agent': CHROME_MAC, ...MAC_HINTS('') }];
    for (const headers of requests) {
      const res = await get(`${D}/installer`, headers);
      expect(res.status).toBe(404);
      const body = await json(res);
      expect(body.code).toBe('OS_NOT_DETECTED');
      expect(body.description).toMatch(/architecture of this Mac could not be told/);
      expect(body.data).toEqual({
        available: [
          { os: 'WIN64', url: `${BASE}/win64/versions/3.8.1` },
          { os: 'MACOS', url: `${BASE}/macos/versions/3.8.1` },
          { os: 'MACOSARM', url: `${BASE}/macosarm/versions/3.8.1` },
        ],
      });
      // A Chromium browser that would send its architecture now retries once with it.
      expect(res.headers.get('critical-ch')).toBe('Sec-CH-UA-Arch');
    }
    expect(await served(`${D}/installer`, { 'user-agent': CHROME_MAC, ...MAC_HINTS('arm') })).toBe('3.8.1 macosarm');
    expect(await served(`${D}/installer`, { 'user-agent': CHROME_MAC, ...MAC_HINTS('x86') })).toBe('3.8.1 macos');
    expect(await served(`${D}/installer`, { 'user-agent': 'Homebrew/4.2.0 (Macintosh; arm64 Mac OS X 14.2.1) curl/8.4.0' })).toBe('3.8.1 macosarm');
    expect(await served(`${D}/installer`, { 'user-agent': 'Homebrew/4.2.0 (Macintosh; Intel Mac OS X 13.6.3) curl/8.4.0' })).toBe('3.8.1 macos');
  });

  it.each([
    ['macos', '3.8.1 macos'],
    ['macosarm', '3.8.1 macosarm'],
  ])('a Mac that does not tell its chip, with only %s: that one', async (os, body) => {
    await publish('3.8.1', ['win64', os]);
    expect(await served(`${D}/installer`, { 'user-agent': SAFARI_MAC })).toBe(body);
  });

  it('an Intel Mac is never served the Apple silicon installer', async () => {
    await publish('3.8.1', ['win64', 'macosarm']);
    const res = await get(`${D}/installer`, { 'user-agent': CHROME_MAC, ...MAC_HINTS('x86') });
    expect(res.status).toBe(404);
    expect((await json(res)).code).toBe('INSTALLER_NOT_FOUND');
  });
});

// ---------------------------------------------------------------------------------- 4. HTML for browsers

describe('Accept', () => {
  it.each([
    [NAVIGATE, true],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', true], // Safari, Firefox
    ['text/*', true],
    ['text/html;q=0.9, application/json;q=0.8', true],
    [undefined, false],
    ['', false],
    ['*/*', false],
    ['application/json', false],
    ['application/json, text/html', false], // a tie is JSON
    ['text/html;q=0.5, application/json', false],
    ['text/html;q=0, */*', false],
    ['text/*;q=0.2, text/html;q=0.1, */*;q=0.15', false], // the most specific range decides
    ['text/html;q=2', false], // malformed weight: that range is ignored
    ['text/html;q=abc, application/json;q=0.1', false],
    ['TEXT/HTML', true],
  ])('%j prefers HTML: %s', (accept, html) => {
    expect(prefersHtml(accept)).toBe(html);
  });

  it('reads a bounded number of ranges', () => {
    expect(prefersHtml(`text/html, ${'application/x-junk;q=0.1, '.repeat(200)}`)).toBe(true);
    expect(prefersHtml(`${'application/x-junk;q=0.1, '.repeat(200)}text/html`)).toBe(false);
  });

  it('weighs ranges by specificity', () => {
    expect(acceptWeight('text/*;q=0.3, */*;q=0.1', 'text/html')).toBe(0.3);
    expect(acceptWeight('text/*;q=0.3, */*;q=0.1', 'application/json')).toBe(0.1);
    expect(acceptWeight('image/png', 'text/html')).toBe(0);
  });
});

describe('browsers get an HTML page instead of a JSON error', () => {
  let sha: Record<string, string>;
  beforeAll(async () => {
    ctx = await createTestContext();
    admin = await ctx.login();
    await publish('3.8.1', ['win64', 'macos', 'macosarm', 'linux64']);
    await publish('3.9.0', ['win64'], { releaseNotes: '<script>alert(1)</script>' });
    await publish('3.7.0', ['win64'], { allowed: false });
    sha = {};
    for (const [id, os] of [['3.9.0', 'win64'], ['3.8.1', 'macos'], ['3.8.1', 'macosarm'], ['3.8.1', 'linux64']]) {
      sha[os!] = createHash('sha256').update(`${id} ${os}`).digest('hex');
    }
  });
  afterAll(async () => ctx.close());

  const page = async (path: string, headers: Record<string, string> = {}) => {
    const res = await get(path, { accept: NAVIGATE, ...headers });
    return { res, html: await res.text() };
  };

  it('a phone gets the choice page: the installers with versions, sizes, checksums and links', async () => {
    const { res, html } = await page(`${D}/installer`, { 'user-agent': IPHONE });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(html).toMatch(/^<!DOCTYPE html><html lang="en">/);
    expect(html).toContain('<title>Download Trust1Connector · Trust1Connector</title>');
    expect(html).toContain('<h1>Download Trust1Connector</h1>');
    expect(html).toContain('<main>');
    expect(html.match(/<th scope="col">/g)).toHaveLength(4);
    for (const [os, version, name, size] of [
      ['win64', '3.9.0', 'Windows (64-bit)', 11],
      ['macos', '3.8.1', 'macOS (Intel)', 11],
      ['macosarm', '3.8.1', 'macOS (Apple silicon)', 14],
      ['linux64', '3.8.1', 'Linux (64-bit)', 13],
    ] as const) {
      const row = new RegExp(
        `<tr><th scope="row"><a href="${BASE}/${os}/versions/${version.replaceAll('.', '\\.')}" download="">${name.replace(/[()]/g, '\\$&')}</a></th><td>${version.replaceAll('.', '\\.')}</td><td><data value="${size}">${size} bytes</data></td><td><code>${sha[os]}</code></td></tr>`,
      );
      expect(html).toMatch(row);
    }
    expect(html).toContain('Error code <code>OS_NOT_DETECTED</code>');
    expect(html).toContain(res.headers.get('x-request-id'));
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('file:');
    expect(html).not.toContain(ctx.installerRoot);
  });

  it('is sent with strict security headers; its one style is the one the CSP allows', async () => {
    const { res, html } = await page(`${D}/installer`, { 'user-agent': IPHONE });
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');
    expect(csp).toContain("frame-ancestors 'none'");
    const style = /<style>([^<]*)<\/style>/.exec(html)?.[1] ?? '';
    expect(style.length).toBeGreaterThan(100);
    expect(csp).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('vary')).toMatch(/\bAccept\b/);
  });

  it('a Mac whose chip cannot be told: the Mac installers first, the way to find out, Critical-CH', async () => {
    const { res, html } = await page(`${D}/installer`, { 'user-agent': SAFARI_MAC });
    expect(res.status).toBe(404);
    expect(res.headers.get('critical-ch')).toBe('Sec-CH-UA-Arch');
    expect(html).toContain('<h1>Download Trust1Connector for Mac</h1>');
    expect(html).toContain('About This Mac');
    const order = [...html.matchAll(/<th scope="row"><a [^>]*>([^<]*)</g)].map((m) => m[1]);
    expect(order).toEqual(['macOS (Intel)', 'macOS (Apple silicon)', 'Windows (64-bit)', 'Linux (64-bit)']);
  });

  it.each([
    ['an unknown os, escaped', `${D}/installers/%3Cscript%3Ealert(1)%3C%2Fscript%3E`, 400, 'UNKNOWN_OS'],
    ['a withdrawn version', `${D}/installers/win64/versions/3.7.0`, 410, 'VERSION_NOT_ALLOWED'],
    ['a version without that installer', `${D}/installers/linux64/versions/3.9.0`, 404, 'INSTALLER_NOT_FOUND'],
    ['an unknown version', `${D}/installers/win64/versions/9.9.9`, 404, 'NOT_FOUND'],
    ['no installer for the os', `${D}/installers/unix`, 404, 'INSTALLER_NOT_FOUND'],
    ['a bad version', `${D}/installers/win64/versions/%22%3E%3Cimg%20src=x%3E`, 400, 'VALIDATION_ERROR'],
  ])('%s: the same status as the JSON, and the installers there are', async (_name, path, status, code) => {
    const { res, html } = await page(path);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toContain(`Error code <code>${code}</code>`);
    expect(html).toContain(`href="${BASE}/win64/versions/3.9.0"`);
    expect(html).not.toMatch(/<script|<img/i);
    const jsonRes = await get(path);
    expect(jsonRes.status).toBe(status);
    expect((await json(jsonRes)).code).toBe(code);
    if (code === 'UNKNOWN_OS') expect(html).toContain('&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot; is not an os');
  });

  it('API clients keep the JSON, exactly', async () => {
    for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html', 'text/html;q=0.5, application/json']) {
      const res = await get(`${D}/installer`, { 'user-agent': IPHONE, ...(accept === undefined ? {} : { accept }) });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = await json(res);
      expect(Object.keys(body).sort()).toEqual(['code', 'data', 'description', 'requestId', 'success']);
      expect(body.data.available.every((a: object) => Object.keys(a).join() === 'os,url')).toBe(true);
      expect(res.headers.get('vary')).toMatch(/\bAccept\b/);
    }
  });

  it('HEAD: the status and headers of the page, no body', async () => {
    const res = await get(`${D}/installer`, { 'user-agent': IPHONE, accept: NAVIGATE }, 'HEAD');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toBe('');
  });

  it('a download itself is the same whatever the Accept', async () => {
    expect(await served(`${D}/installers/win64`, { accept: NAVIGATE })).toBe('3.9.0 win64');
    expect(await served(`${D}/installer`, { accept: NAVIGATE, 'user-agent': CHROME_WIN })).toBe('3.9.0 win64');
  });

  it('with nothing published, the page says so', async () => {
    const empty = await createTestContext();
    try {
      const res = await empty.app.request(`${D}/installer`, { headers: { accept: NAVIGATE, 'user-agent': IPHONE } });
      expect(res.status).toBe(404);
      const html = await res.text();
      expect(html).toContain('<h1>No installer is available yet</h1>');
      expect(html).not.toContain('<table');
    } finally {
      await empty.close();
    }
  });
});
