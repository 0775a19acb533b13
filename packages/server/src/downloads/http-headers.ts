// The HTTP semantics downloads need (RFC 9110 ranges and preconditions, RFC 6266 file names),
// as pure functions of header values.

/** What a `Range` header asks of a representation of `size` bytes. */
export type RangeRequest =
  | { kind: 'none' }
  | { kind: 'range'; start: number; end: number }
  | { kind: 'unsatisfiable' }
  /** Several ranges: DS answers the whole body (RFC 9110 allows ignoring Range). */
  | { kind: 'multiple' };

/**
 * Parses `Range: bytes=a-b`, `bytes=a-` and `bytes=-n`. A header DS cannot make sense of (another
 * unit, bad syntax, `b < a`) is ignored, as RFC 9110 §14.2 says; `end` is inclusive and clamped.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'none' };
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!match) return { kind: 'none' };
  const specs = match[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (specs.length === 0) return { kind: 'none' };
  if (specs.length > 1) return specs.every((s) => /^(\d+-\d*|-\d+)$/.test(s)) ? { kind: 'multiple' } : { kind: 'none' };
  const spec = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!spec || (spec[1] === '' && spec[2] === '')) return { kind: 'none' };
  if (spec[1] === '') {
    const suffix = Number(spec[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(spec[1]);
  const last = spec[2] === '' ? Infinity : Number(spec[2]);
  if (last < start) return { kind: 'none' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: Math.min(last, size - 1) };
}

/** The entity tags of an `If-None-Match` / `If-Match` list (`*` is returned as itself). */
function entityTags(header: string): string[] {
  if (header.trim() === '*') return ['*'];
  return header.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

const opaque = (tag: string) => tag.replace(/^W\//, '');

/** `If-None-Match` matches (weak comparison, RFC 9110 §13.1.2). */
export function noneMatch(header: string | undefined, etag: string | null): boolean {
  if (header === undefined || etag === null) return false;
  return entityTags(header).some((tag) => tag === '*' || opaque(tag) === opaque(etag));
}

/** Seconds since the epoch of an HTTP date, or undefined when it is not one. */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined || !/\d{4}/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/**
 * Whether a `Range` may be honoured under `If-Range` (RFC 9110 §13.1.5): an entity tag must match
 * strongly (weak tags never do), a date must equal Last-Modified. Absent: yes.
 */
export function ifRangeHolds(header: string | undefined, etag: string | null, lastModified: Date | null): boolean {
  if (header === undefined) return true;
  const value = header.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return etag !== null && !value.startsWith('W/') && value === etag;
  const date = parseHttpDate(value);
  return date !== undefined && lastModified !== null && date === Math.floor(lastModified.getTime() / 1000);
}

/** `If-Modified-Since` says the client's copy is current (only consulted without If-None-Match). */
export function notModifiedSince(header: string | undefined, lastModified: Date | null): boolean {
  const since = parseHttpDate(header);
  return since !== undefined && lastModified !== null && Math.floor(lastModified.getTime() / 1000) <= since;
}

/** RFC 5987 attr-chars stay, everything else is percent-encoded (UTF-8). */
const extValue = (name: string) => encodeURIComponent(name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * `attachment; filename="..."`, plus `filename*=UTF-8''...` (RFC 6266) when the name is not plain
 * ASCII: old clients get a readable ASCII stand-in, current ones the real name.
 */
export function contentDisposition(fileName: string): string {
  const name = fileName.replace(/[\u0000-\u001f\u007f]/g, '').replace(/[/\\]/g, '_').trim() || 'installer';
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["%]/g, '_');
  if (ascii === name) return `attachment; filename="${ascii}"`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${extValue(name)}`;
}

const TYPES: [RegExp, string][] = [
  [/\.exe$/i, 'application/vnd.microsoft.portable-executable'],
  [/\.msi$/i, 'application/x-msi'],
  [/\.dmg$/i, 'application/x-apple-diskimage'],
  [/\.deb$/i, 'application/vnd.debian.binary-package'],
  [/\.rpm$/i, 'application/x-rpm'],
  [/\.zip$/i, 'application/zip'],
  [/\.(tgz|gz)$/i, 'application/gzip'],
  [/\.sh$/i, 'application/x-sh'],
];

/** The media type of an installer by its file name; `application/octet-stream` when unknown (.pkg too). */
export function contentTypeFor(fileName: string): string {
  return TYPES.find(([pattern]) => pattern.test(fileName))?.[1] ?? 'application/octet-stream';
}

/** `X-Checksum-Sha256` and `Digest` (RFC 3230: base64 of the raw digest) for a hex SHA-256. */
export function checksumHeaders(sha256: string | null): Record<string, string> {
  if (!sha256 || !/^[0-9a-f]{64}$/i.test(sha256)) return {};
  const hex = sha256.toLowerCase();
  return { 'X-Checksum-Sha256': hex, Digest: `sha-256=${Buffer.from(hex, 'hex').toString('base64')}` };
}

/** The weight of a media range (RFC 9110 §12.4.2: 0 to 1, at most three decimals). */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * How much an `Accept` header wants `type` (`text/html`): the weight of the most specific media
 * range that matches it (RFC 9110 §12.5.1: `text/html` over `text/*` over `*\/*`), 0 when none
 * does, 1 without the header. A range with a malformed weight is ignored; media type parameters
 * other than `q` are not told apart. Reads at most 2,048 characters and 64 ranges.
 */
export function acceptWeight(header: string | undefined, type: string): number {
  if (header === undefined || header.trim() === '') return 1;
  const [major] = type.split('/');
  let best = { specificity: -1, q: 0 };
  for (const range of header.slice(0, 2048).split(',').slice(0, 64)) {
    const [media = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    let q = 1;
    let valid = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/.test(media);
    for (const param of params) {
      const [name, value = ''] = param.split('=').map((p) => p.trim());
      if (name === 'q') {
        if (QVALUE.test(value)) q = Number(value);
        else valid = false;
      }
    }
    if (!valid) continue;
    const specificity = media === type ? 2 : media === `${major}/*` ? 1 : media === '*/*' ? 0 : -1;
    if (specificity > best.specificity) best = { specificity, q };
  }
  return best.q;
}

/**
 * Whether a request wants an HTML page rather than JSON: browsers navigating to a link send
 * `text/html` first and `*\/*;q=0.8`; API clients send `application/json`, `*\/*` or nothing, and
 * keep the JSON. A tie is JSON.
 */
export function prefersHtml(header: string | undefined): boolean {
  const html = acceptWeight(header, 'text/html');
  return html > 0 && html > acceptWeight(header, 'application/json');
}
