import { iso } from '../lib/clock.js';
import type { Executor } from '../db/types.js';

/**
 * A lease on a named job in the `job_locks` table, so that of several DS processes sharing a
 * database exactly one runs the job. Taking it is one atomic upsert that succeeds only when the
 * row is free or expired (not when we hold it: two runs in one process must not overlap either);
 * a crashed holder's lease simply runs out. Works the same
 * on SQLite and PostgreSQL (ARCHITECTURE.md: the scheduler takes a lock row).
 */
export async function acquireLease(db: Executor, name: string, holder: string, now: Date, leaseMs: number): Promise<boolean> {
  const row = { name, holder, acquiredAt: iso(now), expiresAt: iso(new Date(now.getTime() + leaseMs)) };
  const result = await db
    .insertInto('jobLocks')
    .values(row)
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ holder: row.holder, acquiredAt: row.acquiredAt, expiresAt: row.expiresAt })
        .where('jobLocks.expiresAt', '<=', row.acquiredAt),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Extends a lease we hold; false when it was lost (expired and taken by another process). */
export async function renewLease(db: Executor, name: string, holder: string, now: Date, leaseMs: number): Promise<boolean> {
  const result = await db
    .updateTable('jobLocks')
    .set({ expiresAt: iso(new Date(now.getTime() + leaseMs)) })
    .where('name', '=', name)
    .where('holder', '=', holder)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function releaseLease(db: Executor, name: string, holder: string): Promise<void> {
  await db.deleteFrom('jobLocks').where('name', '=', name).where('holder', '=', holder).execute();
}
