import type { InstallerOs } from '@ds/shared';
import { UAParser, type IResult } from 'ua-parser-js';

/** What a download request's User-Agent (and client hints, when sent) tells about the visitor. */
export interface DetectedClient {
  /** The installer that fits best; undefined when no installer can be told (then `reason` says why). */
  os: InstallerOs | undefined;
  /**
   * Every installer that runs on the visitor's computer, best first (`os` first): a 64-bit
   * Windows runs the 32-bit installer, a Mac with Apple silicon the Intel one (Rosetta). Empty
   * when `os` is undefined.
   */
  compatible: InstallerOs[];
  /**
   * False when the architecture could not be told and `compatible` holds installers of which only
   * some may run (a Mac whose browser says "Intel" whatever the chip): when a version has more
   * than one of them, DS does not pick; the visitor chooses.
   */
  architectureKnown: boolean;
  reason: string | null;
  browserName: string | null;
  browserMajor: string | null;
}

/** The request headers the detection reads; `Vary` on a detected download names them. */
export const DETECTION_HEADERS = ['User-Agent', 'Sec-CH-UA-Platform', 'Sec-CH-UA-Arch', 'Sec-CH-UA-Bitness'] as const;

/**
 * The client hints the installer endpoint asks browsers for (`Accept-CH`). Chromium browsers send
 * `Sec-CH-UA-Platform` unasked, but the architecture and bitness only to origins that asked, and
 * only over HTTPS (or to localhost). Firefox and Safari send none.
 */
export const CLIENT_HINTS = ['Sec-CH-UA-Arch', 'Sec-CH-UA-Bitness', 'Sec-CH-UA-Platform'] as const;

/**
 * The hint whose absence makes DS ask the visitor (`Critical-CH` on that answer): a browser that
 * would send it now that it knows DS wants it retries the request once, with it, before showing
 * anything (a browser that will not send it uses the answer as is, so this cannot loop).
 */
export const CRITICAL_HINTS = ['Sec-CH-UA-Arch'] as const;

const MAX_LENGTH = 512;
const UNIX = /bsd|solaris|sunos|illumos|openindiana|aix|hp-ux|irix|dragonfly|haiku|unix/i;
const LINUX = /linux|ubuntu|debian|fedora|centos|red ?hat|suse|mint|arch|gentoo|mandriva|mageia|slackware|manjaro|deepin|elementary|zenwalk|knoppix|pclinuxos|sabayon|linpus/i;
const HANDHELD = new Set(['mobile', 'tablet', 'wearable', 'smarttv', 'console', 'xr', 'embedded']);
const MOBILE_OS = /android|ios|ipados|windows phone|windows mobile|kaios|blackberry|symbian|tizen|webos|harmonyos|firefox os|sailfish|watchos|chromecast/i;

/**
 * Picks the installer for a visitor from the User-Agent (ua-parser-js) and, when the browser sent
 * them, the `Sec-CH-UA-Platform`/`-Arch`/`-Bitness` client hints. Rules, most specific first:
 *
 * - Phones, tablets, TVs and their operating systems get no installer (the page offers the list).
 *   An iPad in desktop mode says "Macintosh" and cannot be told from a Mac.
 * - Windows: an architecture token (`Win64`, `x64`, `WOW64`, `arm64`, or the hints) means 64-bit
 *   Windows → win64 (Windows on ARM64 runs x64 installers). No token from a browser means 32-bit
 *   Windows (every browser on 64-bit Windows says so) → win32. No token and no browser (PowerShell's
 *   `Invoke-WebRequest`, other scripts) → win64, by far the likelier today. Windows RT (32-bit ARM)
 *   runs no desktop installers.
 * - macOS: Apple silicon when the string or the hints say arm (Homebrew's UA, `Sec-CH-UA-Arch`),
 *   Intel when the hints say x86 or a program that is not a browser says "Intel" (Homebrew names
 *   the real chip). Browsers say "Intel Mac OS X" on Apple silicon too, so a browser without the
 *   hint leaves the architecture unknown: `macos` first, `architectureKnown` false, and a version
 *   with both Mac installers is a choice, not a guess. Browsers froze the version they name at
 *   10.15, so one that names an earlier macOS is telling the truth, and that Mac has an Intel chip
 *   (Apple silicon came with macOS 11). PowerPC Macs get none.
 * - Linux (any distribution): x86_64 → linux64, i686 → linux32, no architecture → linux64; ARM
 *   Linux (Raspberry Pi, ARM Chromebooks' Linux) has no installer among the os values, so it gets
 *   the list rather than an x86 binary. Chrome OS likewise.
 * - FreeBSD, OpenBSD, NetBSD, Solaris and other Unix → unix.
 * - Anything else (bots, curl and wget, which name no OS) → not detected.
 */
export function detectClient(headers: { get(name: string): string | null | undefined }): DetectedClient {
  const ua = (headers.get('user-agent') ?? '').slice(0, MAX_LENGTH);
  const hints: Record<string, string> = { 'user-agent': ua };
  for (const name of DETECTION_HEADERS.slice(1)) {
    const value = headers.get(name);
    if (value) hints[name.toLowerCase()] = value.slice(0, 64);
  }
  // Node has no navigator, so withClientHints() reads the given headers synchronously.
  const result = new UAParser(hints).getResult().withClientHints() as IResult;
  const browserName = result.browser.name ?? null;
  const browserMajor = result.browser.major ?? null;
  const found = (...compatible: [InstallerOs, ...InstallerOs[]]): DetectedClient => ({
    os: compatible[0],
    compatible: [...compatible],
    architectureKnown: true,
    reason: null,
    browserName,
    browserMajor,
  });
  const none = (reason: string): DetectedClient => ({ os: undefined, compatible: [], architectureKnown: true, reason, browserName, browserMajor });

  const osName = result.os.name ?? '';
  const arch = (result.cpu.architecture ?? '').toLowerCase();
  const deviceType = result.device.type ?? '';
  if (HANDHELD.has(deviceType) || MOBILE_OS.test(osName)) return none(`no installer runs on ${osName || deviceType || 'this device'}`);

  if (/^windows/i.test(osName)) {
    if (arch === 'arm') return none('Windows RT runs no desktop installers');
    if (arch !== '') return /64/.test(arch) ? found('win64', 'win32') : found('win32');
    return browserName ? found('win32') : found('win64', 'win32');
  }
  if (/mac ?os|os x|darwin/i.test(osName)) {
    if (/^(ppc|68k)/.test(arch)) return none('no installer runs on PowerPC Macs');
    if (/^arm/.test(arch)) return found('macosarm', 'macos');
    if (arch !== '' || !browserName || olderThanCatalina(result.os.version)) return found('macos');
    return { ...found('macos', 'macosarm'), architectureKnown: false };
  }
  if (/chrom(e|ium) ?os/i.test(osName)) return none('there is no installer for Chrome OS');
  if (/\blinux\b/i.test(ua) || LINUX.test(osName)) {
    if (arch === '' || arch === 'amd64') return found('linux64');
    if (arch === 'ia32') return found('linux32');
    return none(`there is no installer for Linux on ${arch}`);
  }
  if (UNIX.test(osName)) return found('unix');
  return none(ua === '' ? 'the request has no User-Agent' : 'the User-Agent names no operating system DS has installers for');
}

/** A macOS version before 10.15 (Catalina): only Intel (or PowerPC) Macs ran those. */
function olderThanCatalina(version: string | undefined): boolean {
  const m = /^(\d+)[._](\d+)/.exec(version ?? '');
  return m !== null && Number(m[1]) === 10 && Number(m[2]) < 15;
}
