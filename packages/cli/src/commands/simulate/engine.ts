import { performance } from 'node:perf_hooks';
import {
  DeviceCallError,
  DeviceClient,
  downloadInstaller,
  DsApiError,
  exchangeInstallationKey,
  installationTokenVersion,
  isRateLimited,
  MemoryDeviceStore,
  type DeviceKeyType,
  type DeviceState,
  type SyncOutcome,
  type Transaction,
} from '@ds/shared';
import type { Clock } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';
import { activity, deviceProfile, deviceRandom, type DeviceProfile, type KeyTypeChoice } from './profiles.js';
import { realTimeline, simulatedTimeline, type Timeline } from './timeline.js';

export interface SimulationOptions {
  /** DS base URL. */
  baseUrl: string;
  /**
   * The nodes of a DS that runs on several (the first is `baseUrl`'s place when absent): device
   * `i` starts on node `i mod n` and moves to the next node when its node cannot be reached.
   */
  baseUrls?: string[];
  installationKey: string;
  devices: number;
  /** Syncs per device; ignored when `durationMs` is given. */
  syncs: number;
  /** Sync until this much time has passed since the start instead of a fixed number of times. */
  durationMs?: number;
  /** Most device requests in flight at once. */
  concurrency: number;
  keyType: KeyTypeChoice;
  /** Pause between two syncs of one device (0: as fast as the concurrency allows). */
  intervalMs: number;
  /**
   * Transactions are dated on one of the last `spreadDays` days (1: today), as a device that was
   * offline reports older usage; DS keeps dates of closed months in their archived rows.
   */
  spreadDays?: number;
  /** Label names the simulated web apps use. */
  labels: string[];
  seed: number;
  fetch: typeof fetch;
  /** "Now" for the device messages and transaction dates (DS checks both against its own clock). */
  clock: Clock;
  /** Monotonic milliseconds for latencies, rates and `durationMs` (default performance.now). */
  elapsed?: () => number;
  /** Ends the run early (Ctrl-C): devices finish the request they are in and stop. */
  signal?: AbortSignal;
  /**
   * Moves `clock` forward (tests: a FakeClock shared with an in-process DS, and DS's scheduled
   * jobs run after it moved). When given, pauses (`intervalMs`, a 429's Retry-After) pass in
   * simulated time instead of being waited for (timeline.ts), and `durationMs` is measured on `clock`.
   */
  advance?: (ms: number) => void | Promise<void>;
  /**
   * Devices check their version before every sync (as T1C does at startup and at each sync), not
   * only at start, and install an update DS offers (RECOMMENDED or MANDATORY): they download its
   * installer from the answer's downloadUri, check its size and SHA-256 against what DS announced,
   * and report the new version from their next sync on. Default true; false is the load profile of
   * one version check at start and no updates.
   */
  updates?: boolean;
  /**
   * A faulty release: of the devices running `failVersion`, the share `failRate` (0 to 1, drawn
   * once per device from the seed, so the same devices fail in every run with that seed) report
   * status ERROR at every sync.
   */
  failVersion?: string;
  failRate?: number;
  /** The share (0 to 1) of syncs that report status ERROR at random, whatever the version (default 0.03). */
  errorRate?: number;
  /** Called after every device request with the running totals. */
  onUpdate?: (stats: LiveStats) => void;
}

/** Running totals, for a progress line. */
export interface LiveStats {
  devices: number;
  registered: number;
  syncsOk: number;
  syncsFailed: number;
  /** Milliseconds since the start. */
  elapsedMs: number;
}

/** One report a simulated device made to DS: its registration (status null) or a sync DS answered. */
export interface DeviceReport {
  at: string;
  version: string;
  status: string | null;
  /** The labels (web apps) the sync named; empty for the registration. */
  labels: string[];
}

/** What one simulated device did, and exactly which transactions DS acknowledged to it. */
export interface SimulatedDevice {
  index: number;
  id: string | null;
  /** The version it runs at the end (the installation key's version unless it installed an update). */
  version: string;
  /** Whether this device reports ERROR when it runs the faulty version (`failVersion`). */
  failsOnFailVersion: boolean;
  /** Updates it installed, in order. */
  updates: { at: string; from: string; to: string }[];
  /** What DS was told, in order: the registration, then every sync DS answered. */
  history: DeviceReport[];
  keyType: DeviceKeyType;
  os: DeviceProfile['os'];
  syncsOk: number;
  syncsFailed: number;
  /** Counters DS acknowledged, by `month \t label \t module \t useCase`. */
  acknowledged: Map<string, number>;
  acknowledgedEntries: number;
  /** Entries sent whose answer never came (the last syncs failed): DS may or may not have counted them. */
  unacknowledgedEntries: number;
  /** Entries DS refused (SyncResponse `rejected`), by code: answered, not counted, dropped by the device. */
  rejected: Map<string, number>;
  stopReason: string | null;
}

export interface SimulationSummary {
  url: string;
  version: string;
  seed: number;
  devices: number;
  keyTypes: Record<string, number>;
  registrations: number;
  registrationFailures: number;
  versionChecks: number;
  versionCheckFailures: number;
  syncsOk: number;
  syncsFailed: number;
  /** Failed registrations, version checks and syncs. */
  failures: number;
  /** Failures by DS error code (NETWORK_ERROR when DS could not be reached). */
  errors: Record<string, number>;
  /** Devices that stopped themselves (failure limit, version not allowed or mandatory update, deleted). */
  stoppedDevices: number;
  elapsedSeconds: number;
  /** Successful syncs per second, from the first sync sent to the last answer. */
  syncsPerSecond: number;
  syncLatencyMs: { p50: number | null; p99: number | null };
  /** Sum of the counters of the transaction entries DS acknowledged. */
  transactionsSent: number;
  /** Transaction entries DS acknowledged. */
  transactionEntries: number;
  unacknowledgedEntries: number;
  /** Entries DS refused one by one (not counted, not acknowledged), by rejection code. */
  rejectedEntries: Record<string, number>;
  /** 429 answers (DS asked a device to wait; it waited for Retry-After and went on): not failures. */
  rateLimited: number;
  /** Updates installed (installer downloaded and checked, new version reported from then on). */
  updatesInstalled: number;
  /** Offered updates whose installer could not be downloaded or did not match what DS announced. */
  updateFailures: number;
  /** Registered devices by the version they run at the end. */
  versions: Record<string, number>;
  /** Requests a device sent again to another node because its node could not be reached (with --urls). */
  failovers: number;
  /** Every acknowledged transaction summed by month, label, module and use case: what the billing report must show. */
  acknowledged: { month: string; label: string; module: string; useCase: string; transactions: number }[];
}

export interface SimulationResult {
  summary: SimulationSummary;
  devices: SimulatedDevice[];
}

/** Limits how many tasks run at once; waiting tasks start in arrival order. */
export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/**
 * A MemoryDeviceStore that remembers the batch of transactions a device is sending: the device
 * client saves it (as `pending`) before it sends it, and keeps resending it under the same jti
 * until DS answers, so the batch an answer acknowledges is the last one saved.
 */
class AcknowledgingStore extends MemoryDeviceStore {
  batch: Transaction[] | null = null;
  override async save(state: DeviceState): Promise<void> {
    if (state.pending) this.batch = state.pending.transactions.map((t) => ({ ...t }));
    await super.save(state);
  }
}

/** The T1C version an installation key belongs to: the subject of the registration token DS gives for it. */
export async function versionOfKey(baseUrl: string, installationKey: string, fetchImpl: typeof fetch): Promise<string> {
  let token: string;
  try {
    token = await exchangeInstallationKey({ baseUrl, installationKey, fetch: fetchImpl });
  } catch (error) {
    // Not reaching DS is said as it is; an answer other than a token means this key cannot work.
    if (!(error instanceof DeviceCallError) || error.code === 'NETWORK_ERROR') throw error;
    throw new CliError(`the installation key was refused by DS at ${baseUrl}: ${error.message}`, undefined, 'pass the installation API key of a version (`ds version rotate-key <id>` issues a new one)');
  }
  const version = installationTokenVersion(token);
  if (version === null) throw new CliError(`DS at ${baseUrl} answered an installation token without a version`);
  return version;
}

const monthOf = (day: string) => day.slice(0, 7);

/**
 * The fetch of a device that knows several DS nodes (`urls`, the first being the base URL its
 * client was given): every request goes to its current node; when that node cannot be reached
 * (refused, reset, closed before answering), the device moves to the next node and sends the same
 * request there, each node once at most. Resending is safe: a sync is sent again under its jti, so
 * a node that had counted it before it failed has stored its answer, and the next node answers
 * that instead of counting again (API.md, "Messages"). A request whose own timeout ran out is not
 * resent (its node may still be working on it); the device moves on for its next request.
 */
export function failoverFetch(urls: string[], first: number, fetchImpl: typeof fetch, onFailover?: () => void): typeof fetch {
  const bases = urls.map((u) => u.replace(/\/+$/, ''));
  let current = ((first % bases.length) + bases.length) % bases.length;
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    const base = bases[0]!;
    if (bases.length === 1 || !url.startsWith(base)) return fetchImpl(input, init);
    const path = url.slice(base.length);
    let lastError: unknown;
    for (let tried = 0; tried < bases.length; tried++) {
      try {
        return await fetchImpl(`${bases[current]}${path}`, init);
      } catch (error) {
        lastError = error;
        current = (current + 1) % bases.length;
        onFailover?.();
        if (init?.signal?.aborted) break;
      }
    }
    throw lastError;
  }) as typeof fetch;
}

/** `month \t label \t module \t useCase` → its parts. */
export function splitCounterKey(key: string): { month: string; label: string; module: string; useCase: string } {
  const [month = '', label = '', module = '', useCase = ''] = key.split('\t');
  return { month, label, module, useCase };
}

function errorCode(error: unknown): string {
  if (error instanceof DeviceCallError || error instanceof DsApiError) return error.code;
  return error instanceof Error && error.name === 'ZodError' ? 'BAD_RESPONSE' : 'CLIENT_ERROR';
}

/** Nearest-rank percentile, rounded to 0.1 ms. */
export function percentile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const value = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return Math.round(value * 10) / 10;
}

/**
 * Plays `devices` T1C installations against a DS: each makes a key pair, registers with the
 * installation key, checks its version, then syncs repeatedly, recording realistic transactions
 * and browser use before each sync. Failures are counted, not thrown; only a refused installation
 * key (nothing could work) throws.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const elapsed = options.elapsed ?? (() => performance.now());
  const start = elapsed();
  const nodes = options.baseUrls && options.baseUrls.length > 0 ? options.baseUrls : [options.baseUrl];
  const baseUrl = nodes[0]!;
  let failovers = 0;
  const nodeFetch = (first: number) => failoverFetch(nodes, first, options.fetch, () => failovers++);
  const version = await versionOfKey(baseUrl, options.installationKey, nodeFetch(0));
  const requests = new Limiter(options.concurrency);
  // Key generation is CPU work, not a request; bounded separately so a large run does not make
  // every key pair at once.
  const creation = new Limiter(Math.max(4, options.concurrency));
  const timeline: Timeline = options.advance
    ? simulatedTimeline(options.devices, options.clock, options.advance, options.signal)
    : realTimeline(elapsed, options.signal);
  const deadline = options.durationMs === undefined ? undefined : timeline.now() + options.durationMs;
  const aborted = () => options.signal?.aborted === true || timeline.failure !== undefined;
  const updates = options.updates ?? true;

  const totals = {
    registrations: 0,
    registrationFailures: 0,
    versionChecks: 0,
    versionCheckFailures: 0,
    syncsOk: 0,
    syncsFailed: 0,
    rateLimited: 0,
    updatesInstalled: 0,
    updateFailures: 0,
  };
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  let firstSync: number | undefined;
  let lastSync: number | undefined;
  const update = () => options.onUpdate?.({ devices: options.devices, registered: totals.registrations, syncsOk: totals.syncsOk, syncsFailed: totals.syncsFailed, elapsedMs: elapsed() - start });
  const failed = (error: unknown) => {
    const code = errorCode(error);
    errors[code] = (errors[code] ?? 0) + 1;
  };

  const runDevice = async (index: number): Promise<SimulatedDevice> => {
    try {
      return await playDevice(index);
    } finally {
      timeline.leave();
    }
  };

  const playDevice = async (index: number): Promise<SimulatedDevice> => {
    const random = deviceRandom(options.seed, index);
    const profile = deviceProfile(random, options.keyType, options.labels);
    // A stream of its own, so --fail-rate picks the same devices whatever else the run draws.
    const failsOnFailVersion = options.failVersion !== undefined && deviceRandom(options.seed ^ 0x0fa11ed, index)() < (options.failRate ?? 0);
    const deviceFetch = nodeFetch(index);
    const record: SimulatedDevice = {
      index,
      id: null,
      version,
      failsOnFailVersion,
      updates: [],
      history: [],
      keyType: profile.keyType,
      os: profile.os,
      syncsOk: 0,
      syncsFailed: 0,
      acknowledged: new Map(),
      acknowledgedEntries: 0,
      unacknowledgedEntries: 0,
      rejected: new Map(),
      stopReason: null,
    };
    if (aborted()) return record;
    const store = new AcknowledgingStore();
    let client: DeviceClient;
    try {
      client = await creation.run(() =>
      DeviceClient.create({
        baseUrl,
        installationKey: options.installationKey,
        version,
        os: profile.os,
        hostname: profile.hostname,
        keyType: profile.keyType,
        store,
        clock: options.clock,
        fetch: deviceFetch,
        ...(options.intervalMs > 0 ? { syncIntervalSeconds: options.intervalMs / 1000 } : {}),
        onStop: (reason) => {
          record.stopReason = reason;
        },
        ...(updates
          ? {
              installUpdate: async (offer) => {
                try {
                  // DS's download URL, checked against the size and SHA-256 DS announces for it.
                  await downloadInstaller(offer.downloadUri, { fetch: deviceFetch });
                } catch (error) {
                  totals.updateFailures++;
                  failed(error);
                  return false;
                }
                totals.updatesInstalled++;
                record.updates.push({ at: options.clock.now().toISOString(), from: record.version, to: offer.version });
                record.version = offer.version;
                return true;
              },
            }
          : {}),
      }),
      );
    } catch (error) {
      totals.registrationFailures++;
      failed(error);
      return record;
    }
    if (aborted()) return record;

    try {
      record.id = await requests.run(() => client.register());
      totals.registrations++;
      record.history.push({ at: options.clock.now().toISOString(), version: client.version, status: null, labels: [] });
    } catch (error) {
      totals.registrationFailures++;
      failed(error);
      return record;
    } finally {
      update();
    }

    const checkVersion = async () => {
      try {
        await requests.run(() => client.versionCheck());
        totals.versionChecks++;
      } catch (error) {
        // DS asked the device to wait (429): not a failure; its next request waits for Retry-After.
        if (isRateLimited(error)) totals.rateLimited++;
        else {
          // A T1C that cannot check its version still runs and syncs.
          totals.versionCheckFailures++;
          failed(error);
        }
      } finally {
        update();
      }
    };
    await checkVersion();

    for (let round = 0; ; round++) {
      if (aborted() || client.isStopped) break;
      if (deadline === undefined ? round >= options.syncs : timeline.now() >= deadline) break;
      if (round > 0 && options.intervalMs > 0) {
        const wait = deadline === undefined ? options.intervalMs : Math.min(options.intervalMs, deadline - timeline.now());
        await timeline.pause(wait);
        if (aborted() || (deadline !== undefined && timeline.now() >= deadline)) break;
      }
      // T1C checks its version at each sync too (the check at start covers the first one).
      if (round > 0 && updates) {
        await checkVersion();
        if (aborted() || client.isStopped) break;
      }
      const now = options.clock.now();
      const usage = activity(random, profile, options.errorRate);
      for (const t of usage.transactions) {
        const daysBack = (options.spreadDays ?? 1) > 1 ? Math.floor(random() * options.spreadDays!) : 0;
        client.recordTransaction({ label: t.label, module: t.module, useCase: t.useCase, count: t.count, date: new Date(now.getTime() - daysBack * 86_400_000) });
        client.recordUsage(t.label, t.userAgent);
      }
      const status = failsOnFailVersion && client.version === options.failVersion ? 'ERROR' : usage.status;
      client.setStatus(status);

      // The device client counts failures and stops itself as a T1C does (API.md section 3).
      const outcome = await requests.run(async (): Promise<SyncOutcome & { ms: number }> => {
        const began = elapsed();
        firstSync ??= began;
        const result = await client.syncOnce();
        const ended = elapsed();
        lastSync = Math.max(lastSync ?? ended, ended);
        return { ...result, ms: ended - began };
      });

      if (outcome.ok) {
        record.syncsOk++;
        totals.syncsOk++;
        record.history.push({ at: now.toISOString(), version: client.version, status, labels: [...new Set(usage.transactions.map((t) => t.label))].sort() });
        latencies.push(outcome.ms);
        const batch = store.batch ?? [];
        store.batch = null;
        const accepted = outcome.response.accepted.transactions;
        // Entries DS refused one by one are answered but not counted: they are not acknowledged.
        const refused = new Map((outcome.response.rejected ?? []).map((r) => [r.index, r.code]));
        if (accepted === batch.length - refused.size) {
          batch.forEach((t, index) => {
            const code = refused.get(index);
            if (code !== undefined) {
              record.rejected.set(code, (record.rejected.get(code) ?? 0) + 1);
              return;
            }
            const key = [monthOf(t.txDate), t.label, t.module, t.useCase].join('\t');
            record.acknowledged.set(key, (record.acknowledged.get(key) ?? 0) + t.counter);
          });
          record.acknowledgedEntries += accepted;
        } else {
          // DS counted only some entries and does not say which: nothing of the batch can be
          // claimed exactly, so none of it is; verify will show what DS has.
          errors.PARTIALLY_ACCEPTED = (errors.PARTIALLY_ACCEPTED ?? 0) + 1;
        }
      } else if (isRateLimited(outcome.error)) {
        // DS asked the device to wait (429): not a failure. The device sends nothing before its
        // Retry-After has passed; this round is tried again then (or the run ends first).
        totals.rateLimited++;
        round--;
        const wait = deadline === undefined ? client.retryDelayMs : Math.min(client.retryDelayMs, deadline - timeline.now());
        await timeline.pause(wait);
      } else {
        record.syncsFailed++;
        totals.syncsFailed++;
        failed(outcome.error);
      }
      update();
    }
    record.unacknowledgedEntries = client.snapshot().pending?.transactions.length ?? 0;
    return record;
  };

  const devices = await Promise.all(Array.from({ length: options.devices }, (_, index) => runDevice(index)));
  if (timeline.failure !== undefined) throw timeline.failure;
  const end = elapsed();
  latencies.sort((a, b) => a - b);
  const keyTypes: Record<string, number> = {};
  for (const d of devices) keyTypes[d.keyType] = (keyTypes[d.keyType] ?? 0) + 1;
  const syncWindow = firstSync !== undefined && lastSync !== undefined ? (lastSync - firstSync) / 1000 : 0;
  const summary: SimulationSummary = {
    url: nodes.join(','),
    version,
    seed: options.seed,
    devices: options.devices,
    keyTypes,
    ...totals,
    failovers,
    failures: totals.registrationFailures + totals.versionCheckFailures + totals.syncsFailed,
    errors,
    stoppedDevices: devices.filter((d) => d.stopReason !== null).length,
    elapsedSeconds: Math.round((end - start) / 10) / 100,
    syncsPerSecond: syncWindow > 0 ? Math.round((totals.syncsOk / syncWindow) * 10) / 10 : 0,
    syncLatencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) },
    transactionsSent: devices.reduce((sum, d) => sum + [...d.acknowledged.values()].reduce((a, b) => a + b, 0), 0),
    transactionEntries: devices.reduce((sum, d) => sum + d.acknowledgedEntries, 0),
    unacknowledgedEntries: devices.reduce((sum, d) => sum + d.unacknowledgedEntries, 0),
    rejectedEntries: rejectionTotals(devices),
    versions: versionTotals(devices),
    acknowledged: ledger(devices),
  };
  return { summary, devices };
}

function versionTotals(devices: SimulatedDevice[]): Record<string, number> {
  const all: Record<string, number> = {};
  for (const d of devices) if (d.id !== null) all[d.version] = (all[d.version] ?? 0) + 1;
  return all;
}

/** One line of `ds simulate --log`: what DS knew of one device at the end of one day. */
export interface DailyDeviceVersion {
  day: string;
  device: string;
  index: number;
  /** The version it last reported by the end of that day. */
  version: string;
  /** The status it last reported by then (null: registered, not synced yet). */
  status: string | null;
  os: string;
  /** Every label it named in a sync up to then, sorted. */
  labels: string[];
}

const dayOf = (at: string) => at.slice(0, 10);

/**
 * Each registered device's version per day, from the day it registered to `lastDay` (the run's
 * last day): what DS's adoption snapshot of that day must count. Ordered by day, then device index.
 */
export function dailyVersions(devices: SimulatedDevice[], lastDay: string): DailyDeviceVersion[] {
  const lines: DailyDeviceVersion[] = [];
  for (const d of devices) {
    if (d.id === null || d.history.length === 0) continue;
    const labels = new Set<string>();
    let at = 0;
    let last: DeviceReport | undefined;
    for (let day = dayOf(d.history[0]!.at); day <= lastDay; day = nextDay(day)) {
      while (at < d.history.length && dayOf(d.history[at]!.at) <= day) {
        last = d.history[at++]!;
        for (const l of last.labels) labels.add(l);
      }
      lines.push({ day, device: d.id, index: d.index, version: last!.version, status: last!.status, os: d.os.name, labels: [...labels].sort() });
    }
  }
  return lines.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.index - b.index));
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

function rejectionTotals(devices: SimulatedDevice[]): Record<string, number> {
  const all: Record<string, number> = {};
  for (const d of devices) for (const [code, n] of d.rejected) all[code] = (all[code] ?? 0) + n;
  return all;
}

function ledger(devices: SimulatedDevice[]): SimulationSummary['acknowledged'] {
  const all = new Map<string, number>();
  for (const d of devices) for (const [key, n] of d.acknowledged) all.set(key, (all.get(key) ?? 0) + n);
  return [...all]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, transactions]) => ({ ...splitCounterKey(key), transactions }));
}
