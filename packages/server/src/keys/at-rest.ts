import type { JWK } from 'jose';
import { MasterKeyError, type MasterKey } from './master-key.js';

/**
 * How a DS private key is stored: its private JWK encrypted under the master key, as
 *
 *     v1.<master key id>.<iv>.<ciphertext>.<tag>        (iv, ciphertext and tag in base64url)
 *
 * v1 is AES-256-GCM with a random 96-bit IV under a key derived from the master key. The
 * additional authenticated data binds the ciphertext to its row (kid, use, alg) and to the header,
 * so a ciphertext copied into another row, or a header edited, does not decrypt. A later scheme
 * gets its own prefix; rows of both can then be read while `ds keys rekey` moves them over.
 */
export interface DsKeyIdentity {
  kid: string;
  use: string;
  alg: string;
}

const V1 = 'v1';

function additionalData(version: string, masterKeyId: string, key: DsKeyIdentity): Buffer {
  return Buffer.from(JSON.stringify(['ds_keys', version, masterKeyId, key.kid, key.use, key.alg]), 'utf8');
}

/** The stored form of a private JWK under `master`. */
export function sealPrivateJwk(master: MasterKey, key: DsKeyIdentity, privateJwk: JWK): string {
  const plaintext = Buffer.from(JSON.stringify(privateJwk), 'utf8');
  try {
    const { iv, ciphertext, tag } = master.encryptV1(plaintext, additionalData(V1, master.id, key));
    return [V1, master.id, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
  } finally {
    plaintext.fill(0);
  }
}

/** The master key id a stored value names, or null when it is not in a known format. */
export function sealedUnder(stored: string): string | null {
  const parts = stored.split('.');
  return parts.length === 5 && parts[0] === V1 && /^[0-9a-f]{16}$/.test(parts[1]!) ? parts[1]! : null;
}

/** A master key other than the one DS was given encrypted this database's keys. */
export class MasterKeyMismatchError extends MasterKeyError {
  constructor(
    /** The master key ids the database's keys are encrypted under. */
    readonly expected: string[],
    given: MasterKey,
  ) {
    super(
      `this database's DS private keys are encrypted under master key ${expected.join(' and ')}; ${given.source} holds master key ${given.id}. ` +
        `Give DS the master key they were encrypted under (DS_MASTER_KEY or DS_MASTER_KEY_FILE)`,
    );
  }
}

/**
 * The private JWK of a stored row. Throws a MasterKeyError (without key material) when the value
 * is not in a known format, names another master key, or does not authenticate.
 */
export function openPrivateJwk(master: MasterKey, key: DsKeyIdentity, stored: string): JWK {
  const under = sealedUnder(stored);
  if (under === null) throw new MasterKeyError(`DS key ${key.kid}: its stored private key is in no known format`);
  if (under !== master.id) throw new MasterKeyMismatchError([under], master);
  const [, , iv, ciphertext, tag] = stored.split('.') as [string, string, string, string, string];
  const plaintext = master.decryptV1(
    { iv: Buffer.from(iv, 'base64url'), ciphertext: Buffer.from(ciphertext, 'base64url'), tag: Buffer.from(tag, 'base64url') },
    additionalData(V1, under, key),
  );
  if (!plaintext) throw new MasterKeyError(`DS key ${key.kid} does not decrypt under master key ${master.id}: its row was altered (or its kid, use or alg changed)`);
  try {
    return JSON.parse(plaintext.toString('utf8')) as JWK;
  } finally {
    plaintext.fill(0);
  }
}

/**
 * A private JWK stored in clear by a DS from before encryption at rest (migration 0005), checked
 * to be one before it is encrypted.
 */
export function parseClearPrivateJwk(key: DsKeyIdentity, stored: string): JWK {
  let jwk: unknown;
  try {
    jwk = JSON.parse(stored);
  } catch {
    jwk = null;
  }
  if (typeof jwk !== 'object' || jwk === null || typeof (jwk as JWK).d !== 'string' || typeof (jwk as JWK).kty !== 'string') {
    throw new MasterKeyError(`DS key ${key.kid} has no master key id and its stored private key is not a clear private JWK either`);
  }
  return jwk as JWK;
}
