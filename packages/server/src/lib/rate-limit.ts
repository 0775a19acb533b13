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
