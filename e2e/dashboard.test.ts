import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser.js';
import { cleanEnv, killServe, parseCsv, ROOT, runDs, startServe, type ServeProcess } from './helpers.js';

// The dashboard in headless Chromium against a real `ds serve` filled by `ds simulate`: what the
// pages show is compared with what `ds report` prints for the same data. Screenshots of every
// page at desktop and phone widths go to artifacts/screenshots/. The browser does not depend on
// the database, so this runs in the SQLite pass only (vitest.config.ts; the server tests cover
// both dialects).
const PASSWORD = 'dashboard-e2e-password';
const ALICE_PASSWORD = 'alice-e2e-password';
const SCREENSHOTS = join(ROOT, 'artifacts', 'screenshots');
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const WINDOWS_CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const MAC_SAFARI = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

const month = (offset = 0) => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1)).toISOString().slice(0, 7);
};

describe('the dashboard in a browser', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let url: string;
  let server: ServeProcess;
  let browser: Browser;
  let attacker: Server;
  let attackerOrigin: string;
  /** Problems the pages reported: CSP violations, script errors. */
  const problems: string[] = [];

  /** `ds ... --json` as the admin, parsed. */
  async function ds<T = any>(args: string[]): Promise<T> {
    const result = await runDs([...args, '--json'], { env });
    if (result.code !== 0) throw new Error(`ds ${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  async function newContext(viewport = DESKTOP, options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
    const context = await browser.newContext({ viewport, acceptDownloads: true, ...(viewport === PHONE ? { isMobile: true, hasTouch: true } : {}), ...options });
    context.on('page', watch);
    return context;
  }

  function watch(page: Page) {
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
  }

  async function login(context: BrowserContext, username: string, password: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${url}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await Promise.all([page.waitForURL(`${url}/dashboard`), page.getByRole('button', { name: 'Log in' }).click()]);
    return page;
  }

  const stat = async (page: Page, id: string) => Number(await page.getAttribute(`[data-stat="${id}"]`, 'data-value'));

  async function screenshot(page: Page, name: string) {
    await page.waitForLoadState('load');
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  /** The page's own checks: one h1, every field labelled, table headers scoped, charts drawn, nothing wider than the screen. */
  async function checkPage(page: Page) {
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.locator('h1').count()).toBe(1);
    const unlabelled = await page.$$eval('input:not([type=hidden]), select', (els) =>
      els.filter((e) => !(e as HTMLInputElement).labels || (e as HTMLInputElement).labels!.length === 0).map((e) => e.outerHTML),
    );
    expect(unlabelled).toEqual([]);
    expect(await page.locator('th:not([scope])').count()).toBe(0);
    const canvases = await page.locator('canvas[data-chart]').count();
    if (canvases > 0) await page.waitForFunction((n) => document.querySelectorAll('canvas[data-drawn]').length === n, canvases, { timeout: 10_000 });
    expect(await page.locator('canvas[data-error]').count()).toBe(0);
    // Nothing wider than the screen, even before the charts have followed a change of size.
    const report = await overflowReport(page);
    expect(report.scrollWidth, JSON.stringify(report)).toBeLessThanOrEqual(report.innerWidth);
    // The charts follow a change of size: they redraw for their box's new width after it, on a
    // frame of their own (a one-shot check right after setViewportSize would race that redraw).
    try {
      await page.waitForFunction(
        () => [...document.querySelectorAll('canvas[data-drawn]')].every((c) => c.getBoundingClientRect().width <= c.parentElement!.clientWidth + 0.5),
        undefined,
        { timeout: 30_000 },
      );
    } catch (error) {
      throw new Error(`a chart did not follow the new width: ${JSON.stringify(await overflowReport(page))}`, { cause: error });
    }
  }

  /** What sticks out past the right edge of the screen, and whether the page still draws frames. */
  async function overflowReport(page: Page) {
    return page.evaluate(async () => {
      const frame = await Promise.race([new Promise((r) => requestAnimationFrame(() => r('drawn'))), new Promise((r) => setTimeout(() => r('no frame in 2 s'), 2000))]);
      const width = window.innerWidth;
      const describe = (e: Element) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.className && typeof e.className === 'string' ? `.${e.className.trim().split(/\s+/).join('.')}` : ''}`;
      const wide = [...document.body.querySelectorAll('*')]
        .filter((e) => e.getBoundingClientRect().right > width + 0.5)
        // The outermost ones: an element whose parent sticks out too is named by its parent.
        .filter((e) => !(e.parentElement && e.parentElement.getBoundingClientRect().right > width + 0.5))
        .slice(0, 10)
        .map((e) => `${describe(e)} (parent ${e.parentElement ? describe(e.parentElement) : '-'}) right ${Math.round(e.getBoundingClientRect().right)}`);
      const canvases = [...document.querySelectorAll('canvas')].map((c) => `${c.id}: ${Math.round(c.getBoundingClientRect().width)} px in a box of ${c.parentElement?.clientWidth}`);
      return { innerWidth: width, scrollWidth: document.documentElement.scrollWidth, frame, wide, canvases };
    });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-e2e-dashboard-'));
    mkdirSync(SCREENSHOTS, { recursive: true });
    env = cleanEnv(dir, { XDG_CONFIG_HOME: join(dir, 'config'), DS_ADMIN_PASSWORD: PASSWORD, DATABASE_URL: join(dir, 'ds.db'), DS_INSTALLER_ROOT: dir });
    server = await startServe([], env);
    url = server.url;

    expect((await runDs(['login', '--url', url, '--username', 'admin', '--password-stdin'], { env, stdin: PASSWORD })).code).toBe(0);
    for (const [org, label] of [['acme', 'acme-web'], ['globex', 'globex-web']] as const) {
      expect((await runDs(['org', 'create', org], { env })).code).toBe(0);
      expect((await runDs(['label', 'create', label, '--org', org], { env })).code).toBe(0);
    }
    const installers: string[] = [];
    for (const [os, name] of [['win64', 't1c.msi'], ['macos', 't1c.dmg']] as const) {
      const path = join(dir, 'installers', name);
      mkdirSync(join(dir, 'installers'), { recursive: true });
      writeFileSync(path, Buffer.alloc(4096, 7));
      installers.push('--installer', `${os}=${pathToFileURL(path).href}`);
    }
    const older = (await ds(['version', 'create', '3.7.0', ...installers])).installationApiKey as string;
    const latest = (await ds(['version', 'create', '3.8.1', '--recommended', ...installers])).installationApiKey as string;
    const simulate = async (key: string, devices: number, labels: string, seed: number) => {
      // --no-updates: the 3.7.0 devices stay on it (they would install the recommended 3.8.1).
      const sim = await runDs(['simulate', '--installation-key', key, '--devices', String(devices), '--syncs', '2', '--days', '10', '--labels', labels, '--seed', String(seed), '--no-updates', '--json'], {
        env,
        timeoutMs: 90_000,
      });
      expect(sim.code, sim.stderr).toBe(0);
    };
    await simulate(latest, 5, 'acme-web', 11);
    await simulate(latest, 3, 'globex-web', 12);
    await simulate(older, 2, 'acme-web', 13);
    // 3.7.0 is withdrawn after its devices synced: they are on a version no longer allowed.
    expect((await runDs(['version', 'update', '3.7.0', '--no-allowed'], { env })).code).toBe(0);
    for (const ua of [WINDOWS_CHROME, WINDOWS_CHROME, MAC_SAFARI]) {
      const res = await fetch(`${url}/v3_5/downloads/installer`, { headers: { 'user-agent': ua } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const alice = await runDs(['user', 'create', 'alice', '--role', 'viewer', '--org', 'acme', '--password-stdin'], { env, stdin: ALICE_PASSWORD });
    expect(alice.code, alice.stderr).toBe(0);

    // A page on another site that posts forms to DS, as a cross-site request forgery would.
    attacker = createServer((req, res) => {
      const form = req.url === '/login' ? { action: 'login', fields: { username: 'alice', password: ALICE_PASSWORD, csrf: 'guessed' } } : { action: 'logout', fields: { csrf: 'guessed' } };
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><title>evil</title><form id="f" method="post" action="${url}/dashboard/${form.action}">` +
          Object.entries(form.fields).map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`).join('') +
          `</form><script>document.getElementById('f').submit()</script>`,
      );
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerOrigin = `http://localhost:${(attacker.address() as AddressInfo).port}`;
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => attacker?.close(resolve));
    await killServe(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in, with a session cookie that is HttpOnly, SameSite=Strict, expiring and not Secure over plain http', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${url}/dashboard/login`);
    await checkPage(page);
    await screenshot(page, 'login-desktop');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('wrong password');
    // The answer comes after a password check (scrypt): wait for it, not for a fixed time.
    const refused = page.waitForResponse((r) => r.url() === `${url}/dashboard/login` && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Log in' }).click();
    expect((await refused).status()).toBe(401);
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toBe('Wrong username or password.');
    await page.getByLabel('Password').fill(PASSWORD);
    await Promise.all([page.waitForURL(`${url}/dashboard`), page.getByRole('button', { name: 'Log in' }).click()]);
    const session = (await context.cookies(`${url}/dashboard`)).find((c) => c.name === 'ds_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/dashboard' });
    // Expiring: a persistent cookie that ends with the session (12 h by default).
    expect(session!.expires * 1000).toBeGreaterThan(Date.now() + 11 * 3600_000);
    expect(session!.expires * 1000).toBeLessThan(Date.now() + 13 * 3600_000);
    // Scripts on the page cannot read it.
    expect(await page.evaluate(() => document.cookie)).not.toContain('ds_session');
    await context.close();
  });

  it('shows the overview with the numbers of ds report, for all organizations and for one', async () => {
    const context = await newContext();
    const page = await login(context, 'admin', PASSWORD);
    await checkPage(page);
    // JavaScript of the page, decoded (what the browser parses), whether it came from the cache or not.
    const scriptBytes = await page.evaluate(() =>
      (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter((e) => e.initiatorType === 'script').reduce((s, e) => s + e.decodedBodySize, 0),
    );

    const [devices] = await ds<any[]>(['report', 'devices']);
    const byVersion = await ds<any[]>(['report', 'devices', '--by', 'version']);
    const transactions = await ds<any[]>(['report', 'transactions', '--from', month(-1), '--to', month(0), '--by', 'month']);
    const downloads = await ds<any[]>(['report', 'downloads', '--from', month(0), '--to', month(0), '--by', 'month']);
    const inMonth = (m: string) => transactions.filter((r) => r.month === m).reduce((s, r) => s + r.transactions, 0);
    expect(devices.devices).toBe(10);
    expect(await stat(page, 'devices')).toBe(devices.devices);
    expect(await stat(page, 'active24h')).toBe(devices.active24h);
    expect(await stat(page, 'active30d')).toBe(devices.active30d);
    expect(await stat(page, 'stopped')).toBe(devices.stopped);
    expect(await stat(page, 'notAllowed')).toBe(devices.notAllowed);
    expect(devices.notAllowed).toBe(2);
    expect(await stat(page, 'onLatest')).toBe(byVersion.find((r) => r.key === '3.8.1').devices);
    expect(await stat(page, 'transactionsThisMonth')).toBe(inMonth(month(0)));
    expect(await stat(page, 'transactionsThisMonth')).toBeGreaterThan(0);
    expect(await stat(page, 'transactionsLastMonth')).toBe(inMonth(month(-1)));
    expect(await stat(page, 'downloadsThisMonth')).toBe(downloads.reduce((s, r) => s + r.downloads, 0));
    expect(await stat(page, 'downloadsThisMonth')).toBe(3);
    expect(await page.locator('tr[data-version="3.7.0"] td').last().textContent()).toBe('no longer allowed');
    // The chart's table lists the newest month first (the chart runs oldest to newest).
    const overviewMonths = await page.getByRole('region', { name: 'Transactions per month: table' }).locator('tbody th[scope=row]').allTextContents();
    expect(overviewMonths.slice(0, 2)).toEqual([`${month(0)} (so far)`, month(-1)]);
    expect(overviewMonths).toEqual([...overviewMonths].sort().reverse());
    expect(scriptBytes).toBeGreaterThan(100_000);
    expect(scriptBytes).toBeLessThan(300 * 1024);
    await screenshot(page, 'overview-desktop');

    // Switch organization with the picker.
    await page.getByLabel('Organization').selectOption('globex');
    await Promise.all([page.waitForURL(/organization=globex/), page.getByRole('button', { name: 'Show' }).click()]);
    const [globex] = await ds<any[]>(['report', 'devices', '--org', 'globex']);
    const globexTransactions = await ds<any[]>(['report', 'transactions', '--org', 'globex', '--from', month(0), '--to', month(0), '--by', 'month']);
    expect(await stat(page, 'devices')).toBe(globex.devices);
    expect(await stat(page, 'devices')).toBe(3);
    expect(await stat(page, 'transactionsThisMonth')).toBe(globexTransactions.reduce((s, r) => s + r.transactions, 0));

    const phone = await newContext(PHONE, { storageState: await context.storageState() });
    const small = await phone.newPage();
    await small.goto(`${url}/dashboard`);
    await checkPage(small);
    await screenshot(small, 'overview-phone');
    await phone.close();
    await context.close();
  });

  it('shows demographics: devices by OS, browser, version and status, downloads by OS and browser', async () => {
    const context = await newContext();
    const page = await login(context, 'admin', PASSWORD);
    await page.goto(`${url}/dashboard/demographics`);
    await checkPage(page);
    expect(await page.locator('canvas[data-drawn]').count()).toBe(6);
    const byOs = await ds<any[]>(['report', 'devices', '--by', 'os']);
    const osTable = page.getByRole('region', { name: 'Devices by operating system: table' });
    for (const row of byOs.filter((r) => r.devices > 0)) {
      const cell = osTable.locator('tr', { has: page.locator(`th[scope=row]`, { hasText: row.key ?? '(unknown)' }) }).locator('td').first();
      expect(Number(await cell.getAttribute('data-value')), row.key).toBe(row.devices);
    }
    const byBrowser = await ds<any[]>(['report', 'devices', '--by', 'browser']);
    const browserTable = page.getByRole('region', { name: 'Devices by browser: table' });
    expect(await browserTable.locator('tbody tr').count()).toBe(byBrowser.filter((r) => r.devices > 0).length);
    const downloadsByOs = page.getByRole('region', { name: 'Downloads by operating system: table' });
    expect(await downloadsByOs.locator('tbody th').allTextContents()).toEqual(['WIN64', 'MACOS']);
    await screenshot(page, 'demographics-desktop');
    await page.setViewportSize(PHONE);
    await checkPage(page);
    await screenshot(page, 'demographics-phone');
    await context.close();
  });

  it('shows versions: adoption over time as a stacked chart with its table, and today per version as ds report adoption says', async () => {
    const context = await newContext();
    const page = await login(context, 'admin', PASSWORD);
    await page.goto(`${url}/dashboard/versions`);
    await checkPage(page);
    expect(await page.locator('canvas#chart-adoption[data-drawn]').count()).toBe(1);
    const now = await ds<any[]>(['report', 'adoption', '--by', 'version']);
    expect(now.map((r) => r.version).sort()).toEqual(['3.7.0', '3.8.1']);
    const table = page.locator('#adoption-now');
    for (const row of now) {
      const cell = table.locator('tr', { has: page.locator('th[scope=row]', { hasText: row.version }) }).locator('td').first();
      expect(Number(await cell.getAttribute('data-value')), row.version).toBe(row.devices);
    }
    // The chart's table: today's row (the newest, first) has the same numbers.
    const series = page.getByRole('region', { name: 'Devices per version over time: table' });
    const today = await series.locator('tbody tr').first().locator('td').allTextContents();
    expect(today.map(Number)).toEqual(['3.7.0', '3.8.1'].map((v) => now.find((r) => r.version === v)?.devices ?? 0));
    await screenshot(page, 'versions-desktop');
    await page.setViewportSize(PHONE);
    await checkPage(page);
    // A chart still drawn for the wider screen (its redraw waits for a frame) never widens the page.
    const stale = await page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>('canvas#chart-adoption')!;
      const before = canvas.style.width;
      canvas.style.width = '1000px';
      const sizes = { scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth };
      canvas.style.width = before;
      return sizes;
    });
    expect(stale.scrollWidth).toBeLessThanOrEqual(stale.innerWidth);
    await screenshot(page, 'versions-phone');

    // A user limited to acme: its 7 devices only; globex is refused.
    const limited = await newContext();
    const alicePage = await login(limited, 'alice', ALICE_PASSWORD);
    await alicePage.goto(`${url}/dashboard/versions`);
    await checkPage(alicePage);
    const acme = await ds<any[]>(['report', 'adoption', '--by', 'version', '--org', 'acme']);
    expect(acme.reduce((s, r) => s + r.devices, 0)).toBe(7);
    expect(Number(await alicePage.getAttribute('[data-stat="adoption-devices"]', 'data-value'))).toBe(7);
    expect((await alicePage.goto(`${url}/dashboard/versions?organization=globex`))!.status()).toBe(403);
    await context.close();
    await limited.close();
  });

  it('redraws a chart for a narrower screen even when the change lands in the last frame of its opening animation', async () => {
    // Chart.js defers a resize that arrives while the chart animates and applies it at the next
    // draw; in the frame that finishes the animation no draw follows, so without the dashboard's
    // own redraw at the animation's end the chart kept its desktop width (a CI run saw exactly
    // that). The browser's clock is Playwright's fake one, so the frames are counted, not timed:
    // animations start at T and last 1000 ms, frames come every 16 ms, so the frame at T+1008 is
    // the last one that animates, and the screen narrows just before it.
    const context = await newContext();
    const page = await login(context, 'admin', PASSWORD);
    const start = Date.UTC(2026, 0, 1);
    await context.clock.install({ time: start });
    const paused = start + 16 * 1000; // on the frame grid of the fake clock (one frame per 16 ms from install)
    await context.clock.pauseAt(paused);
    await page.goto(`${url}/dashboard/versions`);
    await page.waitForFunction(() => document.querySelectorAll('canvas[data-drawn]').length === 1);
    expect(await page.evaluate(() => Date.now())).toBe(paused);
    await context.clock.runFor(992);
    const wide = await page.evaluate(() => document.querySelector('canvas#chart-adoption')!.getBoundingClientRect().width);
    // Our own observer of the chart's box is notified after Chart.js's (observers are notified in
    // the order they were made), so once it has seen the narrow box, Chart.js has asked for a redraw.
    const narrowed = page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const box = document.querySelector('canvas#chart-adoption')!.parentElement!;
          const before = box.clientWidth;
          new ResizeObserver((entries) => {
            if (entries[0]!.contentRect.width < before) resolve(entries[0]!.contentRect.width);
          }).observe(box);
        }),
    );
    await page.setViewportSize(PHONE);
    const box = await narrowed;
    expect(box).toBeLessThan(wide);
    await context.clock.runFor(16); // the last frame of the animation (Chart.js defers the redraw)
    await context.clock.runFor(32); // the frame that ends the animation, and one more
    const canvas = await page.evaluate(() => document.querySelector('canvas#chart-adoption')!.getBoundingClientRect().width);
    expect(canvas).toBeLessThanOrEqual(box + 0.5);
    await context.close();
  });

  it('filters transactions, and its CSV download is exactly ds report transactions --csv', async () => {
    const context = await newContext();
    const page = await login(context, 'admin', PASSWORD);
    await page.getByRole('link', { name: 'Transactions', exact: true }).click();
    await page.waitForURL(`${url}/dashboard/transactions`);
    await checkPage(page);
    const from = await page.inputValue('#from');
    const to = await page.inputValue('#to');
    expect(to).toBe(month(0));
    const all = await ds<any[]>(['report', 'transactions', '--from', from, '--to', to, '--by', 'month,day']);
    expect(await stat(page, 'total')).toBe(all.reduce((s, r) => s + r.transactions, 0));
    // Chart tables: newest month and day first, so the months with data are not below a column of zeros.
    const months = await page.getByRole('region', { name: 'Transactions per month: table' }).locator('tbody th[scope=row]').allTextContents();
    expect(months[0]).toBe(`${month(0)} (so far)`);
    expect(months.at(-1)).toBe(from);
    expect(months).toEqual([...months].sort().reverse());
    const days = await page.getByRole('region', { name: `Transactions per day in ${month(0)}: table` }).locator('tbody th[scope=row]').allTextContents();
    expect(days[0]).toBe(new Date().toISOString().slice(0, 10));
    expect(days).toEqual([...days].sort().reverse());
    await screenshot(page, 'transactions-desktop');

    await page.getByLabel('Organization').selectOption('acme');
    const modules = (await page.locator('#module option').allTextContents()).filter((m) => m !== 'All modules');
    expect(modules.length).toBeGreaterThan(0);
    await page.getByLabel('Module').selectOption(modules[0]!);
    await page.getByLabel('Break down by').selectOption('useCase');
    await Promise.all([page.waitForURL(/organization=acme/), page.getByRole('button', { name: 'Show' }).click()]);
    await checkPage(page);
    const args = ['--org', 'acme', '--module', modules[0]!, '--from', from, '--to', to, '--by', 'month,day,use-case'];
    const rows = await ds<any[]>(['report', 'transactions', ...args]);
    expect(rows.length).toBeGreaterThan(0);
    const shown = await page.locator('#transactions-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    expect(shown).toEqual(rows.map((r) => [r.month, r.day ?? 'whole month', r.useCase, r.transactions.toLocaleString('en-US')]));

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    const cli = await runDs(['report', 'transactions', ...args, '--csv'], { env });
    expect(cli.code).toBe(0);
    expect(csv).toBe(cli.stdout);
    expect(parseCsv(csv)[0]).toEqual(['month', 'day', 'useCase', 'transactions']);
    expect(download.suggestedFilename()).toMatch(/^transactions-.*\.csv$/);

    const phone = await newContext(PHONE, { storageState: await context.storageState() });
    const small = await phone.newPage();
    await small.goto(page.url());
    await checkPage(small);
    await screenshot(small, 'transactions-phone');
    await phone.close();
    await context.close();
  });

  it('shows focus on the element the keyboard is on', async () => {
    const context = await newContext();
    const page = await login(context, 'admin', PASSWORD);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).toBe('solid');
    await context.close();
  });

  it('logs out, and the session is refused afterwards', async () => {
    const context = await newContext();
    const page = await login(context, 'admin', PASSWORD);
    const cookie = (await context.cookies(`${url}/dashboard`)).find((c) => c.name === 'ds_session')!.value;
    await Promise.all([page.waitForURL(`${url}/dashboard/login?out=1`), page.getByRole('button', { name: 'Log out' }).click()]);
    expect(await page.getByRole('status').textContent()).toBe('You have logged out.');
    await page.goto(`${url}/dashboard/transactions`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
    // The old cookie, replayed by hand, is refused: the session was ended on the server.
    const replay = await fetch(`${url}/dashboard`, { headers: { cookie: `ds_session=${cookie}` }, redirect: 'manual' });
    expect(replay.status).toBe(303);
    expect((await fetch(`${url}/v3_5/admin/auth/whoami`, { headers: { authorization: `Bearer ${cookie}` } })).status).toBe(401);
    await context.close();
  });

  it('an organization-limited user sees only its organization, and another one neither by URL nor by form field', async () => {
    const context = await newContext();
    const page = await login(context, 'alice', ALICE_PASSWORD);
    await checkPage(page);
    const [acme] = await ds<any[]>(['report', 'devices', '--org', 'acme']);
    expect(await stat(page, 'devices')).toBe(acme.devices);
    expect(await stat(page, 'devices')).toBe(7);
    expect(await page.locator('[data-stat="downloadsThisMonth"]').count()).toBe(0);
    expect(await page.locator('[data-downloads-hidden]').count()).toBe(1);
    await screenshot(page, 'overview-limited-desktop');

    await page.goto(`${url}/dashboard/transactions`);
    expect(await page.locator('#organization option').allTextContents()).toEqual(['acme']);
    expect(await page.locator('#label option').allTextContents()).toEqual(['All labels', 'acme-web']);
    expect(await page.content()).not.toContain('globex');
    const acmeRows = await ds<any[]>(['report', 'transactions', '--org', 'acme', '--from', await page.inputValue('#from'), '--to', month(0), '--by', 'month,day']);
    expect(await stat(page, 'total')).toBe(acmeRows.reduce((s, r) => s + r.transactions, 0));

    // Changing the URL.
    for (const path of ['/dashboard?organization=globex', '/dashboard/demographics?organization=globex', '/dashboard/transactions?organization=globex']) {
      const res = await page.goto(`${url}${path}`);
      expect(res!.status(), path).toBe(403);
      expect(await page.content()).not.toContain('globex-web');
    }
    expect((await page.request.get(`${url}/dashboard/transactions.csv?organization=globex`)).status()).toBe(403);

    // Changing a form field: an option added to the organization select.
    await page.goto(`${url}/dashboard/transactions`);
    await page.evaluate(() => {
      const select = document.querySelector<HTMLSelectElement>('#organization')!;
      select.add(new Option('globex', 'globex', true, true));
    });
    const [answer] = await Promise.all([page.waitForResponse((r) => r.url().includes('organization=globex')), page.getByRole('button', { name: 'Show' }).click()]);
    expect(answer.status()).toBe(403);
    // ...or another organization's label: a filter within its own organization, which has no such
    // label, so nothing (reports/scope.ts limits every report to the user's organization).
    await page.goto(`${url}/dashboard/transactions`);
    await page.evaluate(() => document.querySelector<HTMLSelectElement>('#label')!.add(new Option('globex-web', 'globex-web', true, true)));
    const [byLabel] = await Promise.all([page.waitForResponse((r) => r.url().includes('label=globex-web')), page.getByRole('button', { name: 'Show' }).click()]);
    expect(byLabel.status()).toBe(200);
    expect(await stat(page, 'total')).toBe(0);
    const csv = await page.request.get(`${url}/dashboard/transactions.csv?label=globex-web`);
    expect(csv.status()).toBe(200);
    expect(await csv.text()).toBe('month,day,transactions\r\n');
    await context.close();
  });

  it('refuses forms posted from another site: no logout, no login', async () => {
    const context = await newContext();
    const page = await login(context, 'admin', PASSWORD);
    const evil = await context.newPage();
    await evil.goto(`${attackerOrigin}/logout`);
    await evil.waitForURL((u) => u.origin === url);
    // Still logged in.
    await page.goto(`${url}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/dashboard');
    expect(await page.locator('.who').textContent()).toContain('admin');

    // Login CSRF: the attacker's form would log the victim in as someone else.
    const victim = await newContext();
    const tab = await victim.newPage();
    const forged = tab.waitForResponse((r) => r.url() === `${url}/dashboard/login` && r.request().method() === 'POST');
    await tab.goto(`${attackerOrigin}/login`);
    expect((await forged).status()).toBe(403);
    expect((await victim.cookies(`${url}/dashboard`)).some((c) => c.name === 'ds_session')).toBe(false);
    await tab.goto(`${url}/dashboard`);
    expect(new URL(tab.url()).pathname).toBe('/dashboard/login');
    await victim.close();
    await context.close();
  });

  it('sends a strict Content-Security-Policy and no page reported a CSP violation or script error', async () => {
    const res = await fetch(`${url}/dashboard/login`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    // Wrong passwords and 403 pages log a console error for their status; nothing else may.
    expect(problems.filter((p) => !/status of (401|403)/.test(p))).toEqual([]);
  });
});
