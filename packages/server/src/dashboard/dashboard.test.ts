import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createTestContext, type TestContext } from '../test/harness.js';
import { registeredDevice, seed } from '../test/devices.js';
import { toCsv, transactionCsvFields } from './csv.js';

// The dashboard through app.request(), as a browser would use it: cookies kept between requests,
// forms posted with their CSRF token, the Origin header a browser sends.

const ORIGIN = 'https://ds.example.test';

interface Page {
  status: number;
  headers: Headers;
  text: string;
  /** Set-Cookie lines of this response, by cookie name. */
  setCookies: Map<string, string>;
}

/** A cookie jar and the requests a browser makes. */
class Browser {
  readonly cookies = new Map<string, string>();
  constructor(
    private readonly ctx: TestContext,
    private readonly base = '',
  ) {}

  async request(method: string, path: string, options: { form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Page> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin ??= ORIGIN;
      body = new URLSearchParams(options.form).toString();
    }
    const res = await this.ctx.app.request(`${this.base}${path}`, { method, headers, body });
    const setCookies = new Map<string, string>();
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      setCookies.set(name, line);
      if (/max-age=0\b/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, headers: res.headers, text: await res.text(), setCookies };
  }

  get(path: string, headers?: Record<string, string>) {
    return this.request('GET', path, { ...(headers ? { headers } : {}) });
  }

  /** The CSRF token of the first form on a page. */
  static csrfOf(page: Page): string {
    const match = /name="csrf" value="([^"]+)"/.exec(page.text);
    if (!match?.[1]) throw new Error(`no CSRF field in:\n${page.text.slice(0, 500)}`);
    return match[1];
  }

  async login(username = 'admin', password = ADMIN_PASSWORD, extra: Record<string, string> = {}): Promise<Page> {
    const form = await this.get('/dashboard/login');
    return this.request('POST', '/dashboard/login', { form: { csrf: Browser.csrfOf(form), username, password, ...extra } });
  }
}

/** The value of `data-value` of the element with `data-stat="<id>"`. */
function stat(page: Page, id: string): number {
  const match = new RegExp(`data-stat="${id}" data-value="(\\d+)"`).exec(page.text);
  if (!match?.[1]) throw new Error(`no stat ${id}`);
  return Number(match[1]);
}

/** The HTML of the table whose caption is `caption`. */
function tableOf(page: Page, caption: string): string {
  const at = page.text.indexOf(`${caption}</caption>`);
  if (at < 0) throw new Error(`no table "${caption}"`);
  return page.text.slice(at, page.text.indexOf('</table>', at));
}

/** The row headers of a table, top to bottom. */
const rowHeaders = (table: string) => [...table.matchAll(/<th scope="row">([^<]*)<\/th>/g)].map((m) => m[1]!);

/** The x axis labels of a chart, as its canvas carries them. */
function chartLabels(page: Page, id: string): string[] {
  const data = new RegExp(`<canvas id="${id}"[^>]* data-chart="([^"]+)"`).exec(page.text)?.[1];
  if (!data) throw new Error(`no chart ${id}`);
  return (JSON.parse(data.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as { labels: string[] }).labels;
}

const attribute = (line: string | undefined, name: string) => new RegExp(`;\\s*${name}(=([^;]*))?(;|$)`, 'i').exec(line ?? '');

let ctx: TestContext;
let admin: string;
/** The installation key fill() registered its devices with. */
let installationKey: string;

/** acme (label acme-web) and globex (label globex-web), one device each with transactions this month. */
async function fill() {
  admin = await ctx.login();
  ({ installationKey } = await seed(ctx, admin));
  await ctx.request('PUT', '/v3_5/admin/organizations/globex', { token: admin, body: {} });
  await ctx.request('PUT', '/v3_5/admin/labels/globex-web', { token: admin, body: { organization: 'globex' } });
  const acme = await registeredDevice(ctx, installationKey);
  acme.recordUsage('acme-web', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36');
  acme.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 5 });
  acme.recordTransaction({ label: 'acme-web', module: 'pki, "qualified"', useCase: 'auth', count: 2 });
  await acme.sync();
  const globex = await registeredDevice(ctx, installationKey, { os: { name: 'macOS', version: '14', architecture: 'arm64' } });
  globex.recordTransaction({ label: 'globex-web', module: 'emv', useCase: 'pay', count: 7 });
  await globex.sync();
}

beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(async () => ctx.close());

describe('dashboard login and session', () => {
  it('sends a visitor without a session to the login page, which sets only a CSRF nonce cookie', async () => {
    const b = new Browser(ctx);
    for (const path of ['/dashboard', '/dashboard/demographics', '/dashboard/transactions?label=x', '/dashboard/transactions.csv']) {
      const res = await b.get(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location')).toBe(`/dashboard/login?next=${encodeURIComponent(path)}`);
    }
    const login = await b.get('/dashboard/login');
    expect(login.status).toBe(200);
    expect(login.text).toMatch(/^<!DOCTYPE html><html lang="en">/);
    expect(login.text).toContain('<label for="username">Username</label>');
    expect(login.text).toContain('<label for="password">Password</label>');
    const nonce = login.setCookies.get('ds_login');
    expect(nonce).toBeDefined();
    expect(attribute(nonce, 'HttpOnly')).not.toBeNull();
    expect(attribute(nonce, 'SameSite')?.[2]).toBe('Strict');
    expect(attribute(nonce, 'Path')?.[2]).toBe('/dashboard');
    expect(login.setCookies.has('ds_session')).toBe(false);
  });

  it('logs in with the admin API users and sets an HttpOnly, SameSite=Strict, Secure, expiring session cookie', async () => {
    const b = new Browser(ctx);
    const res = await b.login();
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard');
    const cookie = res.setCookies.get('ds_session');
    expect(cookie).toBeDefined();
    expect(attribute(cookie, 'HttpOnly')).not.toBeNull();
    expect(attribute(cookie, 'Secure')).not.toBeNull();
    expect(attribute(cookie, 'SameSite')?.[2]).toBe('Strict');
    expect(attribute(cookie, 'Path')?.[2]).toBe('/dashboard');
    expect(Number(attribute(cookie, 'Max-Age')?.[2])).toBe(ctx.config.sessionTtlSeconds);
    expect(Date.parse(attribute(cookie, 'Expires')?.[2] ?? '')).toBe(ctx.clock.now().getTime() + ctx.config.sessionTtlSeconds * 1000);
    // The login nonce has served its purpose.
    expect(b.cookies.has('ds_login')).toBe(false);

    const overview = await b.get('/dashboard');
    expect(overview.status).toBe(200);
    expect(overview.text).toContain('admin (admin, all organizations)');
    expect(overview.headers.get('cache-control')).toBe('no-store');
    expect(overview.headers.get('x-frame-options')).toBe('DENY');
    const csp = overview.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    // The session is an ordinary admin session: the same token works on the admin API.
    const whoami = await ctx.request('GET', '/v3_5/admin/auth/whoami', { token: b.cookies.get('ds_session')! });
    expect(whoami.body.data).toMatchObject({ username: 'admin', credential: 'session' });
  });

  it('goes back to the page asked for after logging in, but never to another site', async () => {
    const b = new Browser(ctx);
    expect((await b.login('admin', ADMIN_PASSWORD, { next: '/dashboard/transactions?module=beid' })).headers.get('location')).toBe('/dashboard/transactions?module=beid');
    for (const next of ['https://evil.example/', '//evil.example/dashboard', '/dashboard/../v3_5/admin', '/dashboard/%2e%2e/x', '/dashboard//evil.example', '/dashboard\\evil']) {
      const other = new Browser(ctx);
      const res = await other.login('admin', ADMIN_PASSWORD, { next });
      expect(res.headers.get('location'), next).toBe('/dashboard');
    }
  });

  it('makes the cookies Secure only when DS is reached over https', async () => {
    await ctx.close();
    ctx = await createTestContext({ configOverrides: { DS_PUBLIC_URL: 'http://127.0.0.1:3000' } });
    const plain = new Browser(ctx, 'http://127.0.0.1:3000');
    const res = await plain.request('POST', '/dashboard/login', {
      form: { csrf: Browser.csrfOf(await plain.get('/dashboard/login')), username: 'admin', password: ADMIN_PASSWORD },
      headers: { origin: 'http://127.0.0.1:3000' },
    });
    expect(res.status).toBe(303);
    const cookie = res.setCookies.get('ds_session');
    expect(cookie).toBeDefined();
    expect(attribute(cookie, 'Secure')).toBeNull();
    expect(attribute(cookie, 'HttpOnly')).not.toBeNull();

    // The same DS behind https (a TLS-terminating server that passes the scheme on).
    const tls = new Browser(ctx, 'https://ds.internal.test');
    const login = await tls.get('/dashboard/login');
    expect(attribute(login.setCookies.get('ds_login'), 'Secure')).not.toBeNull();
  });

  it('refuses a login form without its CSRF token, with another browser\'s token, or posted from another site', async () => {
    const victim = new Browser(ctx);
    const attacker = new Browser(ctx);
    const attackerToken = Browser.csrfOf(await attacker.get('/dashboard/login'));
    await victim.get('/dashboard/login');
    const cases: [string, Record<string, string>, Record<string, string>][] = [
      ['no token', { username: 'admin', password: ADMIN_PASSWORD }, {}],
      ['a token of another browser', { csrf: attackerToken, username: 'admin', password: ADMIN_PASSWORD }, {}],
    ];
    for (const [name, form, headers] of cases) {
      const res = await victim.request('POST', '/dashboard/login', { form, headers });
      expect(res.status, name).toBe(403);
      expect(res.setCookies.has('ds_session'), name).toBe(false);
    }
    // A valid token, but the browser says the form came from another site.
    const token = Browser.csrfOf(await victim.get('/dashboard/login'));
    for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }]) {
      const res = await victim.request('POST', '/dashboard/login', { form: { csrf: token, username: 'admin', password: ADMIN_PASSWORD }, headers });
      expect(res.status, headers.origin).toBe(403);
      expect(res.setCookies.has('ds_session')).toBe(false);
    }
    const crossSite = await victim.request('POST', '/dashboard/login', {
      form: { csrf: token, username: 'admin', password: ADMIN_PASSWORD },
      headers: { origin: '', 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    // Without a cookie at all (a cross-site POST never carries the SameSite=Strict nonce).
    const fresh = new Browser(ctx);
    const noCookie = await fresh.request('POST', '/dashboard/login', { form: { csrf: token, username: 'admin', password: ADMIN_PASSWORD } });
    expect(noCookie.status).toBe(403);
    // The form itself works.
    expect((await victim.request('POST', '/dashboard/login', { form: { csrf: token, username: 'admin', password: ADMIN_PASSWORD } })).status).toBe(303);
  });

  it('says "wrong username or password" and rate limits wrong passwords like the admin API', async () => {
    const b = new Browser(ctx);
    const wrong = await b.login('admin', 'not-the-password');
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('Wrong username or password.');
    expect(wrong.text).toContain('value="admin"');
    expect(wrong.setCookies.has('ds_session')).toBe(false);
    for (let i = 0; i < 9; i++) expect((await b.login('admin', `wrong-${i}`)).status).toBe(401);
    // Locked out now, even with the right password, on the dashboard and on the admin API alike.
    const limited = await b.login();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.text).toContain('Too many failed logins');
    expect(limited.setCookies.has('ds_session')).toBe(false);
    expect((await ctx.request('POST', '/v3_5/admin/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } })).status).toBe(429);
    ctx.clock.advance(15 * 60_000 + 1000);
    expect((await b.login()).status).toBe(303);
  });

  it('logs out only with the CSRF token from a page of this site, and the session is then refused everywhere', async () => {
    const b = new Browser(ctx);
    await b.login();
    const token = b.cookies.get('ds_session')!;
    const overview = await b.get('/dashboard');
    const csrf = Browser.csrfOf(overview);
    expect(overview.text).toContain('action="/dashboard/logout"');

    expect((await b.request('POST', '/dashboard/logout', { form: {} })).status).toBe(403);
    expect((await b.request('POST', '/dashboard/logout', { form: { csrf: 'forged' } })).status).toBe(403);
    // The login form's token is not the session's.
    const other = new Browser(ctx);
    expect((await b.request('POST', '/dashboard/logout', { form: { csrf: Browser.csrfOf(await other.get('/dashboard/login')) } })).status).toBe(403);
    expect((await b.request('POST', '/dashboard/logout', { form: { csrf }, headers: { origin: 'https://evil.example' } })).status).toBe(403);
    expect((await b.get('/dashboard')).status).toBe(200);

    const out = await b.request('POST', '/dashboard/logout', { form: { csrf } });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/dashboard/login?out=1');
    expect(attribute(out.setCookies.get('ds_session'), 'Max-Age')?.[2]).toBe('0');
    expect((await b.get('/dashboard')).status).toBe(303);
    // The old cookie value, replayed, is refused too: the session was revoked, not just forgotten.
    const replay = new Browser(ctx);
    replay.cookies.set('ds_session', token);
    const refused = await replay.get('/dashboard');
    expect(refused.status).toBe(303);
    expect(refused.headers.get('location')).toBe('/dashboard/login?next=%2Fdashboard&expired=1');
    expect((await ctx.request('GET', '/v3_5/admin/auth/whoami', { token })).status).toBe(401);
  });

  it('ends the session when it expires', async () => {
    const b = new Browser(ctx);
    await b.login();
    expect((await b.get('/dashboard')).status).toBe(200);
    ctx.clock.advance(ctx.config.sessionTtlSeconds * 1000 + 1000);
    const res = await b.get('/dashboard/transactions');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toContain('expired=1');
  });

  it('ends the previous session of the browser when it logs in again', async () => {
    const b = new Browser(ctx);
    await b.login();
    const first = b.cookies.get('ds_session')!;
    // A logged-in visitor of the login page goes straight to the dashboard.
    expect((await b.get('/dashboard/login')).headers.get('location')).toBe('/dashboard');
    b.cookies.delete('ds_login');
    const form = await new Browser(ctx).get('/dashboard/login');
    b.cookies.set('ds_login', form.setCookies.get('ds_login')!.split(';')[0]!.split('=')[1]!);
    expect((await b.request('POST', '/dashboard/login', { form: { csrf: Browser.csrfOf(form), username: 'admin', password: ADMIN_PASSWORD } })).status).toBe(303);
    expect(b.cookies.get('ds_session')).not.toBe(first);
    expect((await ctx.request('GET', '/v3_5/admin/auth/whoami', { token: first })).status).toBe(401);
    expect((await b.get('/dashboard')).status).toBe(200);
    expect((await b.get('/dashboard/')).headers.get('location')).toBe('/dashboard');
  });

  it('does not take an admin API token in the session cookie', async () => {
    const created = await ctx.request('POST', '/v3_5/admin/tokens', { token: await ctx.login(), body: { name: 'ci', scopes: ['reports:read'] } });
    const b = new Browser(ctx);
    b.cookies.set('ds_session', created.body.data.token);
    expect((await b.get('/dashboard')).status).toBe(303);
  });
});

describe('dashboard pages', () => {
  beforeEach(fill);

  it('shows the overview from the report services', async () => {
    const b = new Browser(ctx);
    await b.login();
    const page = await b.get('/dashboard');
    expect(stat(page, 'devices')).toBe(2);
    expect(stat(page, 'active24h')).toBe(2);
    expect(stat(page, 'transactionsThisMonth')).toBe(14);
    expect(stat(page, 'transactionsLastMonth')).toBe(0);
    expect(stat(page, 'onLatest')).toBe(2);
    expect(stat(page, 'notAllowed')).toBe(0);
    expect(stat(page, 'downloadsThisMonth')).toBe(0);
    const acme = await b.get('/dashboard?organization=acme');
    expect(stat(acme, 'transactionsThisMonth')).toBe(7);
    expect(stat(acme, 'devices')).toBe(1);
    expect(acme.text).toContain('<option value="acme" selected="">acme</option>');
  });

  it('shows demographics with chart data and the same numbers in tables with row and column headers', async () => {
    const b = new Browser(ctx);
    await b.login();
    const page = await b.get('/dashboard/demographics');
    expect(page.status).toBe(200);
    for (const heading of ['Devices by operating system', 'Devices by browser', 'Devices by version', 'Devices by status', 'Downloads by operating system']) {
      expect(page.text).toContain(heading);
    }
    expect(page.text).toContain('<th scope="row">Windows</th>');
    expect(page.text).toContain('<th scope="row">macOS</th>');
    expect(page.text).toContain('<th scope="row">Chrome</th>');
    expect(page.text).toContain('<th scope="col">Operating system</th>');
    expect(page.text).toMatch(/<canvas id="chart-os" role="img" aria-label="[^"]+" data-chart="[^"]+"><\/canvas>/);
  });

  it('filters transactions and offers a CSV of exactly the rows shown, as ds report transactions --csv writes them', async () => {
    const b = new Browser(ctx);
    await b.login();
    const page = await b.get('/dashboard/transactions?split=module');
    expect(page.status).toBe(200);
    expect(stat(page, 'total')).toBe(14);
    for (const option of ['acme', 'globex', 'acme-web', 'globex-web', 'beid', 'emv', 'sign', 'pay']) expect(page.text).toContain(`<option value="${option}"`);
    const csvHref = /href="(\/dashboard\/transactions\.csv\?[^"]+)"/.exec(page.text)?.[1]?.replace(/&amp;/g, '&');
    expect(csvHref).toBe('/dashboard/transactions.csv?from=2025-04&to=2026-03&split=module');

    const csv = await b.get(csvHref!);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="transactions-2025-04-2026-03-module.csv"');
    const api = await ctx.request('GET', '/v3_5/admin/reports/transactions?from=2025-04&to=2026-03&by=month,day,module', { token: admin });
    expect(api.status).toBe(200);
    expect(csv.text).toBe(toCsv(api.body.data, transactionCsvFields(['month', 'day', 'module'], api.body.data)));
    expect(csv.text).toBe(
      [
        'month,day,module,transactions',
        '2026-03,2026-03-15,beid,5',
        '2026-03,2026-03-15,emv,7',
        '2026-03,2026-03-15,"pki, ""qualified""",2',
        '',
      ].join('\r\n'),
    );

    const filtered = await b.get('/dashboard/transactions.csv?organization=globex&module=emv');
    expect(filtered.text).toBe('month,day,transactions\r\n2026-03,2026-03-15,7\r\n');
    const none = await b.get('/dashboard/transactions.csv?organization=acme&module=emv');
    expect(none.text).toBe('month,day,transactions\r\n');
  });

  it('shows a month that has ended as one row: no day in the table or the CSV', async () => {
    ctx.clock.set('2026-04-02T10:00:00.000Z');
    const b = new Browser(ctx);
    await b.login();
    const overview = await b.get('/dashboard');
    expect(stat(overview, 'transactionsThisMonth')).toBe(0);
    expect(stat(overview, 'transactionsLastMonth')).toBe(14);
    expect(overview.text).toContain('<th scope="row">2026-03</th><td class="num" data-value="14">14</td>');
    const page = await b.get('/dashboard/transactions');
    expect(page.text).toContain('<td>whole month</td>');
    expect(page.text).toContain('<th scope="row">2026-04-02</th>');
    expect((await b.get('/dashboard/transactions.csv')).text).toBe('month,day,transactions\r\n2026-03,,14\r\n');
  });

  it('lists the newest month and day first in the chart tables, while the charts run oldest to newest', async () => {
    // Usage in February (a closed month, kept as its total) and on a second day of March.
    const late = await registeredDevice(ctx, installationKey);
    late.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 3, date: new Date('2026-02-10T12:00:00.000Z') });
    late.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 4, date: new Date('2026-03-02T12:00:00.000Z') });
    await late.sync();
    const b = new Browser(ctx);
    await b.login();

    const page = await b.get('/dashboard/transactions');
    const months = rowHeaders(tableOf(page, 'Transactions per month'));
    expect(months).toHaveLength(12);
    expect(months.slice(0, 3)).toEqual(['2026-03 (so far)', '2026-02', '2026-01']);
    expect(months.at(-1)).toBe('2025-04');
    const days = rowHeaders(tableOf(page, 'Transactions per day in 2026-03'));
    expect(days).toEqual(Array.from({ length: 15 }, (_, i) => `2026-03-${String(15 - i).padStart(2, '0')}`));
    expect(chartLabels(page, 'chart-months').slice(-2)).toEqual(['2026-02', '2026-03']);

    const overview = await b.get('/dashboard');
    const overviewMonths = rowHeaders(tableOf(overview, 'Transactions per month'));
    expect(overviewMonths.slice(0, 2)).toEqual(['2026-03 (so far)', '2026-02']);
    expect(chartLabels(overview, 'chart-transactions').at(-1)).toBe('2026-03');
  });

  it('answers 400 for a filter the report does not take', async () => {
    const b = new Browser(ctx);
    await b.login();
    for (const query of ['from=2026-13', 'split=device', 'from=2026-02-10', 'from=2026-03&to=2026-01', 'organization=no%20spaces']) {
      const res = await b.get(`/dashboard/transactions?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.text).toContain('role="alert"');
    }
    expect((await b.get('/dashboard?organization=nobody')).status).toBe(404);
  });

  it('serves Chart.js and its own script from DS, gzipped, within the JavaScript budget', async () => {
    const b = new Browser(ctx);
    await b.login();
    const page = await b.get('/dashboard/transactions');
    const scripts = [...page.text.matchAll(/<script defer="" src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(2);
    let bytes = 0;
    for (const src of scripts) {
      expect(src).toMatch(/^\/dashboard\/assets\/[a-z.]+\.js\?v=/);
      const plain = await ctx.app.request(src);
      expect(plain.status).toBe(200);
      expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      bytes += (await plain.arrayBuffer()).byteLength;
      const gz = await ctx.app.request(src, { headers: { 'accept-encoding': 'gzip, br' } });
      expect(gz.headers.get('content-encoding')).toBe('gzip');
      const revalidate = await ctx.app.request(src, { headers: { 'if-none-match': plain.headers.get('etag')! } });
      expect(revalidate.status).toBe(304);
    }
    expect(bytes).toBeLessThan(300 * 1024);
    expect(page.text).not.toMatch(/<script(?![^>]*src=)/);
    expect(page.text).not.toMatch(/ style=/);
  });
});

describe('an organization-limited user on the dashboard', () => {
  let alice: Browser;

  beforeEach(async () => {
    await fill();
    await ctx.userToken('alice', 'viewer', 'acme');
    alice = new Browser(ctx);
    expect((await alice.login('alice', 'alice-password-123')).status).toBe(303);
  });

  it('sees only its organization: numbers, filter choices, tables and CSV', async () => {
    const overview = await alice.get('/dashboard');
    expect(overview.text).toContain('alice (viewer, organization acme)');
    expect(stat(overview, 'devices')).toBe(1);
    expect(stat(overview, 'transactionsThisMonth')).toBe(7);
    expect(overview.text).not.toContain('data-stat="downloadsThisMonth"');
    expect(overview.text).toContain('downloads belong to no organization');
    expect(overview.text).not.toContain('globex');

    const demographics = await alice.get('/dashboard/demographics');
    expect(demographics.status).toBe(200);
    expect(demographics.text).not.toContain('macOS');
    expect(demographics.text).not.toContain('Downloads by');

    const transactions = await alice.get('/dashboard/transactions?split=organization');
    expect(transactions.status).toBe(200);
    expect(transactions.text).not.toContain('globex');
    expect(transactions.text).not.toContain('emv');
    expect(transactions.text).not.toContain('All organizations');
    expect(stat(transactions, 'total')).toBe(7);
    const csv = await alice.get('/dashboard/transactions.csv?split=organization');
    expect(csv.text).toBe('month,day,organization,transactions\r\n2026-03,2026-03-15,acme,7\r\n');
  });

  it('gets 403 or its own data, never another organization\'s, when the URL or a form field names another', async () => {
    for (const path of [
      '/dashboard?organization=globex',
      '/dashboard/demographics?organization=globex',
      '/dashboard/transactions?organization=globex',
      '/dashboard/transactions.csv?organization=globex',
      '/dashboard/transactions.csv?organization=nosuchorg',
    ]) {
      const res = await alice.get(path);
      expect(res.status, path).toBe(403);
      expect(res.text).not.toContain('globex-web');
      expect(res.text).not.toMatch(/\b7\b.*transactions|,7\r\n/);
    }
    // Another organization's label or module, as a filter: nothing of it.
    const byLabel = await alice.get('/dashboard/transactions.csv?label=globex-web');
    expect([200, 403]).toContain(byLabel.status);
    if (byLabel.status === 200) expect(byLabel.text).toBe('month,day,transactions\r\n');
    const byModule = await alice.get('/dashboard/transactions.csv?module=emv&split=label');
    expect(byModule.text).toBe('month,day,label,transactions\r\n');
    // Its own organization, named: fine.
    expect((await alice.get('/dashboard/transactions.csv?organization=acme')).text).toBe('month,day,transactions\r\n2026-03,2026-03-15,7\r\n');
  });
});
