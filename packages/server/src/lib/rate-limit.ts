import { sql } from 'kysely';
import type { Db } from '../db/types.js';
import type { Clock } from './clock.js';
import { AppError } from './errors.js';

/**
 * Counts failures per key in a fixed window; once `max` is reached the key is blocked until the
 * window ends. Kept in the database, so every DS process and node shares the same counts: a
 * guesser gains nothing by spreading attempts over workers or nodes behind a load balancer.
 */
export class FailureLimiter {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /** Names the keys of this limiter in the shared table (`login`, `apikey`, ...). */
    private readonly name: string,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  private key(key: string) {
    return `${this.name}:${key}`;
  }

  /** Seconds until the key may try again, or 0 when it is not blocked. */
  async retryAfter(key: string): Promise<number> {
    const row = await this.db.selectFrom('rateLimits').select(['count', 'resetAt']).where('key', '=', this.key(key)).executeTakeFirst();
    const now = this.clock.now().getTime();
    const resetAt = row ? Date.parse(row.resetAt) : 0;
    if (!row || resetAt <= now || Number(row.count) < this.max) return 0;
    return Math.ceil((resetAt - now) / 1000);
  }

  /** Refuses with 429 and Retry-After while the key is blocked; `what` says what was tried too often. */
  async check(key: string, what: string): Promise<void> {
    const retryAfter = await this.retryAfter(key);
    if (retryAfter > 0) {
      throw new AppError('RATE_LIMITED', `too many ${what}; retry in ${retryAfter} s`, { retryAfterSeconds: retryAfter }, { 'Retry-After': String(retryAfter) });
    }
  }

  /** Counts one failure: the first of a window opens it, the others add to it (one statement, so concurrent failures all count). */
  async fail(key: string): Promise<void> {
    const now = this.clock.now();
    const nowIso = now.toISOString();
    const resetAt = new Date(now.getTime() + this.windowMs).toISOString();
    await this.db
      .insertInto('rateLimits')
      .values({ key: this.key(key), count: 1, resetAt })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet((eb) => ({
          count: sql<number>`case when ${eb.ref('rateLimits.resetAt')} <= ${nowIso} then 1 else ${eb.ref('rateLimits.count')} + 1 end`,
          resetAt: sql<string>`case when ${eb.ref('rateLimits.resetAt')} <= ${nowIso} then ${eb.ref('excluded.resetAt')} else ${eb.ref('rateLimits.resetAt')} end`,
        })),
      )
      .execute();
  }

  /** Forgets the key's failures (a successful login). */
  async succeed(key: string): Promise<void> {
    await this.db.deleteFrom('rateLimits').where('key', '=', this.key(key)).execute();
  }
}

/**
 * Counts every attempt per key in a fixed window (not only failures): beyond `max` in one window
 * an attempt is refused with 429 and Retry-After until the window ends. In the database like
 * {@link FailureLimiter}, and one statement per attempt (the count and the verdict come back from
 * the upsert), so concurrent attempts on any process or node all count. `max` 0: no limit.
 */
export class AttemptLimiter {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly name: string,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Counts an attempt for `key`; throws RATE_LIMITED (429, Retry-After) when it is one too many. */
  async attempt(key: string, what: string): Promise<void> {
    if (this.max <= 0) return;
    const now = this.clock.now();
    const nowIso = now.toISOString();
    const row = await this.db
      .insertInto('rateLimits')
      .values({ key: `${this.name}:${key}`, count: 1, resetAt: new Date(now.getTime() + this.windowMs).toISOString() })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet((eb) => ({
          count: sql<number>`case when ${eb.ref('rateLimits.resetAt')} <= ${nowIso} then 1 else ${eb.ref('rateLimits.count')} + 1 end`,
          resetAt: sql<string>`case when ${eb.ref('rateLimits.resetAt')} <= ${nowIso} then ${eb.ref('excluded.resetAt')} else ${eb.ref('rateLimits.resetAt')} end`,
        })),
      )
      .returning(['count', 'resetAt'])
      .executeTakeFirstOrThrow();
    if (Number(row.count) <= this.max) return;
    const retryAfter = Math.max(1, Math.ceil((Date.parse(row.resetAt) - now.getTime()) / 1000));
    throw new AppError('RATE_LIMITED', `too many ${what}; retry in ${retryAfter} s`, { retryAfterSeconds: retryAfter }, { 'Retry-After': String(retryAfter) });
  }
}

/**
 * The per-device message rate limit. Its state is two columns of the device's row (the start of
 * the current one-minute window and the messages recorded in it) rather than a rate_limits row:
 * the row is read for every message anyway (to verify it), and a message's record updates it in
 * the transaction that records the message, so the limit adds no statement to a sync (a separate
 * counter row would be one more write per message on the hot path). Like every rate limit it is
 * in the database, so it holds across processes and nodes; messages in flight at the same moment
 * may each see the count from before the others (at most as many as are in flight).
 */
export const DEVICE_MESSAGE_WINDOW_MS = 60_000;

/** The window `now` falls in: its start, as stored in `devices.message_window`. */
export function deviceMessageWindow(now: Date): string {
  return new Date(Math.floor(now.getTime() / DEVICE_MESSAGE_WINDOW_MS) * DEVICE_MESSAGE_WINDOW_MS).toISOString();
}

/** Refuses with 429 and Retry-After a message of a device that has sent `max` already in this window. */
export function checkDeviceMessageRate(device: { messageWindow: string | null; messageCount: number }, now: Date, max: number): void {
  const window = deviceMessageWindow(now);
  if (device.messageWindow !== window || Number(device.messageCount) < max) return;
  const retryAfter = Math.max(1, Math.ceil((Date.parse(window) + DEVICE_MESSAGE_WINDOW_MS - now.getTime()) / 1000));
  throw new AppError('RATE_LIMITED', `this device sent ${max} messages this minute, the most DS takes; retry in ${retryAfter} s`, { retryAfterSeconds: retryAfter }, { 'Retry-After': String(retryAfter) });
}

/** Deletes counts whose window has ended (housekeeping). */
export async function pruneRateLimits(db: Db, now: Date): Promise<number> {
  const result = await db.deleteFrom('rateLimits').where('resetAt', '<=', now.toISOString()).executeTakeFirst();
  return Number(result.numDeletedRows ?? 0n);
}

/**
 * Runs at most `max` tasks at once and queues at most `maxQueued` more; beyond that it refuses
 * with 429 instead of letting work pile up (password hashing: each scrypt takes tens of ms and
 * 16 MiB on the thread pool that also reads installer files).
 */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(
    private readonly max: number,
    private readonly maxQueued: number,
    private readonly what: string,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) {
      if (this.waiting.length >= this.maxQueued) {
        throw new AppError('RATE_LIMITED', `too many ${this.what} at once; retry in a second`, { retryAfterSeconds: 1 }, { 'Retry-After': '1' });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active += 1;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next task; only when nobody waits is it freed.
      if (next) next();
      else this.active -= 1;
    }
  }
}
