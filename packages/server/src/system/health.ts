import type { Health } from '@ds/shared';
import { sql } from 'kysely';
import type { Services } from '../context.js';
import { migrations } from '../db/migrations/index.js';

/** How long a readiness check waits for the database: a probe must answer even when the database hangs. */
const CHECK_TIMEOUT_MS = 3000;

type Check = { ok: boolean; error?: string };

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Whether this DS can serve: the database answers, every migration this DS knows has been applied
 * (a node started against a database an older DS left behind is not ready until `ds db migrate`),
 * and the DS keys are loaded (devices' messages cannot be opened or answered without them).
 *
 * The answer is public, so it names the check that failed but not the database's address or
 * error text; those go to the log.
 */
export async function readiness(services: Services): Promise<Health> {
  let database: Check = { ok: true };
  let migrationsCheck: Check & { pending?: string[] } = { ok: true };
  try {
    const applied = await withTimeout(sql<{ name: string }>`select name from ds_migrations`.execute(services.db), 'the database');
    const done = new Set(applied.rows.map((r) => r.name));
    const pending = Object.keys(migrations).filter((name) => !done.has(name));
    if (pending.length > 0) migrationsCheck = { ok: false, error: `${pending.length} migration(s) not applied: run ds db migrate`, pending };
  } catch (error) {
    services.logger.warn('readiness: the database does not answer', { error: (error as Error).message });
    database = { ok: false, error: 'the database does not answer' };
    migrationsCheck = { ok: false, error: 'unknown: the database does not answer' };
  }
  let keys: Check = { ok: true };
  try {
    services.keys.current('sig');
    services.keys.current('enc');
  } catch {
    keys = { ok: false, error: 'the DS keys are not loaded (no current signing or encryption key)' };
  }
  const ok = database.ok && migrationsCheck.ok && keys.ok;
  return { status: ok ? 'ok' : 'unavailable', checks: { database, migrations: migrationsCheck, keys } };
}
