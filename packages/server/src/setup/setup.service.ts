import type { Db } from '../db/types.js';
import { encryptDsKeysAtRest, ensureDsKeys, type KeyType } from '../keys/keys.service.js';
import type { MasterKey } from '../keys/master-key.js';
import type { Clock } from '../lib/clock.js';
import { iso } from '../lib/clock.js';
import { hashPassword, randomPassword } from '../lib/secrets.js';
import { countUsers, insertUser } from '../users/users.repository.js';
import { recordEvent, SYSTEM_ACTOR } from '../audit/audit.service.js';

export interface SetupResult {
  /** True when this call made the first admin user. */
  createdAdmin: boolean;
  /** The generated password of `admin`, when none was given; shown once. */
  generatedPassword: string | null;
  /** Key ids of DS key pairs made by this call. */
  keysCreated: string[];
  /** Key ids of DS private keys this call found in clear (a database from before 0005) and encrypted. */
  keysEncrypted: string[];
}

/**
 * First start on an empty database: the DS key pairs and the first admin user (`admin`).
 * Every start: DS private keys still in clear are encrypted under the master key, and keys under
 * another master key are refused. Otherwise idempotent: on an initialised database it changes nothing.
 */
export async function ensureInitialized(
  db: Db,
  clock: Clock,
  options: { keyType: KeyType; adminPassword?: string | undefined; masterKey: MasterKey },
): Promise<SetupResult> {
  const now = iso(clock.now());
  const keysEncrypted = await encryptDsKeysAtRest(db, options.masterKey);
  // Every start but the first: nothing to make, and no one to wait for.
  if ((await countUsers(db)) > 0 && (await activeKeyUses(db)) === 2) return { createdAdmin: false, generatedPassword: null, keysCreated: [], keysEncrypted };
  const password = options.adminPassword ?? randomPassword();
  const passwordHash = await hashPassword(password);
  return db.transaction().execute(async (trx) => {
    // Several DS processes may start together on an empty database (the replicas of one
    // deployment). Each first writes the `setup` row of job_locks in this transaction, so they take
    // turns: the next one waits until this one committed and then finds the keys and the admin
    // made; checking and inserting without it, two made two key sets and one failed on the
    // admin's unique username (PostgreSQL's read committed lets both see an empty table).
    await trx
      .insertInto('jobLocks')
      .values({ name: SETUP_LOCK, holder: SETUP_LOCK, acquiredAt: now, expiresAt: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ acquiredAt: now }))
      .execute();
    const keysCreated = await ensureDsKeys(trx, options.keyType, now, options.masterKey);
    let createdAdmin = false;
    if ((await countUsers(trx)) === 0) {
      await insertUser(trx, { id: crypto.randomUUID(), username: 'admin', passwordHash, role: 'admin', organizationId: null, createdAt: now, updatedAt: now });
      createdAdmin = true;
    }
    await trx.deleteFrom('jobLocks').where('name', '=', SETUP_LOCK).execute();
    if (createdAdmin || keysCreated.length > 0) {
      await recordEvent({ clock }, trx, {
        action: createdAdmin ? 'ds.initialized' : 'keys.created',
        resourceType: createdAdmin ? 'ds' : 'keys',
        resourceId: null,
        actor: { ...SYSTEM_ACTOR, name: 'first start' },
        after: { ...(createdAdmin ? { admin: 'admin' } : {}), keysCreated },
        always: true,
      });
    }
    return { createdAdmin, generatedPassword: createdAdmin && !options.adminPassword ? password : null, keysCreated, keysEncrypted };
  });
}

const SETUP_LOCK = 'setup';

/** How many of the two DS key uses (sig, enc) have a current key. */
async function activeKeyUses(db: Db): Promise<number> {
  const rows = await db.selectFrom('dsKeys').select('use').distinct().where('retiredAt', 'is', null).execute();
  return rows.length;
}
