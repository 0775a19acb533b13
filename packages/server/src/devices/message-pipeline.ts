import type { Context } from 'hono';
import type { z } from 'zod';
import type { Services } from '../context.js';
import type { DeviceReport, DeviceUsage, MessageWrites } from '../db/sync-store.js';
import type { DeviceRow } from '../db/types.js';
import { iso } from '../lib/clock.js';
import { AppError } from '../lib/errors.js';
import type { Metrics } from '../lib/metrics.js';
import { deviceMessageWindow } from '../lib/rate-limit.js';
import { parseWith } from '../lib/validate.js';
import { joseResponse, openDeviceMessage, sealDeviceAnswer, type OpenedDeviceMessage } from './messages.js';

/** What a handler knows besides the payload: the verified sender and the message. */
export interface DeviceMessageContext {
  services: Services;
  device: DeviceRow;
  jti: string;
  /** The instant the message is processed at: the handler's "now" and the record's. */
  now: Date;
}

/** A handler's result: the answer to seal and what to write with the message's record. */
export interface HandledMessage<A extends object> {
  answer: A;
  writes?: MessageWrites;
}

/**
 * A handler's result that depends on what the device counted before: the days whose per-device
 * transaction totals it needs, and the answer and writes decided from them. `complete` runs in
 * the transaction that records the message (synchronously), so concurrent messages of one device
 * are decided one after the other (the daily limit).
 */
export interface DeferredMessage<A extends object> {
  /** The device's state as the message reports it, written whatever is decided. */
  device?: DeviceReport;
  usageDays: readonly string[];
  complete(usage: DeviceUsage): HandledMessage<A>;
}

/**
 * One kind of device message: its name, the schema of its payload and its handler; nothing
 * more. The handler reads and decides but does not write: the pipeline applies its `writes` in
 * the transaction that records the answer, and only when the jti is new, so a retry, a twin or a
 * refusal changes nothing. (A handler that wrote through the database itself would need an
 * asynchronous transaction around it; the sync's writes run as prepared statements in one
 * synchronous SQLite transaction instead, see db/sync-store.ts.)
 */
export interface DeviceMessageKind<S extends z.ZodType = z.ZodType, A extends object = object> {
  /** The name a jti is recorded under; a jti used for one kind is refused for another. */
  kind: string;
  /** The payload: the `body` of the message's route definition. */
  schema: S;
  /** The answer: the `response` of its route definition (checked in tests, like every JSON answer). */
  answerSchema?: z.ZodType<A>;
  handle(message: DeviceMessageContext, payload: z.output<S>): Promise<HandledMessage<A> | DeferredMessage<A>>;
  /** Counts what a newly recorded answer says (a sync: its counted and refused entries); not called for a retry. */
  count?(metrics: Metrics, answer: A): void;
  /**
   * Runs after a newly recorded answer committed (not for a retry): for events other parts of DS
   * hear about (a device rejected for plausibility: the audit log and webhooks).
   */
  recorded?(message: DeviceMessageContext, answer: A): Promise<void>;
}

/** Declares a message kind (the identity function, for type inference of the handler's payload). */
export function deviceMessageKind<S extends z.ZodType, A extends object>(kind: DeviceMessageKind<S, A>): DeviceMessageKind<S, A> {
  return kind;
}

/** The answer stored for this device's jti, when there is one for this kind; 409 when it was another kind's. */
async function storedAnswer(services: Services, deviceId: string, jti: string, kind: string): Promise<object | undefined> {
  const stored = await services.syncStore.findStoredResponse(deviceId, jti);
  if (!stored) return undefined;
  if (stored.kind !== kind) {
    throw new AppError('CONFLICT', `jti ${jti} was already used by this device for a ${stored.kind} message; a ${kind} message needs a jti of its own`);
  }
  return JSON.parse(stored.response) as object;
}

/**
 * The answer payload for an opened message: the stored one for a retry of the same kind, else the
 * handler's, recorded together with the handler's writes. Every refusal is an AppError.
 */
export async function answerDeviceMessage(services: Services, message: OpenedDeviceMessage, kind: DeviceMessageKind): Promise<object> {
  return (await answerMessage(services, message, kind)).answer;
}

/** The answer, and whether it is a stored one (a retry or a twin): {@link answerDeviceMessage}. */
async function answerMessage(services: Services, message: OpenedDeviceMessage, kind: DeviceMessageKind): Promise<{ answer: object; replayed: boolean }> {
  const { device, jti } = message;
  const retried = await storedAnswer(services, device.id, jti, kind.kind);
  if (retried) return { answer: retried, replayed: true };
  const payload = parseWith(kind.schema, message.claims, 'message');
  const now = services.clock.now();
  const handled = await kind.handle({ services, device, jti, now }, payload);
  const plan: DeferredMessage<object> = 'complete' in handled ? handled : { usageDays: [], complete: () => handled };
  let answer: object | undefined;
  const recorded = await services.syncStore.recordMessage({
    deviceId: device.id,
    jti,
    kind: kind.kind,
    receivedAt: iso(now),
    window: deviceMessageWindow(now),
    ...(plan.device ? { device: plan.device } : {}),
    usageDays: plan.usageDays,
    decide: (usage) => {
      const decided = plan.complete(usage);
      if (services.checkResponses && kind.answerSchema && !kind.answerSchema.safeParse(decided.answer).success) {
        throw new Error(`the ${kind.kind} answer does not match its route's response schema`);
      }
      answer = decided.answer;
      return { response: JSON.stringify(decided.answer), writes: decided.writes };
    },
  });
  if (recorded && answer) {
    kind.count?.(services.metrics, answer);
    await kind.recorded?.({ services, device, jti, now }, answer);
    return { answer, replayed: false };
  }
  // A twin with the same jti was recorded first: answer what it stored (409 if it was another kind).
  const twin = await storedAnswer(services, device.id, jti, kind.kind);
  if (!twin) throw new AppError('MESSAGE_IN_PROGRESS', 'a message with this jti is being processed; retry shortly');
  return { answer: twin, replayed: true };
}

/**
 * Answers a device message of `kind` from the request: open and verify, answer, seal. Counts it
 * by outcome: accepted, replayed (a retry answered from its record), refused (by error code) or
 * failed.
 */
export async function handleDeviceMessage(services: Services, c: Context, kind: DeviceMessageKind): Promise<Response> {
  try {
    const message = await openDeviceMessage(services, services.deviceKeys, c);
    const { answer, replayed } = await answerMessage(services, message, kind);
    const response = joseResponse(c, await sealDeviceAnswer(services, services.deviceKeys, message.device, answer));
    services.metrics.deviceMessage(kind.kind, replayed ? 'replayed' : 'accepted');
    return response;
  } catch (error) {
    if (error instanceof AppError) services.metrics.deviceMessage(kind.kind, error.status >= 500 ? 'failed' : 'refused', error.code);
    else services.metrics.deviceMessage(kind.kind, 'failed', 'INTERNAL_ERROR');
    throw error;
  }
}
