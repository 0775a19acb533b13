import type { InstallerOs } from '@ds/shared';
import { UAParser, type IResult } from 'ua-parser-js';

/** What a download request's User-Agent (and client hints, when sent) tells about the visitor. */
export interface DetectedClient {
  /** The installer to offer; undefined when it cannot be told (then `reason` says why). */
  os: InstallerOs | undefined;
  reason: string | null;
  browserName: string | null;
  browserMajor: string | null;
}

/** The request headers the detection reads; `Vary` on a detected download names them. */
export const DETECTION_HEADERS = ['User-Agent', 'Sec-CH-UA-Platform', 'Sec-CH-UA-Arch', 'Sec-CH-UA-Bitness'] as const;

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
 * - macOS: Apple silicon only when the string or the hints say arm (Homebrew's UA, `Sec-CH-UA-Arch`);
 *   browsers on Apple silicon claim "Intel Mac OS X", so otherwise `macos`, the installer that runs
 *   on both (natively or under Rosetta). PowerPC Macs get none.
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
  const found = (os: InstallerOs): DetectedClient => ({ os, reason: null, browserName, browserMajor });
  const none = (reason: string): DetectedClient => ({ os: undefined, reason, browserName, browserMajor });

  const osName = result.os.name ?? '';
  const arch = (result.cpu.architecture ?? '').toLowerCase();
  const deviceType = result.device.type ?? '';
  if (HANDHELD.has(deviceType) || MOBILE_OS.test(osName)) return none(`no installer runs on ${osName || deviceType || 'this device'}`);

  if (/^windows/i.test(osName)) {
    if (arch === 'arm') return none('Windows RT runs no desktop installers');
    if (arch !== '') return found(/64/.test(arch) ? 'win64' : 'win32');
    return found(browserName ? 'win32' : 'win64');
  }
  if (/mac ?os|os x|darwin/i.test(osName)) {
    if (/^(ppc|68k)/.test(arch)) return none('no installer runs on PowerPC Macs');
    return found(/^arm/.test(arch) ? 'macosarm' : 'macos');
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
