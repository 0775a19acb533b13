import { randomBytes } from 'node:crypto';
import type { Executor } from '../db/types.js';

const SECRET_KEY = 'dashboard.csrfSecret';

/**
 * The dashboard's HMAC key for CSRF tokens, made once and kept in `settings`, so every DS process
 * behind one database (and every restart) accepts the tokens the others issued. When two
 * processes race to make it, the first insert wins and both read that one.
 */
export async function dashboardSecret(db: Executor, now: string): Promise<Buffer> {
  const existing = await db.selectFrom('settings').select('value').where('key', '=', SECRET_KEY).executeTakeFirst();
  if (existing) return Buffer.from(existing.value, 'base64url');
  await db
    .insertInto('settings')
    .values({ key: SECRET_KEY, value: randomBytes(32).toString('base64url'), updatedAt: now })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db.selectFrom('settings').select('value').where('key', '=', SECRET_KEY).executeTakeFirstOrThrow();
  return Buffer.from(row.value, 'base64url');
}
