import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './errors.js';

/** One named set of connection settings in the profile file. */
export interface Profile {
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

/** The global options that select a DS and a credential. */
export interface GlobalOptions {
  url?: string;
  token?: string;
  profile?: string;
  yes?: boolean;
}

export type Source = 'flag' | 'env' | 'profile' | 'default';

/** What the CLI talks to, and where each value came from (shown by `ds whoami`, useful in bug reports). */
export interface Resolved {
  profile: string;
  url: string;
  urlSource: Source;
  token: string | undefined;
  tokenSource: Source | undefined;
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
    this.cached = { ...file, profiles } as ConfigFile;
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

/** Flags first, then `DS_URL` / `DS_TOKEN` / `DS_PROFILE`, then the profile file. */
export function resolve(globals: GlobalOptions, env: NodeJS.ProcessEnv, file: ConfigFile): Resolved {
  const profile = nonEmpty(globals.profile) ?? nonEmpty(env.DS_PROFILE) ?? nonEmpty(file.current) ?? DEFAULT_PROFILE;
  const stored = file.profiles[profile] ?? {};
  const [url, urlSource] = pick<string>(
    [nonEmpty(globals.url), 'flag'],
    [nonEmpty(env.DS_URL), 'env'],
    [nonEmpty(stored.url), 'profile'],
  ) ?? [DEFAULT_URL, 'default'];
  const [token, tokenSource] = pick<string>(
    [nonEmpty(globals.token), 'flag'],
    [nonEmpty(env.DS_TOKEN), 'env'],
    [nonEmpty(stored.token), 'profile'],
  ) ?? [undefined, undefined];
  return { profile, url, urlSource, token, tokenSource };
}

function pick<T>(...candidates: [T | undefined, Source][]): [T, Source] | undefined {
  for (const [value, source] of candidates) if (value !== undefined) return [value, source];
  return undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
