import { AdminClient } from '@ds/shared';
import { ConfigStore, configPath, resolve, type GlobalOptions, type Resolved } from './config.js';
import { CliError, ExitCode } from './errors.js';
import { terminalText } from './output.js';
import { escapingPrompter, inquirerPrompter, type Prompter } from './prompter.js';
import { loadServerModule, type ServerModule } from './server-api.js';
import { readAll } from './stdin.js';

export interface Writer {
  write(text: string): unknown;
}

/** Where "now" comes from (device messages and transaction dates of `ds simulate`, `--since`). */
export interface Clock {
  now(): Date;
  /**
   * Moves this clock forward, when it can be (tests: a FakeClock shared with an in-process DS).
   * `ds simulate` then spends its pauses in simulated time instead of waiting for them.
   */
  advance?(ms: number): void | Promise<void>;
}

/** Everything a command needs from the outside world; tests replace any part of it. */
export interface ContextOptions {
  env: NodeJS.ProcessEnv;
  /** Raw streams: text for people goes through `Context.out` / `Context.note` and the tables of output.ts, which escape it. */
  stdout: Writer;
  stderr: Writer;
  /** True when stdin and stdout are terminals. */
  terminal: boolean;
  /** Width of the terminal stdout writes to, if it is one; tables wrap to fit it. */
  width: number | undefined;
  /** True when stderr is a terminal: progress lines are drawn in place there, and only there. */
  stderrTerminal: boolean;
  prompter: Prompter;
  readStdin: () => Promise<string>;
  /** The fetch every request to DS goes through (the AdminClient, and the device clients of `ds simulate`). */
  fetch: typeof fetch;
  clock: Clock;
  /** Where the profile file lives (default from XDG_CONFIG_HOME / the home folder). */
  configPath: string;
  /** Loads @ds/server; a function so remote commands never pay for the database drivers. */
  loadServer: () => Promise<ServerModule>;
  /** Registers a handler for SIGINT/SIGTERM and returns a function that removes it. */
  onSignal: (handler: (signal: NodeJS.Signals) => void) => () => void;
}

export class Context {
  readonly env: NodeJS.ProcessEnv;
  /**
   * The raw streams, for what must reach them byte for byte: `--json` and `--csv` output, and the
   * CLI's own control sequences (the progress line of `ds simulate`). Text for people goes through
   * {@link out}, {@link note} or the tables of output.ts, which escape control characters.
   */
  readonly stdout: Writer;
  readonly stderr: Writer;
  readonly terminal: boolean;
  readonly width: number | undefined;
  readonly stderrTerminal: boolean;
  readonly prompter: Prompter;
  readonly readStdin: () => Promise<string>;
  readonly fetch: typeof fetch;
  readonly clock: Clock;
  readonly config: ConfigStore;
  readonly loadServer: () => Promise<ServerModule>;
  readonly onSignal: ContextOptions['onSignal'];
  /** Set from the parsed global options before a command's action runs. */
  globals: GlobalOptions = {};
  private clientCache: AdminClient | undefined;

  constructor(options: ContextOptions) {
    this.env = options.env;
    this.stdout = options.stdout;
    this.stderr = options.stderr;
    this.terminal = options.terminal;
    this.width = options.width;
    this.stderrTerminal = options.stderrTerminal;
    // Prompts quote names and URIs that came from DS: escaped like everything else people read.
    this.prompter = escapingPrompter(options.prompter);
    this.readStdin = options.readStdin;
    this.fetch = options.fetch;
    this.clock = options.clock;
    this.config = new ConfigStore(options.configPath);
    this.loadServer = options.loadServer;
    this.onSignal = options.onSignal;
  }

  /** May the CLI ask questions? Not in CI, not without a terminal, not with --yes. */
  get isInteractive(): boolean {
    return this.terminal && !isSet(this.env.CI) && !this.globals.yes;
  }

  /** The DS URL, token and profile after flags, environment and profile file. */
  async resolved(): Promise<Resolved> {
    return resolve(this.globals, this.env, await this.config.read());
  }

  /** A client without credentials (public endpoints and login) for `url`, or the resolved URL. */
  async anonymousClient(url?: string): Promise<AdminClient> {
    return new AdminClient({ baseUrl: url ?? (await this.resolved()).url, fetch: this.fetch });
  }

  /**
   * The authenticated client; fails with exit code 4, before sending anything, when there is no
   * token for the DS URL (a stored token goes only to the DS that issued it).
   */
  async client(): Promise<AdminClient> {
    if (this.clientCache) return this.clientCache;
    const resolved = await this.resolved();
    if (!resolved.token) throw notLoggedIn(resolved);
    this.clientCache = new AdminClient({ baseUrl: resolved.url, token: resolved.token, fetch: this.fetch });
    return this.clientCache;
  }

  /** Writes a line of progress, a notice or an error to stderr, control characters escaped (line breaks stay). */
  note(text: string): void {
    this.stderr.write(line(text));
  }

  /** Writes a line of data for people to stdout, control characters escaped (line breaks stay). */
  out(text: string): void {
    this.stdout.write(line(text));
  }
}

/** Exit code 4: no token for this DS, and why the stored ones were not used. */
function notLoggedIn(resolved: Resolved): CliError {
  const withheld = resolved.withheld;
  let why = '';
  let hint = `ds login --url ${resolved.url} [--profile <name>], or pass --token / set DS_TOKEN`;
  if (withheld && 'boundTo' in withheld) {
    why = ` (profile "${withheld.profile}" is logged in to ${withheld.boundTo}; its token goes nowhere else)`;
  } else if (withheld) {
    why = ` (profiles ${withheld.ambiguous.map((name) => `"${name}"`).join(', ')} are all logged in to it)`;
    hint = `choose one with --profile <name> (or DS_PROFILE), or \`ds profile use <name>\``;
  } else if (resolved.urlSource === 'profile' || resolved.urlSource === 'default') {
    why = ` (profile "${resolved.profile}")`;
  }
  return new CliError(`not logged in to ${resolved.url}${why}`, ExitCode.UNAUTHENTICATED, hint, { code: 'NOT_AUTHENTICATED' });
}

function line(text: string): string {
  const safe = terminalText(text, { multiline: true });
  return safe.endsWith('\n') ? safe : safe + '\n';
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** The context of a real run: process streams, the terminal, inquirer, global fetch. */
export function defaultContextOptions(): ContextOptions {
  return {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    terminal: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    width: process.stdout.isTTY ? process.stdout.columns : undefined,
    stderrTerminal: Boolean(process.stderr.isTTY),
    prompter: inquirerPrompter(),
    readStdin: () => readAll(process.stdin),
    fetch: globalThis.fetch,
    clock: { now: () => new Date() },
    configPath: configPath(process.env),
    loadServer: loadServerModule,
    onSignal: (handler) => {
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
  };
}
