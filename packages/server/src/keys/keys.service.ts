import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Executor } from '../db/types.js';

export type KeyType = 'rsa' | 'ec';

/** Algorithms per DS key type, as API.md fixes them. */
export const ALGORITHMS: Record<KeyType, { sig: string; enc: string }> = {
  rsa: { sig: 'RS256', enc: 'RSA-OAEP-256' },
  ec: { sig: 'ES256', enc: 'ECDH-ES+A256KW' },
};

async function makeKey(type: KeyType, use: 'sig' | 'enc') {
  const alg = ALGORITHMS[type][use];
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(type === 'rsa' ? { modulusLength: 2048 } : {}) });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const meta: JWK = { kid, use, alg };
  return { kid, alg, publicJwk: { ...publicJwk, ...meta }, privateJwk: { ...privateJwk, ...meta } };
}

/** Adds a signing and/or an encryption key pair where there is no current one. Answers the kids made. */
export async function ensureDsKeys(db: Executor, type: KeyType, now: string): Promise<string[]> {
  const current = await db.selectFrom('dsKeys').select('use').where('retiredAt', 'is', null).execute();
  const made: string[] = [];
  for (const use of ['sig', 'enc'] as const) {
    if (current.some((k) => k.use === use)) continue;
    const key = await makeKey(type, use);
    await db
      .insertInto('dsKeys')
      .values({ kid: key.kid, use, alg: key.alg, publicJwk: JSON.stringify(key.publicJwk), privateJwk: JSON.stringify(key.privateJwk), createdAt: now, retiredAt: null })
      .execute();
    made.push(key.kid);
  }
  return made;
}

/** The public JWKS: current keys and retired ones not yet removed. */
export async function publicJwks(db: Executor): Promise<{ keys: JWK[] }> {
  const rows = await db.selectFrom('dsKeys').select(['publicJwk']).orderBy('createdAt', 'desc').execute();
  return { keys: rows.map((r) => JSON.parse(r.publicJwk) as JWK) };
}
