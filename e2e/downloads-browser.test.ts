import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser.js';
import { cleanEnv, killServe, ROOT, runDs, startServe, type ServeProcess } from './helpers.js';

// The product page's download link followed in headless Chromium against a real `ds serve` whose
// versions the operator published with `ds version create`: a phone gets the page of installers
// (per os the latest, a beta never), follows a link and gets the installer's bytes; a Mac whose
// chip the browser does not tell gets the Mac choice; Chrome on Apple silicon, asked for its
// architecture with Accept-CH and Critical-CH, gets the Apple silicon installer straight away.
// The browser does not depend on the database: SQLite pass only (vitest.config.ts).
const PASSWORD = 'downloads-browser-e2e-password';
const SCREENSHOTS = join(ROOT, 'artifacts', 'screenshots');
const PHONE = { width: 390, height: 844 };
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
const CHROME_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('installer downloads in a browser', () => {
  let dir: string;
  let url: string;
  let server: ServeProcess;
  let browser: Browser;
  /** Installer bytes by "<version> <os>". */
  const files = new Map<string, { name: string; data: Buffer }>();
  /** Problems the pages reported: CSP violations, script errors. */
  const problems: string[] = [];

  async function newContext(options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
    const context = await browser.newContext({ acceptDownloads: true, ...options });
    context.on('page', (page) => {
      page.on('console', (m) => {
        if (m.type() === 'error' && !/status of 404/.test(m.text())) problems.push(`${page.url()}: ${m.text()}`);
        if (/Content Security Policy/i.test(m.text())) problems.push(`${page.url()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
    });
    return context;
  }

  /** Chromium told to be Chrome on a Mac, with the client hints a Mac with `architecture` gives. */
  async function macPage(context: BrowserContext, architecture: string): Promise<Page> {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setUserAgentOverride', {
      userAgent: CHROME_MAC,
      userAgentMetadata: {
        brands: [{ brand: 'Chromium', version: '131' }],
        fullVersionList: [{ brand: 'Chromium', version: '131.0.0.0' }],
        platform: 'macOS',
        platformVersion: '14.5.0',
        architecture,
        bitness: '64',
        model: '',
        mobile: false,
      },
    });
    return page;
  }

  /** What a page of installers shows: one entry per row. */
  const rows = (page: Page) =>
    page.$$eval('tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('th, td')].map((cell) => cell.textContent?.trim() ?? '')));

  /** The checks every page of installers must pass for people using assistive technology. */
  async function checkAccessible(page: Page) {
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.title()).toMatch(/Trust1Connector/);
    expect(await page.getByRole('main').count()).toBe(1);
    expect(await page.getByRole('contentinfo').count()).toBe(1);
    expect(await page.getByRole('heading', { level: 1 }).count()).toBe(1);
    const table = page.getByRole('table', { name: /Trust1Connector installers/ });
    expect(await table.count()).toBe(1);
    expect(await table.getByRole('columnheader').allTextContents()).toEqual(['Operating system', 'Version', 'Size', 'SHA-256']);
    expect(await page.locator('th:not([scope])').count()).toBe(0);
    // Every row is named by its os, and so is its link: no "click here", no empty link.
    const rowHeaders = await table.getByRole('rowheader').allTextContents();
    expect(await table.getByRole('link').allTextContents()).toEqual(rowHeaders);
    for (const name of rowHeaders) expect(await page.getByRole('link', { name, exact: true }).count()).toBe(1);
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-e2e-downloads-browser-'));
    mkdirSync(SCREENSHOTS, { recursive: true });
    const root = join(dir, 'installers');
    const env = cleanEnv(dir, { XDG_CONFIG_HOME: join(dir, 'config'), DS_ADMIN_PASSWORD: PASSWORD, DATABASE_URL: join(dir, 'ds.db'), DS_INSTALLER_ROOT: root });
    server = await startServe([], env);
    url = server.url;
    expect((await runDs(['login', '--url', url, '--username', 'admin', '--password-stdin'], { env, stdin: PASSWORD })).code).toBe(0);
    // 3.9.0 has no Linux and no Intel Mac installer; the beta is published but not recommended.
    const versions: [string, string[]][] = [
      ['3.8.1', ['win64', 'macos', 'macosarm', 'linux64']],
      ['3.9.0', ['win64', 'macosarm']],
      ['3.9.1-beta.1', ['win64', 'linux64']],
    ];
    for (const [version, oses] of versions) {
      mkdirSync(join(root, version), { recursive: true });
      const installers = oses.flatMap((os, i) => {
        const name = `t1c-${version}-${os}.bin`;
        const data = randomBytes(50_000 + 1000 * i);
        writeFileSync(join(root, version, name), data);
        files.set(`${version} ${os}`, { name, data });
        return ['--installer', `${os}=${pathToFileURL(join(root, version, name)).href}`];
      });
      const created = await runDs(['version', 'create', version, ...installers], { env });
      expect(created.code, created.stderr).toBe(0);
    }
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await killServe(server);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a phone gets the page of installers, accessible, and a link on it downloads the installer', async () => {
    const context = await newContext({ userAgent: IPHONE, viewport: PHONE, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const response = await page.goto(`${url}/v3_5/downloads/installer`);
    expect(response?.status()).toBe(404);
    expect(response?.headers()['content-type']).toMatch(/^text\/html/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Download Trust1Connector');
    await checkAccessible(page);
    const expected = [
      ['Windows (64-bit)', '3.9.0', 'win64'],
      ['macOS (Intel)', '3.8.1', 'macos'],
      ['macOS (Apple silicon)', '3.9.0', 'macosarm'],
      ['Linux (64-bit)', '3.8.1', 'linux64'],
    ].map(([name, version, os]) => {
      const file = files.get(`${version} ${os}`)!;
      return [name!, version!, `${(file.data.length / 1000).toFixed(1)} kB`, sha256(file.data)];
    });
    expect(await rows(page)).toEqual(expected);
    expect(await page.content()).not.toContain('beta');
    await page.screenshot({ path: join(SCREENSHOTS, 'downloads-choice-phone.png'), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Linux (64-bit)' }).click()]);
    const linux = files.get('3.8.1 linux64')!;
    expect(download.suggestedFilename()).toBe(linux.name);
    expect(sha256(readFileSync((await download.path())!))).toBe(sha256(linux.data));
    await context.close();
  });

  it('a Mac whose browser does not tell its chip gets the Mac choice, Mac installers first', async () => {
    const context = await newContext();
    const page = await macPage(context, '');
    const response = await page.goto(`${url}/v3_5/downloads/installer`);
    expect(response?.status()).toBe(404);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Download Trust1Connector for Mac');
    await checkAccessible(page);
    // Each the latest of its kind: 3.9.0 has no Intel installer, so that one is 3.8.1's.
    expect((await rows(page)).map((r) => r.slice(0, 2))).toEqual([
      ['macOS (Intel)', '3.8.1'],
      ['macOS (Apple silicon)', '3.9.0'],
      ['Windows (64-bit)', '3.9.0'],
      ['Linux (64-bit)', '3.8.1'],
    ]);
    await page.screenshot({ path: join(SCREENSHOTS, 'downloads-choice-mac.png'), fullPage: true });
    await context.close();
  });

  it('Chrome on Apple silicon, asked for its architecture, downloads the Apple silicon installer at once', async () => {
    const context = await newContext();
    const page = await macPage(context, 'arm');
    // The first request carries no Sec-CH-UA-Arch (DS never asked this browser before); the answer
    // asks for it (Accept-CH) and marks it critical, so Chromium retries once with it.
    let requests = 0;
    page.on('request', (request) => {
      if (request.url().endsWith('/downloads/installer')) requests++;
    });
    const [download] = await Promise.all([page.waitForEvent('download'), page.goto(`${url}/v3_5/downloads/installer`).catch(() => null)]);
    const arm = files.get('3.9.0 macosarm')!;
    expect(download.suggestedFilename()).toBe(arm.name);
    expect(sha256(readFileSync((await download.path())!))).toBe(sha256(arm.data));
    // Without the hint this Mac would have been offered the choice (3.8.1 has the Intel installer):
    // the Apple silicon one came with the retry. (Playwright does not show the hint headers.)
    expect(requests).toBe(2);
    await context.close();
  });

  it('no page reported a problem (CSP violation, script error)', () => {
    expect(problems).toEqual([]);
  });
});
