import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, usage } from './errors.js';

/**
 * One named credential in the profile file, bound to the DS that issued it: its token is only ever
 * sent to `url` (as gh keys tokens by host and kubectl binds a user to a cluster in a context).
 */
export interface Profile {
  /** The normalised base URL of the DS (see {@link normalizeUrl}); absent in files written by hand: the default URL. */
  url?: string;
  token?: string;
  username?: string;
  expiresAt?: string;
}

/** The profile file: `{"current": "default", "profiles": {"default": {...}}}`. */
export interface ConfigFile {
  current?: string;
  profiles: Record<string, Profile>;
}

/** The global options that select a DS and a credential (and `--json`, the format of errors too). */
export interface GlobalOptions {
  url?: string;
  token?: string;
  profile?: string;
  yes?: boolean;
  json?: boolean;
}

export type Source = 'flag' | 'env' | 'profile' | 'default';

/** What the CLI talks to, and where each value came from (shown by `ds whoami`, useful in bug reports). */
export interface Resolved {
  /** The profile whose token is used; when none is, the profile that was selected. */
  profile: string;
  /** Normalised. */
  url: string;
  urlSource: Source;
  token: string | undefined;
  tokenSource: Source | undefined;
  /**
   * Why no stored token goes to `url` although profiles hold some: the selected profile is logged
   * in to another DS (`boundTo`), or several profiles are logged in to this one (`ambiguous`).
   */
  withheld?: { profile: string; boundTo: string } | { ambiguous: string[] };
}

export const DEFAULT_URL = 'http://127.0.0.1:3000';
export const DEFAULT_PROFILE = 'default';

/** `$XDG_CONFIG_HOME/ds/config.json`, else `~/.config/ds/config.json`. */
export function configPath(env: NodeJS.ProcessEnv, home: string = homedir()): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = xdg && xdg.startsWith('/') ? xdg : join(home, '.config');
  return join(base, 'ds', 'config.json');
}

/**
 * The one spelling of a DS base URL that credentials are bound to and requests go to:
 * `scheme://host[:port][/path]`, scheme and host in lower case, the default port left out,
 * no trailing slash. `HTTP://DS.example:80/` and `http://ds.example` are the same DS. A URL with
 * credentials, a query or a fragment is refused: the token must never go somewhere it does not
 * say plainly. Throws a usage error naming `what` (the flag or variable) otherwise.
 */
export function normalizeUrl(text: string, what = 'the DS URL'): string {
  const problem = urlProblem(text);
  // A password typed into the URL is not repeated on the screen.
  if (problem) throw usage(`${what} ${text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1…@')}: ${problem}`);
  const url = new URL(text);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** Why `text` cannot be a DS base URL, or undefined when it can. */
export function urlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be a URL such as http://127.0.0.1:3000';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http(s) URL';
  if (url.username || url.password) return 'must not carry a user name or password (log in with ds login)';
  if (url.search || url.hash || text.includes('?') || text.includes('#')) return 'must not have a query or a fragment';
  return undefined;
}

/** The URL a stored profile's token belongs to; undefined when the file holds something that is no URL (never matches). */
export function profileUrl(profile: Profile): string | undefined {
  const url = profile.url ?? DEFAULT_URL;
  return urlProblem(url) ? undefined : normalizeUrl(url);
}

/** Reads and writes the profile file. Tokens live in it, so it is only ever written with mode 0600. */
export class ConfigStore {
  private cached: ConfigFile | undefined;

  constructor(readonly path: string) {}

  async read(): Promise<ConfigFile> {
    if (this.cached) return this.cached;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return (this.cached = { profiles: {} });
      throw new CliError(`cannot read ${this.path}: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new CliError(`${this.path} is not valid JSON (${(error as Error).message}); fix or remove it`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new CliError(`${this.path} must hold a JSON object; fix or remove it`);
    }
    const file = parsed as Partial<ConfigFile>;
    const profiles = file.profiles && typeof file.profiles === 'object' && !Array.isArray(file.profiles) ? file.profiles : {};
    this.cached = { ...file, profiles: Object.fromEntries(Object.entries(profiles).map(([name, profile]) => [name, migrated(profile)])) } as ConfigFile;
    return this.cached;
  }

  async write(file: ConfigFile): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    // Write a temporary file created 0600 and rename it over the old one, so the token is never
    // readable by others, not even for a moment, and a crash cannot leave half a file.
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
    await rename(temporary, this.path);
    // The mode given to writeFile is filtered by the umask and ignored for an existing file.
    await chmod(this.path, 0o600);
    this.cached = file;
  }

  /** Applies `change` to one profile and saves the file. */
  async updateProfile(name: string, change: (profile: Profile) => Profile, makeCurrent = false): Promise<void> {
    const file = await this.read();
    const next: ConfigFile = { ...file, profiles: { ...file.profiles, [name]: change({ ...(file.profiles[name] ?? {}) }) } };
    if (makeCurrent || !next.current) next.current = name;
    await this.write(next);
  }
}

/**
 * A profile as files of earlier versions hold it, in today's form: the URL in its normalised
 * spelling (`http://ds.example:3000/` was stored as typed), and a profile that has a token but no
 * URL bound to the default URL, the only one it was ever sent to without `--url`. Written back
 * with the next change of the file.
 */
function migrated(profile: Profile): Profile {
  if (!profile || typeof profile !== 'object') return {};
  if (profile.url === undefined) return profile.token === undefined ? profile : { ...profile, url: DEFAULT_URL };
  return typeof profile.url === 'string' && !urlProblem(profile.url) ? { ...profile, url: normalizeUrl(profile.url) } : profile;
}

/**
 * Flags first, then `DS_URL` / `DS_TOKEN` / `DS_PROFILE`, then the profile file. A token given as
 * `--token` or `DS_TOKEN` goes wherever the URL says (the user chose both). A stored token goes
 * only to the URL it was issued by: when `--url` or `DS_URL` names another DS, the token of the
 * profile logged in to that one is used (if the profile was not named and exactly one is), else none.
 */
export function resolve(globals: GlobalOptions, env: NodeJS.ProcessEnv, file: ConfigFile): Resolved {
  const named = nonEmpty(globals.profile) ?? nonEmpty(env.DS_PROFILE);
  const selected = named ?? nonEmpty(file.current) ?? DEFAULT_PROFILE;
  const stored = file.profiles[selected] ?? {};
  const explicitUrl = pick<string>([nonEmpty(globals.url), 'flag'], [nonEmpty(env.DS_URL), 'env']);
  const [url, urlSource]: [string, Source] = explicitUrl
    ? [normalizeUrl(explicitUrl[0], explicitUrl[1] === 'flag' ? '--url' : 'DS_URL'), explicitUrl[1]]
    : stored.url !== undefined && profileUrl(stored) !== undefined
      ? [profileUrl(stored)!, 'profile']
      : [DEFAULT_URL, 'default'];

  const explicitToken = pick<string>([nonEmpty(globals.token), 'flag'], [nonEmpty(env.DS_TOKEN), 'env']);
  if (explicitToken) return { profile: selected, url, urlSource, token: explicitToken[0], tokenSource: explicitToken[1] };

  if (nonEmpty(stored.token) && profileUrl(stored) === url) return { profile: selected, url, urlSource, token: stored.token, tokenSource: 'profile' };
  const none = { url, urlSource, token: undefined, tokenSource: undefined };
  const otherDs = nonEmpty(stored.token) ? { profile: selected, boundTo: profileUrl(stored) ?? String(stored.url) } : undefined;
  if (named) return { profile: selected, ...none, ...(otherDs ? { withheld: otherDs } : {}) };
  const matching = Object.entries(file.profiles).filter(([, profile]) => nonEmpty(profile.token) && profileUrl(profile) === url);
  if (matching.length === 1) return { profile: matching[0]![0], url, urlSource, token: matching[0]![1].token, tokenSource: 'profile' };
  if (matching.length > 1) return { profile: selected, ...none, withheld: { ambiguous: matching.map(([name]) => name) } };
  return { profile: selected, ...none, ...(otherDs ? { withheld: otherDs } : {}) };
}

/**
 * The profile `ds login` stores a session for `url` in: the one named (`--profile`, `DS_PROFILE`);
 * else the current one when it is for this DS or holds nothing yet; else the one logged in to this
 * DS before; else a new one named after the host (`staging.example`, `127.0.0.1:3000`), so logging
 * in to a second DS never throws the first one's session away.
 */
export function loginProfile(globals: GlobalOptions, env: NodeJS.ProcessEnv, file: ConfigFile, url: string): string {
  const named = nonEmpty(globals.profile) ?? nonEmpty(env.DS_PROFILE);
  if (named) return named;
  const current = nonEmpty(file.current) ?? DEFAULT_PROFILE;
  const profile = file.profiles[current];
  if (!profile || (profile.url === undefined && profile.token === undefined) || profileUrl(profile) === url) return current;
  const same = Object.entries(file.profiles).find(([, p]) => p.url !== undefined && profileUrl(p) === url);
  if (same) return same[0];
  const host = new URL(url).host;
  let name = host;
  for (let n = 2; file.profiles[name]; n++) name = `${host}-${n}`;
  return name;
}

function pick<T>(...candidates: [T | undefined, Source][]): [T, Source] | undefined {
  for (const [value, source] of candidates) if (value !== undefined) return [value, source];
  return undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
