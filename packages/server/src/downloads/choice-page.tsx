import { createHash } from 'node:crypto';
import type { InstallerOs } from '@ds/shared';
import type { Context } from 'hono';
import { raw } from 'hono/html';
import type { AppEnv } from '../context.js';
import type { AppError } from '../lib/errors.js';
import type { Choice, ChoiceReason } from './downloads.service.js';

// The page a browser gets instead of a JSON error from the three download routes: someone who
// followed a product page's download link from a phone, an unknown system or a Mac whose chip
// cannot be told chooses here. Small and static: no script, one inline style allowed by its hash.

const OS_NAMES: Record<InstallerOs, string> = {
  win32: 'Windows (32-bit)',
  win64: 'Windows (64-bit)',
  macos: 'macOS (Intel)',
  macosarm: 'macOS (Apple silicon)',
  linux32: 'Linux (32-bit)',
  linux64: 'Linux (64-bit)',
  unix: 'Unix (FreeBSD, Solaris and others)',
};

/** The name of an os for people ("macOS (Apple silicon)"). */
export const osName = (os: string) => OS_NAMES[os.toLowerCase() as InstallerOs] ?? os;

// No "<", ">", "&" or quotes: the text is the hashed one, whatever an HTML serializer would do to it.
const STYLE = [
  'body{font:1rem/1.5 system-ui,-apple-system,Segoe UI,sans-serif;color:#1b1b1b;background:#fff;margin:0 auto;max-width:60rem;padding:1rem}',
  'h1{font-size:1.6rem;line-height:1.25}',
  'table{border-collapse:collapse;width:100%}',
  'caption{text-align:left;font-weight:600;padding:.25rem 0}',
  'th,td{text-align:left;vertical-align:top;padding:.5rem .5rem .5rem 0;border-bottom:1px solid #c8c8c8}',
  'a{color:#0b50b5}',
  'a:focus-visible{outline:3px solid #0b50b5;outline-offset:2px}',
  'code{font:.85rem/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}',
  'td code{word-break:break-all}',
  'data{white-space:nowrap}',
  'footer{margin-top:2rem;color:#4a4a4a;font-size:.875rem}',
  '@media (prefers-color-scheme:dark){body{color:#eee;background:#161616}a{color:#8ab4ff}a:focus-visible{outline-color:#8ab4ff}th,td{border-color:#555}footer{color:#bbb}}',
].join('');

/** Nothing but this page's own style: no script, no frame, no form, no base, no fetch. */
export const CHOICE_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HEADINGS: Record<ChoiceReason, string> = {
  os: 'Download Trust1Connector',
  'mac-architecture': 'Download Trust1Connector for Mac',
  'no-installer': 'No installer for this operating system',
};

const LEADS: Record<ChoiceReason, string> = {
  os: 'Choose the installer for the computer you will install Trust1Connector on. This device could not be recognised, or Trust1Connector does not run on it (phones and tablets).',
  'mac-architecture':
    'Your browser does not tell whether this Mac has Apple silicon or an Intel processor. To find out, open the Apple menu and choose About This Mac: a chip named Apple M1 or later is Apple silicon; a processor named Intel is Intel.',
  'no-installer': 'There is no installer for the operating system asked for. These installers are available:',
};

/** A heading for the errors that are not a choice (an unknown os, a withdrawn version, ...). */
function errorHeading(error: AppError, hasChoices: boolean): string {
  switch (error.code) {
    case 'VERSION_NOT_ALLOWED':
      return 'This version can no longer be downloaded';
    case 'UNKNOWN_OS':
    case 'VALIDATION_ERROR':
      return 'This download link is not valid';
    case 'NOT_FOUND':
      return hasChoices ? 'This version does not exist' : 'No installer is available yet';
    case 'INSTALLER_CHANGED':
    case 'ORIGIN_FAILED':
      return 'This installer cannot be downloaded right now';
    case 'RANGE_NOT_SATISFIABLE':
      return 'The requested part of the installer does not exist';
    default:
      return 'The download could not be served';
  }
}

/** "12.3 MB", with the exact number of bytes for machines. */
function Size(props: { bytes: number | null }) {
  if (props.bytes === null) return <>unknown</>;
  const b = props.bytes;
  const text = b < 1000 ? `${b} bytes` : b < 1_000_000 ? `${(b / 1000).toFixed(1)} kB` : `${(b / 1_000_000).toFixed(1)} MB`;
  return <data value={String(b)}>{text}</data>;
}

function Installers(props: { choices: Choice[] }) {
  return (
    <table>
      <caption>Trust1Connector installers: choose an operating system to download its installer</caption>
      <thead>
        <tr>
          <th scope="col">Operating system</th>
          <th scope="col">Version</th>
          <th scope="col">Size</th>
          <th scope="col">SHA-256</th>
        </tr>
      </thead>
      <tbody>
        {props.choices.map((choice) => (
          <tr>
            <th scope="row">
              <a href={choice.url} download>
                {osName(choice.os)}
              </a>
            </th>
            <td>{choice.version}</td>
            <td>
              <Size bytes={choice.size} />
            </td>
            <td>{choice.sha256 ? <code>{choice.sha256}</code> : 'not recorded'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** What the page shows. */
export interface ChoicePageInput {
  error: AppError;
  /** The installers to offer (the error's choices, or every os's latest one). */
  choices: Choice[];
  /** Set for OS_NOT_DETECTED and INSTALLER_NOT_FOUND. */
  reason: ChoiceReason | null;
  requestId: string;
}

function ChoicePage(props: ChoicePageInput) {
  const { error, reason } = props;
  const macFirst = reason === 'mac-architecture';
  const choices = macFirst ? [...props.choices].sort((a, b) => Number(b.os.startsWith('MACOS')) - Number(a.os.startsWith('MACOS'))) : props.choices;
  const heading = reason ? HEADINGS[reason] : errorHeading(error, choices.length > 0);
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{`${heading} · Trust1Connector`}</title>
        <link rel="icon" href="data:," />
        <style>{raw(STYLE)}</style>
      </head>
      <body>
        <main>
          <h1>{heading}</h1>
          {reason ? <p>{LEADS[reason]}</p> : null}
          <p>Details: {error.message}</p>
          {choices.length > 0 ? (
            <section aria-labelledby="installers">
              <h2 id="installers">{reason ? 'Installers' : 'Current installers'}</h2>
              <Installers choices={choices} />
              <p>
                To check a saved installer, compare its SHA-256 checksum with the one above (<code>shasum -a 256</code> on macOS and Linux,{' '}
                <code>Get-FileHash</code> in Windows PowerShell).
              </p>
            </section>
          ) : (
            <p>No installer is available for download yet.</p>
          )}
        </main>
        <footer>
          <p>
            Error code <code>{error.code}</code>, request id <code>{props.requestId}</code> (HTTP status {String(error.status)}).
          </p>
        </footer>
      </body>
    </html>
  );
}

/**
 * The HTML answer for `error`, with the JSON answer's status and headers (Content-Range of a 416,
 * Critical-CH of the Mac choice), this page's strict security headers, and never cached: the
 * installers on offer change with every release.
 */
export async function choicePageResponse(c: Context<AppEnv>, input: ChoicePageInput): Promise<Response> {
  const page = `<!DOCTYPE html>${String(await (ChoicePage(input) as { toString(): string | Promise<string> }).toString())}`;
  for (const [name, value] of Object.entries(input.error.headers ?? {})) c.header(name, value);
  c.header('Content-Security-Policy', CHOICE_PAGE_CSP);
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('X-Frame-Options', 'DENY');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('Cache-Control', 'no-store');
  return c.html(page, input.error.status as 404);
}
