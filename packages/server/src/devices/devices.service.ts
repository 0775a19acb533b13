import {
  API,
  MESSAGE_CLOCK_SKEW_SECONDS,
  SYNC_LIMITS,
  hasControlCharacters,
  type RegistrationRequest,
  type RegistrationResponse,
  type SyncRejection,
  type SyncRejectionCode,
  type SyncRequest,
  type SyncResponse,
  type Transaction,
} from '@ds/shared';
import type { Services } from '../context.js';
import type { SyncWrite } from '../db/sync-store.js';
import { iso } from '../lib/clock.js';
import { addMonths, dayOf, firstDay, isRealDay, monthOf, monthOfDay } from '../lib/months.js';
import { AppError, invalid } from '../lib/errors.js';
import { checkDeviceCertificate } from './certificate.js';
import { encodeKeyAlg } from './device-keys.js';
import { recordPendingDeviceEvents } from './events.js';
import * as repo from './devices.repository.js';
import { deviceMessageKind, type DeferredMessage, type DeviceMessageContext } from './message-pipeline.js';
import { USER_AGENTS_PER_DEVICE, parseUserAgent } from './user-agents.js';

/**
 * Registers a device, or answers the id it already has for this certificate (200 then). The
 * version is the installation token's: a key shipped with one version's installer registers
 * devices of that version only.
 */
export async function registerDevice(
  services: Services,
  body: RegistrationRequest,
  tokenVersion: string,
): Promise<{ created: boolean; data: RegistrationResponse }> {
  if (body.version !== tokenVersion) {
    throw invalid('version', `${body.version} is not the version of this installation token (${tokenVersion}); register with the installation key of ${body.version}`);
  }
  const now = services.clock.now();
  const cert = checkDeviceCertificate(body.certificate, now);
  const configs = await services.configCache.get(services.db, body.version);
  const answer = (id: string): RegistrationResponse => ({
    id,
    jwks: services.keys.jwks(),
    syncIntervalSeconds: configs.contextConfig.syncIntervalSeconds,
    syncFailureLimit: configs.contextConfig.syncFailureLimit,
  });
  const existing = await repo.findDeviceByFingerprint(services.db, cert.fingerprint);
  if (existing) return { created: false, data: answer(existing.id) };
  const id = crypto.randomUUID();
  try {
    await repo.insertDevice(services.db, {
      id,
      certFingerprint: cert.fingerprint,
      certificate: body.certificate.trim(),
      publicJwk: JSON.stringify(cert.publicJwk),
      keyAlg: encodeKeyAlg(cert.signingAlgorithms, cert.encryptionAlgorithm),
      version: body.version,
      osName: body.os.name,
      osVersion: body.os.version,
      osArch: body.os.architecture,
      hostname: body.hostname ?? null,
      status: 'ACTIVE',
      registeredAt: iso(now),
      lastSyncAt: null,
      updatedAt: iso(now),
      jwksVersion: services.keys.jwksVersion(),
    });
  } catch (error) {
    // A concurrent registration of the same certificate won the race: answer its id.
    const winner = await repo.findDeviceByFingerprint(services.db, cert.fingerprint);
    if (winner) return { created: false, data: answer(winner.id) };
    throw error;
  }
  return { created: true, data: answer(id) };
}

/** Sums transactions per key so one sync writes each counter row once. */
function aggregate<K extends string>(items: { key: K; counter: number }[]): Map<K, number> {
  const out = new Map<K, number>();
  for (const { key, counter } of items) out.set(key, (out.get(key) ?? 0) + counter);
  return out;
}

/** Sums `label \0 module \0 useCase \0 period` counters per `label \0 period` (the part at `periodAt`). */
function totalsBy(counters: Map<string, number>, periodAt: number): Map<string, number> {
  return aggregate(
    [...counters].map(([key, counter]) => {
      const parts = key.split('\u0000');
      return { key: `${parts[0]}\u0000${parts[periodAt]}`, counter };
    }),
  );
}

/**
 * The days DS counts transactions for, as of `now`: from the first day of the oldest closed month
 * it still accepts (`lateMonths` before the current one; months before may have been invoiced)
 * to today (UTC). A device clock ahead by up to the protocol's tolerated skew may date a
 * transaction tomorrow just before midnight, so "today" is taken that much later.
 */
export function acceptedDays(now: Date, lateMonths: number): { from: string; to: string } {
  return {
    from: firstDay(addMonths(monthOf(now), -lateMonths)),
    to: dayOf(new Date(now.getTime() + MESSAGE_CLOCK_SKEW_SECONDS * 1000)),
  };
}

/** Why one entry can never be counted, whatever the device counted before; undefined when it can be. */
export function entryRejection(t: Transaction, days: { from: string; to: string }): SyncRejectionCode | undefined {
  if (hasControlCharacters(t.label) || hasControlCharacters(t.module) || hasControlCharacters(t.useCase)) return 'CONTROL_CHARACTERS';
  if (!isRealDay(t.txDate)) return 'NOT_A_DATE';
  if (t.txDate > days.to) return 'DATE_IN_FUTURE';
  if (t.txDate < days.from) return 'DATE_TOO_OLD';
  return undefined;
}

/**
 * A sync: the answer (configs the device lacks, the JWKS when it changed, how many transactions
 * were counted and which were refused) and its writes, which the pipeline applies with the
 * message's record in one transaction: the device's state, labels and User-Agents, and the
 * transactions added to the per-device and per-label counters.
 *
 * Entries are refused one by one (API.md section 3, `rejected`), the rest of the sync counts: a
 * date that is not a day, in the future or before the months DS still counts, a name with
 * control characters; then, against what the device counted before (read in the record's
 * transaction), entries that would take its total of their day over the daily limit. Only
 * counted entries are in `accepted.transactions`.
 */
async function planSync({ services, device, now }: DeviceMessageContext, body: SyncRequest): Promise<DeferredMessage<SyncResponse>> {
  if (body.transactions.length > SYNC_LIMITS.transactions) {
    throw new AppError('TOO_MANY_TRANSACTIONS', `at most ${SYNC_LIMITS.transactions} transactions per sync`);
  }
  const nowIso = iso(now);
  const days = acceptedDays(now, services.config.lateTransactionMonths);
  const refused: SyncRejection[] = [];
  const eligible: { index: number; t: Transaction }[] = [];
  body.transactions.forEach((t, index) => {
    const code = entryRejection(t, days);
    if (code) refused.push({ index, code });
    else eligible.push({ index, t });
  });

  const configs = await services.configCache.get(services.db, body.version);
  const jwksVersion = services.keys.jwksVersion();
  const response: Omit<SyncResponse, 'accepted'> = {
    digests: { contextConfig: configs.contextConfigDigest, sslKeystoreConfig: configs.sslKeystoreConfigDigest },
    ...(body.digests.contextConfig !== configs.contextConfigDigest ? { contextConfig: configs.contextConfig } : {}),
    ...(body.digests.sslKeystoreConfig !== configs.sslKeystoreConfigDigest ? { sslKeystoreConfig: configs.sslKeystoreConfig } : {}),
    syncIntervalSeconds: configs.contextConfig.syncIntervalSeconds,
    syncFailureLimit: configs.contextConfig.syncFailureLimit,
    ...(device.jwksVersion !== jwksVersion ? { jwks: services.keys.jwks() } : {}),
  };
  const state = {
    // Names with control characters are not stored (they are refused in transactions too).
    labels: [...new Set(body.labels)].filter((label) => !hasControlCharacters(label)),
    userAgents: [...new Map(body.userAgents.filter((ua) => !hasControlCharacters(ua)).map((ua) => parseUserAgent(ua)).map((p) => [p.uaHash, p])).values()],
    userAgentLimit: USER_AGENTS_PER_DEVICE,
  };
  const limit = services.config.deviceDailyTransactionLimit;

  return {
    device: { status: body.status, version: body.version, jwksVersion },
    usageDays: [...new Set(eligible.map((e) => e.t.txDate))],
    complete(usage) {
      const totals = new Map(usage);
      const rejected = [...refused];
      const counted: Transaction[] = [];
      for (const { index, t } of eligible) {
        const total = (totals.get(t.txDate) ?? 0) + t.counter;
        if (total > limit) {
          rejected.push({ index, code: 'DAILY_LIMIT' });
          continue;
        }
        totals.set(t.txDate, total);
        counted.push(t);
      }
      rejected.sort((a, b) => a.index - b.index);
      const answer: SyncResponse = { ...response, accepted: { transactions: counted.length }, ...(rejected.length > 0 ? { rejected } : {}) };
      const overLimit = rejected.filter((r) => r.code === 'DAILY_LIMIT').length;
      const dailyLimitReached = overLimit > 0;
      // device.rejected once a day per device: when this sync flags a device not flagged today.
      const today = nowIso.slice(0, 10);
      const event =
        dailyLimitReached && device.dailyLimitReachedAt?.slice(0, 10) !== today
          ? { action: 'device.rejected', day: today, payload: JSON.stringify({ reason: 'DAILY_LIMIT', rejectedEntries: overLimit, limit, day: today, version: body.version }) }
          : undefined;
      return { answer, writes: { sync: { ...state, ...counterWrites(counted, nowIso), dailyLimitReached }, ...(event ? { event } : {}) } };
    },
  };
}

/** The counter rows of the counted transactions (the keys join their parts with NUL, which no counted name contains). */
function counterWrites(transactions: Transaction[], nowIso: string): Omit<SyncWrite, SyncState | 'dailyLimitReached'> {
  const currentMonth = monthOfDay(nowIso.slice(0, 10));
  // A month that has ended is kept per month (API.md section 4): transactions dated in one go to
  // its archived row, whether or not its rollover has run yet, so a late sync is never lost and
  // never lands in daily rows the rollover has already flattened.
  const daily = aggregate(
    transactions.filter((t) => monthOfDay(t.txDate) >= currentMonth).map((t) => ({ key: [t.label, t.module, t.useCase, t.txDate].join('\u0000'), counter: t.counter })),
  );
  const closed = aggregate(
    transactions
      .filter((t) => monthOfDay(t.txDate) < currentMonth)
      .map((t) => ({ key: [t.label, t.module, t.useCase, monthOfDay(t.txDate)].join('\u0000'), counter: t.counter })),
  );
  const perDevice = aggregate(
    transactions.filter((t) => monthOfDay(t.txDate) === currentMonth).map((t) => ({ key: [t.label, t.module, t.useCase].join('\u0000'), counter: t.counter })),
  );
  return {
    deviceCounters: inKeyOrder(perDevice).map(([key, counter]) => {
      const [label = '', module = '', useCase = ''] = key.split('\u0000');
      return { label, module, useCase, month: currentMonth, counter };
    }),
    dailyCounters: inKeyOrder(daily).map(([key, counter]) => {
      const [label = '', module = '', useCase = '', day = ''] = key.split('\u0000');
      return { label, module, useCase, day, counter };
    }),
    monthlyCounters: inKeyOrder(closed).map(([key, counter]) => {
      const [label = '', module = '', useCase = '', month = ''] = key.split('\u0000');
      return { label, module, useCase, month, counter };
    }),
    dailyTotals: inKeyOrder(totalsBy(daily, 3)).map(([key, counter]) => {
      const [label = '', day = ''] = key.split('\u0000');
      return { label, day, counter };
    }),
    monthlyTotals: inKeyOrder(totalsBy(closed, 3)).map(([key, counter]) => {
      const [label = '', month = ''] = key.split('\u0000');
      return { label, month, counter };
    }),
    deviceDailyTotals: inKeyOrder(aggregate(transactions.map((t) => ({ key: t.txDate, counter: t.counter })))).map(([day, counter]) => ({ day, counter })),
  };
}

/**
 * The rows of a map in the order of their keys. Every sync upserts its counter rows in this one
 * order: two syncs that share rows then lock them in the same order, where the order of the
 * devices' entries let PostgreSQL find a deadlock between them and fail one (seen with 24 devices
 * on three nodes in e2e/multi-node.test.ts).
 */
function inKeyOrder<V>(map: Map<string, V>): [string, V][] {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

type SyncState = 'labels' | 'userAgents' | 'userAgentLimit';

/** `POST /devices/{id}/sync`. */
export const syncMessage = deviceMessageKind({
  kind: 'sync',
  schema: API.sync.body,
  answerSchema: API.sync.response,
  handle: planSync,
  count: (metrics, answer) => metrics.syncTransactions(answer.accepted.transactions, answer.rejected),
  recorded: deviceRejected,
});

/**
 * `device.rejected` (audit log and webhooks): the sync wrote it to `pending_device_events` in its
 * own transaction; it is recorded right after (or by the scheduler, when DS stopped in between).
 */
async function deviceRejected({ services, device, now }: DeviceMessageContext, answer: SyncResponse): Promise<void> {
  // Only the first sync of the day over the limit writes one (planSync: the device was not flagged
  // today yet): no query for any other sync, the device's later over-limit syncs included.
  if (!answer.rejected?.some((r) => r.code === 'DAILY_LIMIT')) return;
  if (device.dailyLimitReachedAt?.slice(0, 10) === iso(now).slice(0, 10)) return;
  try {
    await recordPendingDeviceEvents(services, device.id);
  } catch (error) {
    // The sync itself is recorded and answered; the event stays pending for the scheduler.
    services.logger.error('recording device.rejected failed', { device: device.id, error: (error as Error).message });
  }
}

/** Drops processed messages past their retention (they only serve retries). */
export async function pruneDeviceMessages(services: Services): Promise<number> {
  const before = iso(new Date(services.clock.now().getTime() - services.config.messageRetentionSeconds * 1000));
  return repo.pruneMessages(services.db, before);
}
