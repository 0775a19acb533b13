import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { DsApiError } from '@ds/shared';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError, missing } from '../../lib/errors.js';
import { json, printObject } from '../../lib/output.js';
import { collectList, parseCount, parseDuration, parsePositive } from '../../lib/parse.js';
import { dailyVersions, runSimulation, type DailyDeviceVersion, type LiveStats, type SimulationSummary } from './engine.js';
import type { KeyTypeChoice } from './profiles.js';
import { verifySimulation, type VerifyResult } from './verify.js';

export interface SimulateOptions {
  installationKey?: string;
  /** Several nodes of one DS (load balancing and failover of the simulated devices). */
  urls?: string[];
  devices: number;
  syncs: number;
  /** Seconds. */
  duration?: number;
  concurrency: number;
  keyType: KeyTypeChoice;
  /** Seconds. */
  interval: number;
  days: number;
  labels?: string[];
  seed?: number;
  verify?: boolean;
  json?: boolean;
  /** False with --no-updates. */
  updates: boolean;
  failVersion?: string;
  /** 0 to 1. */
  failRate?: number;
  /** 0 to 1. */
  errorRate?: number;
  /** JSON lines of each device's version per day. */
  log?: string;
}

/** The label the simulated web apps use when none is given and none can be listed. */
export const FALLBACK_LABEL = 'demo-label';

export function registerSimulate(program: Command, ctx: Context): void {
  program
    .command('simulate')
    .description('play T1C installations against a DS: register, version check and syncs with realistic transactions')
    .option('--installation-key <key>', 'installation API key of a version (env DS_INSTALLATION_KEY)')
    .option('--urls <urls>', 'the nodes of a DS that runs on several, comma separated or repeated: devices spread over them and move to the next node when theirs cannot be reached (default: the one DS of --url)', collectUrls)
    .option('--devices <n>', 'simulated installations', parsePositive, 10)
    .addOption(new Option('--syncs <n>', 'syncs per device').argParser(parsePositive).default(3).conflicts('duration'))
    .addOption(new Option('--duration <duration>', 'sync until this much time has passed (30s, 5m) instead of --syncs').argParser(parsePositiveDuration))
    .option('--concurrency <n>', 'most requests in flight at once', parsePositive, 8)
    .addOption(new Option('--key-type <type>', 'device key type; mixed is a realistic spread').choices(['rsa', 'ec', 'ec-p384', 'mixed']).default('mixed'))
    .option('--days <n>', 'date transactions on one of the last n days, as devices that were offline report older usage (default 1: today)', parsePositive, 1)
    .option('--interval <duration>', "pause between one device's syncs (overrides the DS sync interval; 0: as fast as --concurrency allows)", parseDuration, 0)
    .option('--labels <names>', 'label names the simulated web apps use, comma separated (default: every label DS lists when logged in, else demo-label)', collectList)
    .option('--seed <n>', 'seed of the random choices, for a repeatable run', parseCount)
    .option('--verify', "afterwards, compare every device's counters on DS with what it had acknowledged (needs a login)")
    .option('--no-updates', 'devices check their version only at start and install no update (default: they check before every sync, download the installer DS offers and report the new version)')
    .option('--fail-version <version>', 'a faulty release: devices running it report status ERROR (a share of them with --fail-rate)')
    .option('--fail-rate <percent>', 'the share of devices that report ERROR on --fail-version, e.g. 30% (drawn per device from the seed; default 100%)', parsePercent)
    .option('--error-rate <percent>', 'the share of syncs that report ERROR at random, on any version (default 3%)', parsePercent)
    .option('--log <file>', "write each device's version (and status, OS, labels) per day as JSON lines: what DS's adoption report must show")
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      '\nThe DS comes from --url, DS_URL or the profile (default http://127.0.0.1:3000).\n' +
        'Exit code 1 when no sync succeeded or --verify found a difference; single failures are only counted.',
    )
    .action((options: SimulateOptions) => run(options, ctx));
}

/** `--urls`: http(s) base URLs, comma separated or repeated, each named when it is not one. */
function collectUrls(value: string, previous: string[] | undefined): string[] {
  const urls = collectList(value, undefined).map((text) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new InvalidArgumentError(`"${text}" is not a URL (expected http://host:port or https://host)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`"${text}" is not an http or https URL`);
    return url.toString().replace(/\/+$/, '');
  });
  return [...new Set([...(previous ?? []), ...urls])];
}

/** `30%`, `2.5%` or a bare `30` (also percent) → a share from 0 to 1. */
export function parsePercent(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  const value = match ? Number(match[1]) : Number.NaN;
  if (!(value >= 0 && value <= 100)) throw new InvalidArgumentError('expected a percentage from 0% to 100%, such as 30%');
  return value / 100;
}

function parsePositiveDuration(text: string): number {
  const seconds = parseDuration(text);
  if (seconds < 1) throw new InvalidArgumentError('expected a duration of at least 1s');
  return seconds;
}

export async function run(options: SimulateOptions, ctx: Context): Promise<void> {
  const installationKey = options.installationKey ?? (ctx.env.DS_INSTALLATION_KEY || undefined);
  if (!installationKey) throw missing('--installation-key (or DS_INSTALLATION_KEY)');
  if (options.failRate !== undefined && options.failVersion === undefined) throw new CliError('--fail-rate needs --fail-version: the version whose devices fail');
  const resolved = await ctx.resolved();
  // Fail before the run, not after it, when the comparison cannot be made.
  const admin = options.verify ? await ctx.client() : undefined;
  const labels = await simulationLabels(ctx, options.labels);
  const seed = options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!;

  const abort = new AbortController();
  const removeSignal = ctx.onSignal((signal) => {
    removeSignal();
    ctx.note(`\n${signal}: stopping; devices finish the request they are in`);
    abort.abort();
  });
  const progress = ctx.stderrTerminal ? new ProgressLine(ctx) : undefined;
  let result;
  try {
    result = await runSimulation({
      baseUrl: resolved.url,
      ...(options.urls && options.urls.length > 0 ? { baseUrls: options.urls } : {}),
      installationKey,
      devices: options.devices,
      syncs: options.syncs,
      ...(options.duration !== undefined ? { durationMs: options.duration * 1000 } : {}),
      concurrency: options.concurrency,
      keyType: options.keyType,
      intervalMs: options.interval * 1000,
      spreadDays: options.days,
      labels,
      seed,
      fetch: ctx.fetch,
      clock: ctx.clock,
      signal: abort.signal,
      updates: options.updates !== false,
      ...(options.failVersion !== undefined ? { failVersion: options.failVersion, failRate: options.failRate ?? 1 } : {}),
      ...(options.errorRate !== undefined ? { errorRate: options.errorRate } : {}),
      // A clock that can be moved (tests) makes --interval pass in simulated time.
      ...(ctx.clock.advance ? { advance: (ms: number) => ctx.clock.advance!(ms) } : {}),
      ...(progress ? { onUpdate: (stats: LiveStats) => progress.update(stats) } : {}),
    });
  } finally {
    progress?.end();
    removeSignal();
  }
  const { summary, devices } = result;
  if (options.log) await writeLog(options.log, dailyVersions(devices, ctx.clock.now().toISOString().slice(0, 10)));

  let verification: VerifyResult | undefined;
  if (admin && summary.syncsOk > 0) {
    verification = await verifySimulation(admin, devices, ctx.clock.now().toISOString().slice(0, 7), options.concurrency);
  }

  if (options.json) ctx.stdout.write(json(verification ? { ...summary, verify: verification } : summary));
  else printObject(ctx, {}, summary, summaryFields(summary));

  if (summary.syncsOk === 0) {
    const attempted = summary.syncsFailed > 0 ? `all ${summary.syncsFailed} syncs failed` : 'no device got to sync';
    throw new CliError(`${attempted} (${describeErrors(summary) || 'no errors recorded'})`, undefined, stoppedHint(devices.map((d) => d.stopReason)));
  }
  if (verification) {
    if (verification.ok) {
      const line = `verify: ${verification.devices} devices, ${verification.transactions} transactions, all counted exactly`;
      if (options.json) ctx.note(line);
      else ctx.out(line);
      return;
    }
    const shown = verification.differences.slice(0, 50);
    for (const d of shown) ctx.note(`  ${d.device}  ${d.problem}`);
    if (verification.differences.length > shown.length) ctx.note(`  ... and ${verification.differences.length - shown.length} more (--json lists all)`);
    const devicesWithDifferences = new Set(verification.differences.map((d) => d.device)).size;
    throw new CliError(
      `verify: ${verification.differences.length} difference${verification.differences.length === 1 ? '' : 's'} on ${devicesWithDifferences} of ${verification.devices} devices`,
    );
  }
}

/** `--log`: one JSON object a line, a device's version at the end of each day (dailyVersions). */
async function writeLog(path: string, lines: DailyDeviceVersion[]): Promise<void> {
  try {
    await writeFile(path, lines.map((line) => JSON.stringify(line) + '\n').join(''));
  } catch (error) {
    throw new CliError(`cannot write the log ${path}: ${(error as Error).message}`);
  }
}

/** `--labels`, else every label the logged-in user can see, else demo-label. */
async function simulationLabels(ctx: Context, given: string[] | undefined): Promise<string[]> {
  if (given && given.length > 0) return [...new Set(given)];
  const resolved = await ctx.resolved();
  if (!resolved.token) return [FALLBACK_LABEL];
  const client = await ctx.client();
  try {
    const labels = await client.all((page) => client.listLabels(page));
    if (labels.length > 0) return labels.map((l) => l.name);
    ctx.note(`DS has no labels yet: the simulated web apps use "${FALLBACK_LABEL}"`);
  } catch (error) {
    if (!(error instanceof DsApiError)) throw error;
    ctx.note(`cannot list the labels (${error.message}): the simulated web apps use "${FALLBACK_LABEL}"`);
  }
  return [FALLBACK_LABEL];
}

function describeErrors(summary: SimulationSummary): string {
  return Object.entries(summary.errors)
    .sort(([, a], [, b]) => b - a)
    .map(([code, count]) => `${count} ${code}`)
    .join(', ');
}

function stoppedHint(reasons: (string | null)[]): string | undefined {
  const first = reasons.find((r) => r !== null);
  return first ? `devices stopped: ${first}` : undefined;
}

export function summaryFields(s: SimulationSummary): [string, unknown][] {
  const failedSuffix = (n: number) => (n > 0 ? ` (${n} failed)` : '');
  return [
    ['DS', s.url],
    ['version', s.version],
    ['seed', s.seed],
    ['devices', s.devices],
    ['key types', Object.entries(s.keyTypes).map(([type, n]) => `${type} ${n}`).join(', ')],
    ['registrations', `${s.registrations}${failedSuffix(s.registrationFailures)}`],
    ['version checks', `${s.versionChecks}${failedSuffix(s.versionCheckFailures)}`],
    ['syncs ok', s.syncsOk],
    ['syncs failed', s.syncsFailed],
    ['failures', s.failures > 0 ? `${s.failures}: ${describeErrors(s)}` : 0],
    ['stopped devices', s.stoppedDevices],
    ['elapsed (s)', s.elapsedSeconds],
    ['syncs per second', s.syncsPerSecond],
    ['sync latency p50 (ms)', s.syncLatencyMs.p50],
    ['sync latency p99 (ms)', s.syncLatencyMs.p99],
    ['transactions sent', s.transactionsSent],
    ['transaction entries', s.transactionEntries],
    ...(s.unacknowledgedEntries > 0 ? ([['unacknowledged entries', s.unacknowledgedEntries]] as [string, unknown][]) : []),
    // Refused one by one by DS (a date it no longer counts, the daily limit...): not counted, not acknowledged.
    ...(Object.keys(s.rejectedEntries).length > 0
      ? ([['rejected entries', Object.entries(s.rejectedEntries).map(([code, n]) => `${n} ${code}`).join(', ')]] as [string, unknown][])
      : []),
    ...(s.rateLimited > 0 ? ([['rate limited (waited)', s.rateLimited]] as [string, unknown][]) : []),
    ...(s.updatesInstalled + s.updateFailures > 0 ? ([['updates installed', `${s.updatesInstalled}${failedSuffix(s.updateFailures)}`]] as [string, unknown][]) : []),
    ['versions', Object.entries(s.versions).map(([version, n]) => `${version} ${n}`).join(', ')],
    ...(s.failovers > 0 ? ([['moved to another node', s.failovers]] as [string, unknown][]) : []),
  ];
}

/** One line on the terminal, redrawn in place at most ten times a second (and once more after a burst). */
class ProgressLine {
  private drawnAt: number | undefined;
  private latest: LiveStats | undefined;
  private pending: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: Context) {}

  update(stats: LiveStats): void {
    this.latest = stats;
    const wait = this.drawnAt === undefined ? 0 : 100 - (performance.now() - this.drawnAt);
    if (wait <= 0) this.draw();
    else if (!this.pending) {
      this.pending = setTimeout(() => this.draw(), wait);
      this.pending.unref();
    }
  }

  private draw(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    const s = this.latest;
    if (!s) return;
    this.drawnAt = performance.now();
    const rate = s.elapsedMs > 0 ? (s.syncsOk / (s.elapsedMs / 1000)).toFixed(1) : '0.0';
    this.ctx.stderr.write(`\r\x1b[2Ksimulate: ${s.registered}/${s.devices} devices registered, syncs ${s.syncsOk} ok, ${s.syncsFailed} failed, ${rate} sync/s`);
  }

  /** Clears the line, so what follows starts on a clean one. */
  end(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    if (this.drawnAt !== undefined) this.ctx.stderr.write('\r\x1b[2K');
  }
}
