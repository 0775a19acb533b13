import type { Db } from '../db/types.js';
import { encryptDsKeysAtRest, ensureDsKeys, type KeyType } from '../keys/keys.service.js';
import type { MasterKey } from '../keys/master-key.js';
import type { Clock } from '../lib/clock.js';
import { iso } from '../lib/clock.js';
import { hashPassword, randomPassword } from '../lib/secrets.js';
import { countUsers, insertUser } from '../users/users.repository.js';

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
  const keysCreated = await ensureDsKeys(db, options.keyType, now, options.masterKey);
  if ((await countUsers(db)) > 0) return { createdAdmin: false, generatedPassword: null, keysCreated, keysEncrypted };
  const password = options.adminPassword ?? randomPassword();
  const passwordHash = await hashPassword(password);
  const created = await db.transaction().execute(async (trx) => {
    // Another process may have raced us to it.
    if ((await countUsers(trx)) > 0) return false;
    await insertUser(trx, { id: crypto.randomUUID(), username: 'admin', passwordHash, role: 'admin', organizationId: null, createdAt: now, updatedAt: now });
    return true;
  });
  return { createdAdmin: created, generatedPassword: created && !options.adminPassword ? password : null, keysCreated, keysEncrypted };
}
