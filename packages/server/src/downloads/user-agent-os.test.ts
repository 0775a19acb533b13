import { OS_VALUES } from '@ds/shared';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../test/harness.js';
import { detectClient } from './user-agent-os.js';

// Real User-Agent strings as browsers, scripts and bots send them, and the installer each gets
// (null: no installer can be told, the answer is the choice list). `macChoice`: a Mac whose chip
// cannot be told (browsers say "Intel" on Apple silicon too): `os` is its first guess, but a version
// with both Mac installers is offered as a choice.
const UA_TABLE: { name: string; ua: string; os: string | null; browser?: string; macChoice?: true }[] = [
  // Windows, 64 bit: every browser says so with Win64/x64 (or WOW64 for a 32-bit browser).
  { name: 'Chrome 131, Windows 10/11 x64', ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', os: 'win64', browser: 'Chrome' },
  { name: 'Edge 131, Windows 10/11 x64', ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86', os: 'win64', browser: 'Edge' },
  { name: 'Firefox 133, Windows 10/11 x64', ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0', os: 'win64', browser: 'Firefox' },
  { name: 'Opera 115, Windows x64', ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0', os: 'win64', browser: 'Opera' },
  { name: 'Chrome 109, Windows 7 x64', ua: 'Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36', os: 'win64', browser: 'Chrome' },
  { name: 'Edge Legacy 18, Windows 10 x64', ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.18363', os: 'win64', browser: 'Edge' },
  { name: '32-bit Firefox 52 on 64-bit Windows 10 (WOW64)', ua: 'Mozilla/5.0 (Windows NT 10.0; WOW64; rv:52.0) Gecko/20100101 Firefox/52.0', os: 'win64', browser: 'Firefox' },
  { name: 'IE 11, Windows 7 64-bit (WOW64)', ua: 'Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko', os: 'win64', browser: 'IE' },
  // Windows, 32 bit: no architecture token from a browser.
  { name: 'Chrome 49, Windows 7 32-bit', ua: 'Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/49.0.2623.112 Safari/537.36', os: 'win32', browser: 'Chrome' },
  { name: 'Firefox 115 ESR, Windows 10 32-bit', ua: 'Mozilla/5.0 (Windows NT 10.0; rv:109.0) Gecko/20100101 Firefox/115.0', os: 'win32', browser: 'Firefox' },
  { name: 'IE 8, Windows 7 32-bit', ua: 'Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)', os: 'win32', browser: 'IE' },
  { name: 'Firefox 52, Windows XP', ua: 'Mozilla/5.0 (Windows NT 5.1; rv:52.0) Gecko/20100101 Firefox/52.0', os: 'win32', browser: 'Firefox' },
  // Windows scripts: no browser, no token; 64-bit is by far the likelier.
  { name: 'PowerShell 7 Invoke-WebRequest', ua: 'Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.0', os: 'win64' },
  { name: 'Windows PowerShell 5.1 Invoke-WebRequest', ua: 'Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.22621.2506', os: 'win64' },
  { name: 'IE 10, Windows RT (32-bit ARM)', ua: 'Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; ARM; Trident/6.0; Touch)', os: null },
  // macOS: browsers on Apple silicon say "Intel Mac OS X 10_15_7" too, so the chip is unknown.
  { name: 'Safari 17, macOS', ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15', os: 'macos', browser: 'Safari', macChoice: true },
  { name: 'Chrome 131, macOS', ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', os: 'macos', browser: 'Chrome', macChoice: true },
  { name: 'Firefox 133, macOS', ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0', os: 'macos', browser: 'Firefox', macChoice: true },
  { name: 'Edge 131, macOS', ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86', os: 'macos', browser: 'Edge', macChoice: true },
  // An earlier macOS than the frozen 10.15 is true, and only Intel Macs ran it.
  { name: 'Safari 5.1, Mac OS X 10.6 Intel', ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_6_8) AppleWebKit/534.59.10 (KHTML, like Gecko) Version/5.1.9 Safari/534.59.10', os: 'macos', browser: 'Safari' },
  { name: 'Homebrew (curl) on Apple silicon', ua: 'Homebrew/4.2.0 (Macintosh; arm64 Mac OS X 14.2.1) curl/8.4.0', os: 'macosarm' },
  { name: 'Homebrew (curl) on an Intel Mac', ua: 'Homebrew/4.2.0 (Macintosh; Intel Mac OS X 13.6.3) curl/8.4.0', os: 'macos' },
  { name: 'Safari 4, Mac OS X 10.5 PowerPC', ua: 'Mozilla/5.0 (Macintosh; U; PPC Mac OS X 10_5_8; en-us) AppleWebKit/531.22.7 (KHTML, like Gecko) Version/4.0.5 Safari/531.22.7', os: null },
  // Linux
  { name: 'Chrome 131, Linux x86_64', ua: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', os: 'linux64', browser: 'Chrome' },
  { name: 'Firefox 133, Ubuntu x86_64', ua: 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', os: 'linux64', browser: 'Firefox' },
  { name: 'Firefox 133, Fedora x86_64', ua: 'Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', os: 'linux64', browser: 'Firefox' },
  { name: 'Firefox 128 ESR, Linux x86_64', ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', os: 'linux64', browser: 'Firefox' },
  { name: 'Headless Chrome 131, Linux (CI scripts)', ua: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36', os: 'linux64' },
  { name: 'Firefox 115 ESR, Linux i686', ua: 'Mozilla/5.0 (X11; Linux i686; rv:109.0) Gecko/20100101 Firefox/115.0', os: 'linux32', browser: 'Firefox' },
  { name: 'Firefox 3.6, Ubuntu 10.10 i686', ua: 'Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.9.2.13) Gecko/20101206 Ubuntu/10.10 (maverick) Firefox/3.6.13', os: 'linux32', browser: 'Firefox' },
  { name: 'Chrome 120, Linux aarch64', ua: 'Mozilla/5.0 (X11; Linux aarch64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', os: null },
  { name: 'Chromium 120, Raspberry Pi OS armv7l', ua: 'Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', os: null },
  { name: 'Chrome 131, Chrome OS', ua: 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', os: null },
  // Other Unix
  { name: 'Firefox 115, FreeBSD amd64', ua: 'Mozilla/5.0 (X11; FreeBSD amd64; rv:109.0) Gecko/20100101 Firefox/115.0', os: 'unix', browser: 'Firefox' },
  { name: 'Firefox 109, OpenBSD amd64', ua: 'Mozilla/5.0 (X11; OpenBSD amd64; rv:109.0) Gecko/20100101 Firefox/109.0', os: 'unix', browser: 'Firefox' },
  { name: 'Firefox 120, NetBSD amd64', ua: 'Mozilla/5.0 (X11; NetBSD amd64; rv:120.0) Gecko/20100101 Firefox/120.0', os: 'unix', browser: 'Firefox' },
  { name: 'Firefox 52, Solaris x86', ua: 'Mozilla/5.0 (X11; SunOS i86pc; rv:52.0) Gecko/20100101 Firefox/52.0', os: 'unix', browser: 'Firefox' },
  // Phones, tablets, bots and tools that name no OS: the choice list.
  { name: 'Chrome 131, Android 10', ua: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', os: null },
  { name: 'Firefox 133, Android 14', ua: 'Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0', os: null },
  { name: 'Samsung Internet 23, Android 13', ua: 'Mozilla/5.0 (Linux; Android 13; SM-S901B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36', os: null },
  { name: 'Chrome on an Android tablet', ua: 'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', os: null },
  { name: 'Safari 17, iPhone', ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1', os: null },
  { name: 'Chrome 131, iPhone', ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1', os: null },
  { name: 'Safari 12, iPad (iOS 12)', ua: 'Mozilla/5.0 (iPad; CPU OS 12_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1 Mobile/15E148 Safari/604.1', os: null },
  { name: 'Edge 15, Windows Phone 10', ua: 'Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.14977', os: null },
  { name: 'Googlebot', ua: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', os: null },
  { name: 'curl', ua: 'curl/8.5.0', os: null },
  { name: 'Wget', ua: 'Wget/1.21.4', os: null },
  { name: 'no User-Agent at all', ua: '', os: null },
];

const headersOf = (values: Record<string, string>) => ({ get: (name: string) => values[name.toLowerCase()] });

describe('detectClient', () => {
  it('has a table of at least 30 real User-Agents covering every os and the no-detection case', () => {
    expect(UA_TABLE.length).toBeGreaterThanOrEqual(30);
    for (const os of [...OS_VALUES, null]) expect(UA_TABLE.some((row) => row.os === os), String(os)).toBe(true);
  });

  it.each(UA_TABLE)('$name → $os', ({ ua, os, browser, macChoice }) => {
    const detected = detectClient(headersOf(ua ? { 'user-agent': ua } : {}));
    expect(detected.os ?? null).toBe(os);
    expect(detected.architectureKnown).toBe(!macChoice);
    expect(detected.compatible[0] ?? null).toBe(os);
    if (os === null) expect(detected.reason).toMatch(/\w/);
    else expect(detected.reason).toBeNull();
    if (browser) expect(detected.browserName).toContain(browser);
  });

  const CHROME_MAC = UA_TABLE.find((r) => r.name === 'Chrome 131, macOS')!.ua;
  const CHROME_WIN = UA_TABLE.find((r) => r.name === 'Chrome 131, Windows 10/11 x64')!.ua;
  const brands = '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"';
  it.each([
    { name: 'Chrome on Apple silicon with Sec-CH-UA-Arch', ua: CHROME_MAC, hints: { 'sec-ch-ua-platform': '"macOS"', 'sec-ch-ua-arch': '"arm"', 'sec-ch-ua-bitness': '"64"' }, os: 'macosarm' },
    { name: 'Chrome on an Intel Mac with Sec-CH-UA-Arch', ua: CHROME_MAC, hints: { 'sec-ch-ua-platform': '"macOS"', 'sec-ch-ua-arch': '"x86"', 'sec-ch-ua-bitness': '"64"' }, os: 'macos' },
    { name: 'Chrome on a Mac with the default hints only', ua: CHROME_MAC, hints: { 'sec-ch-ua-platform': '"macOS"', 'sec-ch-ua-mobile': '?0' }, os: 'macos', unknown: true },
    { name: 'Chrome on a Mac that will not tell its architecture', ua: CHROME_MAC, hints: { 'sec-ch-ua-platform': '"macOS"', 'sec-ch-ua-arch': '""' }, os: 'macos', unknown: true },
    { name: 'Chrome on Windows on ARM', ua: CHROME_WIN, hints: { 'sec-ch-ua-platform': '"Windows"', 'sec-ch-ua-arch': '"arm"', 'sec-ch-ua-bitness': '"64"' }, os: 'win64' },
    { name: 'Chrome on 32-bit Windows', ua: CHROME_WIN, hints: { 'sec-ch-ua-platform': '"Windows"', 'sec-ch-ua-arch': '"x86"', 'sec-ch-ua-bitness': '"32"' }, os: 'win32' },
  ])('client hints: $name → $os', ({ ua, hints, os, ...rest }) => {
    const detected = detectClient(headersOf({ 'user-agent': ua, 'sec-ch-ua': brands, ...hints } as unknown as Record<string, string>));
    expect(detected.os).toBe(os);
    expect(detected.architectureKnown).toBe(!('unknown' in rest));
  });

  it('names what runs on the computer, best first', () => {
    const of = (ua: string, hints: Record<string, string> = {}) => detectClient(headersOf({ 'user-agent': ua, ...hints })).compatible;
    expect(of(CHROME_WIN)).toEqual(['win64', 'win32']);
    expect(of(CHROME_MAC, { 'sec-ch-ua-arch': '"arm"' })).toEqual(['macosarm', 'macos']);
    expect(of(CHROME_MAC, { 'sec-ch-ua-arch': '"x86"' })).toEqual(['macos']);
    expect(of(CHROME_MAC)).toEqual(['macos', 'macosarm']);
    expect(of('curl/8.5.0')).toEqual([]);
  });

  it('reads at most 512 characters of a User-Agent', () => {
    const padded = `${UA_TABLE[0]!.ua}${' '.repeat(600)}(iPhone; CPU iPhone OS 17_1 like Mac OS X)`;
    expect(detectClient(headersOf({ 'user-agent': padded })).os).toBe('win64');
  });
});

describe('GET /v3_5/downloads/installer by User-Agent', () => {
  let ctx: TestContext;
  const fileFor = (os: string) => `t1c-9.1.0-${os}.bin`;

  beforeAll(async () => {
    ctx = await createTestContext();
    const admin = await ctx.login();
    const installers = OS_VALUES.map((os) => {
      const path = join(ctx.installerRoot, fileFor(os));
      writeFileSync(path, `installer for ${os}`);
      return { os, uri: pathToFileURL(path).href };
    });
    expect((await ctx.request('PUT', '/v3_5/admin/versions/9.1.0', { token: admin, body: { installers } })).status).toBe(201);
  });
  afterAll(async () => ctx?.close());

  it.each(UA_TABLE)('$name', async ({ ua, os, macChoice }) => {
    const res = await ctx.app.request('/v3_5/downloads/installer', { headers: ua ? { 'user-agent': ua } : {} });
    expect(res.headers.get('vary')).toContain('User-Agent');
    expect(res.headers.get('accept-ch')).toBe('Sec-CH-UA-Arch, Sec-CH-UA-Bitness, Sec-CH-UA-Platform');
    // Only the Mac choice asks a browser to retry with its architecture.
    expect(res.headers.get('critical-ch')).toBe(macChoice ? 'Sec-CH-UA-Arch' : null);
    if (os === null || macChoice) {
      expect(res.status).toBe(404);
      const body = (await res.json()) as any;
      expect(body.code).toBe('OS_NOT_DETECTED');
      if (macChoice) expect(body.description).toMatch(/architecture of this Mac could not be told/);
      expect(body.data.available).toEqual(
        OS_VALUES.map((o) => ({ os: o.toUpperCase(), url: `https://ds.example.test/v3_5/downloads/installers/${o}/versions/9.1.0` })),
      );
    } else {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${fileFor(os)}"`);
      expect(await res.text()).toBe(`installer for ${os}`);
    }
  });
});
