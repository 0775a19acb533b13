import { SEMVER_REGEX } from '@ds/shared';

const pad = (n: string) => n.padStart(10, '0');

/**
 * A text key whose plain ordering is semantic-version precedence, so "latest" and version
 * lists sort in the database on either dialect. Build metadata is ignored, as semver says;
 * a release sorts after its pre-releases ("~" > "-").
 */
export function semverSortKey(version: string): string {
  const m = SEMVER_REGEX.exec(version);
  if (!m) throw new Error(`not a semantic version: ${version}`);
  const [, major = '0', minor = '0', patch = '0', pre] = m;
  const core = `${pad(major)}.${pad(minor)}.${pad(patch)}`;
  if (!pre) return `${core}~`;
  // Numeric identifiers sort below alphanumeric ones and numerically among themselves.
  const ids = pre.split('.').map((id) => (/^\d+$/.test(id) ? `0${pad(id)}` : `1${id}`));
  return `${core}-${ids.join('.')}`;
}
