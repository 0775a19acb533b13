import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Executor } from '../db/types.js';

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

export async function insertDsKey(db: Executor, key: NewDsKey, now: string) {
  await db
    .insertInto('dsKeys')
    .values({
      kid: key.kid,
      use: key.use,
      alg: key.alg,
      publicJwk: JSON.stringify(key.publicJwk),
      privateJwk: JSON.stringify(key.privateJwk),
      createdAt: now,
      retiredAt: null,
    })
    .execute();
}

/** Adds a signing and/or an encryption key pair where there is no current one. Answers the kids made. */
export async function ensureDsKeys(db: Executor, type: KeyType, now: string): Promise<string[]> {
  const current = await db.selectFrom('dsKeys').select('use').where('retiredAt', 'is', null).execute();
  const made: string[] = [];
  for (const use of ['sig', 'enc'] as const) {
    if (current.some((k) => k.use === use)) continue;
    const key = await makeDsKey(type, use);
    await insertDsKey(db, key, now);
    made.push(key.kid);
  }
  return made;
}
