import { SEMVER_REGEX } from '@ds/shared';

/**
 * A numeric identifier as text that sorts numerically. Up to 10 digits it is zero-padded to 10;
 * longer numbers (semver sets no limit) get "~", a two-digit length and the digits, which sorts
 * after every padded one and by length first among themselves (semver numbers have no leading
 * zeros, so the longer one is the larger).
 */
const num = (n: string) => (n.length <= 10 ? n.padStart(10, '0') : `~${String(n.length).padStart(2, '0')}${n}`);

/**
 * A text key whose plain (byte/code-unit) ordering is semantic-version precedence (semver.org
 * §11), so "latest" and version lists sort in the database on either dialect. Build metadata is
 * ignored, as semver says; a release sorts after its pre-releases ("~" > "-").
 *
 * Pre-release identifiers are joined with "." and that separator must sort below every character
 * an identifier can hold, so that "a.b" < "a-b" (fewer characters in the first identifier wins
 * before the next identifier counts). "-" (0x2D) is the one identifier character below "."
 * (0x2E), so inside identifiers it is written as "/" (0x2F), which keeps its place below "0".
 */
export function semverSortKey(version: string): string {
  const m = SEMVER_REGEX.exec(version);
  if (!m) throw new Error(`not a semantic version: ${version}`);
  const [, major = '0', minor = '0', patch = '0', pre] = m;
  const core = `${num(major)}.${num(minor)}.${num(patch)}`;
  if (!pre) return `${core}~`;
  // Numeric identifiers sort below alphanumeric ones and numerically among themselves.
  const ids = pre.split('.').map((id) => (/^\d+$/.test(id) ? `0${num(id)}` : `1${id.replaceAll('-', '/')}`));
  return `${core}-${ids.join('.')}`;
}

/**
 * Whether a version is a pre-release (`3.9.1-beta.1`; build metadata alone does not make one).
 * Pre-releases are never "latest" unless an operator made them recommended (API.md §1).
 */
export function isPrerelease(version: string): boolean {
  const m = SEMVER_REGEX.exec(version);
  if (!m) throw new Error(`not a semantic version: ${version}`);
  return m[4] !== undefined;
}

/**
 * What the sort key of every release, and of no pre-release, ends with: a release's key is its
 * core and "~", a pre-release's ends with its last identifier, which cannot hold "~". So queries
 * tell releases apart with `sortKey LIKE '%~'` on both dialects, without a column of their own.
 */
export const RELEASE_SORT_KEY_SUFFIX = '~';
