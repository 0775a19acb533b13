import type { ServerConfig } from '../config.js';
import { migrateToLatest, openDatabase } from '../db/database.js';
import type { Db } from '../db/types.js';
import { MasterKeyMismatchError, openPrivateJwk, parseClearPrivateJwk, sealPrivateJwk } from './at-rest.js';
import { masterKeyIdsInUse } from './keys.service.js';
import { secretIdentity } from './keystore.js';
import { recordEvent, SYSTEM_ACTOR } from '../audit/audit.service.js';
import { systemClock } from '../lib/clock.js';
import { describeSource, loadMasterKey, MasterKey, MasterKeyError, masterKeyFromFile, masterKeySource, type MasterKeySource } from './master-key.js';

/** What `ds keys rekey` did to each DS key, by kid. */
export interface RekeyCounts {
  /** Re-encrypted from the current master key to the new one. */
  reencrypted: string[];
  /** Found in clear (a database from before encryption at rest) and encrypted under the new key. */
  encrypted: string[];
  /** Already under the new key (a rekey that ran before); checked to decrypt, not rewritten. */
  unchanged: string[];
}

/**
 * Re-encrypts every DS private key under `next`, in one transaction: a key that does not decrypt
 * (wrong current key, altered row) or is under a third master key aborts it with nothing changed.
 * `current` may be null when no key is under a master key other than `next`.
 */
export async function rekeyDsKeys(db: Db, current: MasterKey | null, next: MasterKey): Promise<RekeyCounts> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx.selectFrom('dsKeys').select(['kid', 'use', 'alg', 'encryptedPrivateJwk', 'masterKeyId']).orderBy('createdAt').orderBy('kid').execute();
    const foreign = [...new Set(rows.map((r) => r.masterKeyId).filter((id): id is string => id !== null && id !== next.id && id !== current?.id))];
    if (foreign.length > 0) {
      if (!current) throw new MasterKeyError(`DS keys in this database are encrypted under master key ${foreign.join(' and ')}, and no current master key was given`);
      throw new MasterKeyMismatchError(foreign, current);
    }
    const counts: RekeyCounts = { reencrypted: [], encrypted: [], unchanged: [] };
    for (const row of rows) {
      if (row.masterKeyId === next.id) {
        openPrivateJwk(next, row, row.encryptedPrivateJwk);
        counts.unchanged.push(row.kid);
        continue;
      }
      const jwk = row.masterKeyId === null ? parseClearPrivateJwk(row, row.encryptedPrivateJwk) : openPrivateJwk(current!, row, row.encryptedPrivateJwk);
      let update = trx.updateTable('dsKeys').set({ encryptedPrivateJwk: sealPrivateJwk(next, row, jwk), masterKeyId: next.id }).where('kid', '=', row.kid);
      update = row.masterKeyId === null ? update.where('masterKeyId', 'is', null) : update.where('masterKeyId', '=', row.masterKeyId);
      const result = await update.executeTakeFirst();
      if (result.numUpdatedRows !== 1n) throw new MasterKeyError(`DS key ${row.kid} changed while it was being re-encrypted: stop every DS process and run this again`);
      (row.masterKeyId === null ? counts.encrypted : counts.reencrypted).push(row.kid);
    }
    // Webhook signing secrets are sealed under the same master key: they move with the DS keys.
    const hooks = await trx.selectFrom('webhooks').select(['id', 'secretEncrypted', 'masterKeyId']).execute();
    for (const hook of hooks) {
      const name = secretIdentity(`webhook:${hook.id}`);
      if (hook.masterKeyId === next.id) {
        openPrivateJwk(next, name, hook.secretEncrypted);
        continue;
      }
      if (!current || hook.masterKeyId !== current.id) throw new MasterKeyMismatchError([hook.masterKeyId], current ?? next);
      const secret = openPrivateJwk(current, name, hook.secretEncrypted);
      await trx.updateTable('webhooks').set({ secretEncrypted: sealPrivateJwk(next, name, secret), masterKeyId: next.id }).where('id', '=', hook.id).execute();
    }
    if (counts.reencrypted.length + counts.encrypted.length > 0) {
      // A security event like a key rotation; run on the machine by `ds keys rekey`, not by a request.
      await recordEvent({ clock: systemClock }, trx, {
        action: 'keys.master_rekeyed',
        resourceType: 'keys',
        resourceId: 'master',
        actor: { ...SYSTEM_ACTOR, name: 'ds keys rekey' },
        before: { masterKeyId: current?.id ?? null },
        after: { masterKeyId: next.id, reencrypted: counts.reencrypted, encrypted: counts.encrypted, webhookSecrets: hooks.length },
        always: true,
      });
    }
    return counts;
  });
}

/** The new master key of `ds keys rekey`: a file (`--new-key-file`), or text read elsewhere (stdin). */
export type NewMasterKeyInput = { file: string } | { text: string; source: string };

export interface RekeyResult extends RekeyCounts {
  /** The master key the keys were under, when one was needed. */
  from: { id: string; source: string } | null;
  to: { id: string; source: string };
  /** Where a DS process on this database takes its key from, which now has to hold the new one. */
  keySource: { kind: MasterKeySource['kind']; description: string };
  /** Migrations applied first (the master key column comes with 0005). */
  migrations: string[];
  /** Things worth saying about the key files (a key file others can read). */
  warnings: string[];
}

/**
 * `ds keys rekey`: on the database of `config`, re-encrypts the DS private keys from the master
 * key DS would use (DS_MASTER_KEY, DS_MASTER_KEY_FILE or master.key beside a SQLite database) to
 * `newKey`, in one transaction. Changes no key file: the caller says where the new key must go.
 * Every DS process on the database should be stopped first.
 */
export async function rekeyDatabase(config: ServerConfig, newKey: NewMasterKeyInput): Promise<RekeyResult> {
  const warnings: string[] = [];
  let next: MasterKey;
  if ('file' in newKey) {
    const loaded = masterKeyFromFile(newKey.file, `the new key file ${newKey.file}`);
    warnings.push(...loaded.warnings);
    next = loaded.key;
  } else {
    next = MasterKey.fromText(newKey.text, newKey.source);
  }
  const database = await openDatabase(config.databaseUrl);
  try {
    const source = masterKeySource(config, database);
    if (source.kind === 'memory') throw new MasterKeyError('an in-memory database has no keys to re-encrypt');
    const migrations = await migrateToLatest(database);
    let current: MasterKey | null = null;
    if ((await masterKeyIdsInUse(database.db)).some((id) => id !== next.id)) {
      const loaded = await loadMasterKey(source, async () => false);
      warnings.push(...loaded.warnings);
      current = loaded.key;
    }
    const counts = await rekeyDsKeys(database.db, current, next);
    return {
      ...counts,
      from: current && { id: current.id, source: current.source },
      to: { id: next.id, source: next.source },
      keySource: { kind: source.kind, description: describeSource(source) },
      migrations,
      warnings,
    };
  } finally {
    await database.close();
  }
}
