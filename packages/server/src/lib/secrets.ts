import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ConcurrencyLimit } from './rate-limit.js';

export const KEY_PREFIX = { label: 'ds_lbl_', installation: 'ds_ins_', admin: 'ds_adm_', session: 'ds_ses_' } as const;

/** A new secret: the prefix and 192 random bits in base64url. */
export function newSecret(prefix: string): string {
  return prefix + randomBytes(24).toString('base64url');
}

/** What is stored of a secret: its SHA-256. Secrets are random, so no salt or stretching is needed. */
export function secretDigest(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The part of a secret that may be shown later to tell keys apart. */
export function secretHint(secret: string): string {
  return `${secret.slice(0, secret.indexOf('_', 3) + 5)}…`;
}

/** A random password people can type: 20 base64url characters (120 bits). */
export function randomPassword(): string {
  return randomBytes(15).toString('base64url');
}

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;

/**
 * At most two hashes at once in a process (libuv's pool has four threads and installer downloads
 * read files on them), and a short queue; more answers 429 rather than piling up memory.
 */
export const passwordHashing = new ConcurrencyLimit(2, 32, 'password checks');

function scryptAsync(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return passwordHashing.run(
    () => new Promise<Buffer>((resolve, reject) => scrypt(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key)))),
  );
}

/** `scrypt$N$r$p$salt$hash` with base64url salt and hash. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 256 * Number(n) * Number(r) + 1024 * 1024,
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A stored hash to compare against when the user does not exist, so timing does not tell. */
export const DUMMY_PASSWORD_HASH =
  'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
