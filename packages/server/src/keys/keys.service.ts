import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Db, Executor } from '../db/types.js';
import type { Logger } from '../lib/logger.js';
import { MasterKeyMismatchError, parseClearPrivateJwk, sealPrivateJwk } from './at-rest.js';
import { loadMasterKey, type MasterKey, type MasterKeySource } from './master-key.js';

export type KeyType = 'rsa' | 'ec';

/** Algorithms per DS key type, as API.md fixes them. */
export const ALGORITHMS: Record<KeyType, { sig: string; enc: string }> = {
  rsa: { sig: 'RS256', enc: 'RSA-OAEP-256' },
  ec: { sig: 'ES256', enc: 'ECDH-ES+A256KW' },
};

export interface NewDsKey {
  kid: string;
  use: 'sig' | 'enc';
  alg: string;
  publicJwk: JWK;
  privateJwk: JWK;
}

/** A new key pair; the kid is the RFC 7638 thumbprint of the public key. */
export async function makeDsKey(type: KeyType, use: 'sig' | 'enc'): Promise<NewDsKey> {
  const alg = ALGORITHMS[type][use];
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(type === 'rsa' ? { modulusLength: 2048 } : {}) });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const meta: JWK = { kid, use, alg };
  return { kid, use, alg, publicJwk: { ...publicJwk, ...meta }, privateJwk: { ...privateJwk, ...meta } };
}

/** Stores a new key pair, its private half encrypted under `master`. */
export async function insertDsKey(db: Executor, key: NewDsKey, now: string, master: MasterKey) {
  await db
    .insertInto('dsKeys')
    .values({
      kid: key.kid,
      use: key.use,
      alg: key.alg,
      publicJwk: JSON.stringify(key.publicJwk),
      encryptedPrivateJwk: sealPrivateJwk(master, key, key.privateJwk),
      masterKeyId: master.id,
      createdAt: now,
      retiredAt: null,
    })
    .execute();
}

/** Adds a signing and/or an encryption key pair where there is no current one. Answers the kids made. */
export async function ensureDsKeys(db: Executor, type: KeyType, now: string, master: MasterKey): Promise<string[]> {
  const current = await db.selectFrom('dsKeys').select('use').where('retiredAt', 'is', null).execute();
  const made: string[] = [];
  for (const use of ['sig', 'enc'] as const) {
    if (current.some((k) => k.use === use)) continue;
    const key = await makeDsKey(type, use);
    await insertDsKey(db, key, now, master);
    made.push(key.kid);
  }
  return made;
}

/** The ids of the master keys this database's DS keys are encrypted under. */
export async function masterKeyIdsInUse(db: Executor): Promise<string[]> {
  const rows = await db.selectFrom('dsKeys').select('masterKeyId').distinct().where('masterKeyId', 'is not', null).orderBy('masterKeyId').execute();
  return rows.map((r) => r.masterKeyId!);
}

/**
 * Makes sure every DS key is encrypted under `master`: keys still in clear (a database upgraded
 * from before encryption at rest) are encrypted now, all in one transaction, so no clear private
 * key survives a start; keys under another master key are refused with both ids. Answers the kids
 * it encrypted.
 */
export async function encryptDsKeysAtRest(db: Db, master: MasterKey): Promise<string[]> {
  const others = (await masterKeyIdsInUse(db)).filter((id) => id !== master.id);
  if (others.length > 0) throw new MasterKeyMismatchError(others, master);
  const clear = await db.selectFrom('dsKeys').select('kid').where('masterKeyId', 'is', null).execute();
  if (clear.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    const rows = await trx.selectFrom('dsKeys').select(['kid', 'use', 'alg', 'encryptedPrivateJwk']).where('masterKeyId', 'is', null).orderBy('createdAt').execute();
    const done: string[] = [];
    for (const row of rows) {
      const jwk = parseClearPrivateJwk(row, row.encryptedPrivateJwk);
      // `master_key_id is null` again: another DS process starting at the same time may have
      // encrypted it already (its update then waits for ours, and changes nothing).
      const result = await trx
        .updateTable('dsKeys')
        .set({ encryptedPrivateJwk: sealPrivateJwk(master, row, jwk), masterKeyId: master.id })
        .where('kid', '=', row.kid)
        .where('masterKeyId', 'is', null)
        .executeTakeFirst();
      if (result.numUpdatedRows > 0n) done.push(row.kid);
    }
    return done;
  });
}

/**
 * The master key of a DS process on `db`, from `source`. The default key file is generated only
 * while no DS key is encrypted yet (a new database, or one upgraded with keys in clear).
 */
export async function openMasterKey(source: MasterKeySource, db: Db, logger?: Logger): Promise<{ key: MasterKey; created: boolean }> {
  const { key, created, warnings } = await loadMasterKey(source, async () => (await masterKeyIdsInUse(db)).length === 0);
  for (const warning of warnings) logger?.warn(warning);
  if (created) logger?.info('master key created', { path: key.source, masterKeyId: key.id });
  else logger?.info('master key', { source: key.source, masterKeyId: key.id });
  return { key, created };
}
