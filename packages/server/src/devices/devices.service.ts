import {
  SYNC_LIMITS,
  API,
  type RegistrationRequest,
  type RegistrationResponse,
  type SyncRequest,
  type SyncResponse,
} from '@ds/shared';
import type { Services } from '../context.js';
import type { SyncWrite } from '../db/sync-store.js';
import { iso } from '../lib/clock.js';
import { monthOfDay } from '../lib/months.js';
import { AppError, invalid } from '../lib/errors.js';
import { checkDeviceCertificate } from './certificate.js';
import { encodeKeyAlg } from './device-keys.js';
import * as repo from './devices.repository.js';
import { deviceMessageKind, type DeviceMessageContext, type HandledMessage } from './message-pipeline.js';
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

/** Refuses transactions dated after tomorrow (UTC): a device clock that far ahead is wrong. */
function checkTransactionDates(body: SyncRequest, now: Date): void {
  const latest = new Date(now.getTime() + 86_400_000).toISOString().slice(0, 10);
  body.transactions.forEach((t, i) => {
    if (t.txDate > latest) {
      throw new AppError('VALIDATION_ERROR', `message.transactions[${i}].txDate: ${t.txDate} is in the future`, {
        issues: [{ path: `transactions[${i}].txDate`, message: 'in the future' }],
      });
    }
    if (Number.isNaN(Date.parse(`${t.txDate}T00:00:00Z`))) {
      throw new AppError('VALIDATION_ERROR', `message.transactions[${i}].txDate: ${t.txDate} is not a date`);
    }
  });
}

/**
 * A sync: the answer (configs the device lacks, the JWKS when it changed, how many transactions
 * were counted) and its writes, which the pipeline applies with the message's record in one
 * transaction: the device's state, labels and User-Agents, and the transactions added to the
 * per-device and per-label counters.
 */
async function planSync({ services, device, now }: DeviceMessageContext, body: SyncRequest): Promise<HandledMessage<SyncResponse>> {
  if (body.transactions.length > SYNC_LIMITS.transactions) {
    throw new AppError('TOO_MANY_TRANSACTIONS', `at most ${SYNC_LIMITS.transactions} transactions per sync`);
  }
  const nowIso = iso(now);
  checkTransactionDates(body, now);

  const configs = await services.configCache.get(services.db, body.version);
  const jwksVersion = services.keys.jwksVersion();
  const response: SyncResponse = {
    digests: { contextConfig: configs.contextConfigDigest, sslKeystoreConfig: configs.sslKeystoreConfigDigest },
    ...(body.digests.contextConfig !== configs.contextConfigDigest ? { contextConfig: configs.contextConfig } : {}),
    ...(body.digests.sslKeystoreConfig !== configs.sslKeystoreConfigDigest ? { sslKeystoreConfig: configs.sslKeystoreConfig } : {}),
    syncIntervalSeconds: configs.contextConfig.syncIntervalSeconds,
    syncFailureLimit: configs.contextConfig.syncFailureLimit,
    ...(device.jwksVersion !== jwksVersion ? { jwks: services.keys.jwks() } : {}),
    accepted: { transactions: body.transactions.length },
  };

  const currentMonth = monthOfDay(nowIso.slice(0, 10));
  // A month that has ended is kept per month (API.md section 4): transactions dated in one go to
  // its archived row, whether or not its rollover has run yet, so a late sync is never lost and
  // never lands in daily rows the rollover has already flattened.
  const daily = aggregate(
    body.transactions.filter((t) => monthOfDay(t.txDate) >= currentMonth).map((t) => ({ key: [t.label, t.module, t.useCase, t.txDate].join('\u0000'), counter: t.counter })),
  );
  const closed = aggregate(
    body.transactions
      .filter((t) => monthOfDay(t.txDate) < currentMonth)
      .map((t) => ({ key: [t.label, t.module, t.useCase, monthOfDay(t.txDate)].join('\u0000'), counter: t.counter })),
  );
  const perDevice = aggregate(
    body.transactions.filter((t) => monthOfDay(t.txDate) === currentMonth).map((t) => ({ key: [t.label, t.module, t.useCase].join('\u0000'), counter: t.counter })),
  );
  const sync: SyncWrite = {
    status: body.status,
    version: body.version,
    jwksVersion,
    labels: [...new Set(body.labels)],
    userAgents: [...new Map(body.userAgents.map((ua) => parseUserAgent(ua)).map((p) => [p.uaHash, p])).values()],
    userAgentLimit: USER_AGENTS_PER_DEVICE,
    deviceCounters: [...perDevice].map(([key, counter]) => {
      const [label = '', module = '', useCase = ''] = key.split('\u0000');
      return { label, module, useCase, month: currentMonth, counter };
    }),
    dailyCounters: [...daily].map(([key, counter]) => {
      const [label = '', module = '', useCase = '', day = ''] = key.split('\u0000');
      return { label, module, useCase, day, counter };
    }),
    monthlyCounters: [...closed].map(([key, counter]) => {
      const [label = '', module = '', useCase = '', month = ''] = key.split('\u0000');
      return { label, module, useCase, month, counter };
    }),
    dailyTotals: [...totalsBy(daily, 3)].map(([key, counter]) => {
      const [label = '', day = ''] = key.split('\u0000');
      return { label, day, counter };
    }),
    monthlyTotals: [...totalsBy(closed, 3)].map(([key, counter]) => {
      const [label = '', month = ''] = key.split('\u0000');
      return { label, month, counter };
    }),
  };
  return { answer: response, writes: { sync } };
}

/** `POST /devices/{id}/sync`. */
export const syncMessage = deviceMessageKind({ kind: 'sync', schema: API.sync.body, answerSchema: API.sync.response, handle: planSync });

/** Drops processed messages past their retention (they only serve retries). */
export async function pruneDeviceMessages(services: Services): Promise<number> {
  const before = iso(new Date(services.clock.now().getTime() - services.config.messageRetentionSeconds * 1000));
  return repo.pruneMessages(services.db, before);
}
