import { CompactEncrypt, SignJWT, compactDecrypt, decodeProtectedHeader, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { MESSAGE_CLOCK_SKEW_SECONDS, MESSAGE_MAX_LIFETIME_SECONDS, hasControlCharacters } from '../schemas/device.js';
import { decryptCompact, encryptCompact, signCompact, verifyCompact, type EncryptHeader, type JoseKey } from './jose-node.js';

/**
 * Which JOSE implementation seals and opens messages: `node`, the synchronous node:crypto path of
 * jose-node.ts (about a third of jose's CPU per message), or `jose`, the jose library over
 * WebCrypto, which stays the reference the node path is tested against.
 */
export const MESSAGE_ENGINES = ['node', 'jose'] as const;
export type MessageEngine = (typeof MESSAGE_ENGINES)[number];

/** Why a message could not be opened; the server maps these to DS error codes. */
export type MessageErrorCode =
  | 'INVALID_MESSAGE'
  | 'MESSAGE_DECRYPTION_FAILED'
  | 'MESSAGE_SIGNATURE_INVALID'
  | 'MESSAGE_EXPIRED'
  | 'MESSAGE_NOT_YET_VALID';

export class MessageError extends Error {
  override readonly name = 'MessageError';
  constructor(
    readonly code: MessageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface SealOptions {
  /** The JWS `iss`: the device id (device to DS) or the DS issuer (DS to device). */
  issuer: string;
  signingKey: JoseKey;
  signingAlg: string;
  signingKid?: string | undefined;
  encryptionKey: JoseKey;
  encryptionAlg: string;
  encryptionKid?: string | undefined;
  /** `node` unless told (see MessageEngine). */
  engine?: MessageEngine | undefined;
  /** Seconds since the epoch. */
  now: number;
  lifetimeSeconds?: number;
  jti: string;
  audience?: string | undefined;
}

/** Signs `payload` as a JWT (JWS) and encrypts it as a compact JWE (A256GCM, cty JWT). */
export async function sealMessage(payload: object, options: SealOptions): Promise<string> {
  const signingHeader = { alg: options.signingAlg, typ: 'JWT', ...(options.signingKid ? { kid: options.signingKid } : {}) };
  const encryptionHeader = { alg: options.encryptionAlg, enc: 'A256GCM' as const, cty: 'JWT', ...(options.encryptionKid ? { kid: options.encryptionKid } : {}) };
  const exp = options.now + (options.lifetimeSeconds ?? MESSAGE_MAX_LIFETIME_SECONDS);
  if ((options.engine ?? 'node') === 'node') {
    // The claims in the order jose's SignJWT writes them.
    const claims = { ...(payload as JWTPayload), iss: options.issuer, iat: options.now, exp, jti: options.jti, ...(options.audience ? { aud: options.audience } : {}) };
    const jws = signCompact(Buffer.from(JSON.stringify(claims), 'utf8'), options.signingKey, signingHeader);
    return encryptCompact(Buffer.from(jws, 'ascii'), options.encryptionKey, encryptionHeader satisfies EncryptHeader);
  }
  const jwt = new SignJWT({ ...(payload as JWTPayload) })
    .setProtectedHeader(signingHeader)
    .setIssuer(options.issuer)
    .setIssuedAt(options.now)
    .setExpirationTime(exp)
    .setJti(options.jti);
  if (options.audience) jwt.setAudience(options.audience);
  const jws = await jwt.sign(options.signingKey);
  return new CompactEncrypt(new TextEncoder().encode(jws)).setProtectedHeader(encryptionHeader).encrypt(options.encryptionKey);
}

export interface OpenOptions {
  /** The private key for the JWE's `kid` and `alg`, or undefined when there is none. */
  decryptionKey(header: ProtectedHeaderParameters): Promise<JoseKey | undefined> | JoseKey | undefined;
  /** The public key that must have signed the inner JWS. */
  verificationKey(header: ProtectedHeaderParameters): Promise<JoseKey | undefined> | JoseKey | undefined;
  /** Accepted JWS algorithms. */
  algorithms: string[];
  /** The required `iss`. */
  issuer: string;
  /** When given, an `aud` claim (if present) must equal it. */
  audience?: string | undefined;
  /** Seconds since the epoch. */
  now: number;
  maxLifetimeSeconds?: number;
  clockSkewSeconds?: number;
  /** `node` unless told (see MessageEngine). */
  engine?: MessageEngine | undefined;
}

export interface OpenedMessage {
  claims: JWTPayload & { jti: string; iat: number; exp: number };
  jwe: ProtectedHeaderParameters;
  jws: ProtectedHeaderParameters;
}

/** The clock tolerance given to jose: large enough that jose's own time checks never decide. */
const JOSE_CLOCK_TOLERANCE = 1e9;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * What jose's jwtVerify checks of a claims set beside the signature, with the options openMessage
 * gives it: strict UTF-8 JSON, an object, and numeric iat, nbf and exp where present (with the
 * tolerance, its time checks only refuse absurd values, and they are kept for sameness).
 */
function jwtClaims(bytes: Uint8Array, now: number): JWTPayload {
  const claims = JSON.parse(strictUtf8.decode(bytes)) as unknown;
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new Error('JWT Claims Set must be a top-level JSON object');
  const set = claims as JWTPayload;
  for (const name of ['iat', 'nbf', 'exp'] as const) {
    if (set[name] !== undefined && typeof set[name] !== 'number') throw new Error(`"${name}" claim must be a number`);
  }
  if (set.nbf !== undefined && set.nbf > now + JOSE_CLOCK_TOLERANCE) throw new Error('"nbf" claim timestamp check failed');
  if (set.exp !== undefined && set.exp <= now - JOSE_CLOCK_TOLERANCE) throw new Error('"exp" claim timestamp check failed');
  return set;
}

/** Decrypts a compact JWE and verifies the JWS inside: signature, issuer, lifetime, jti. */
export async function openMessage(jwe: string, options: OpenOptions): Promise<OpenedMessage> {
  const skew = options.clockSkewSeconds ?? MESSAGE_CLOCK_SKEW_SECONDS;
  const maxLifetime = options.maxLifetimeSeconds ?? MESSAGE_MAX_LIFETIME_SECONDS;
  if (typeof jwe !== 'string' || jwe.split('.').length !== 5) throw new MessageError('INVALID_MESSAGE', 'the body is not a compact JWE');
  let outer: ProtectedHeaderParameters;
  try {
    outer = decodeProtectedHeader(jwe);
  } catch {
    throw new MessageError('INVALID_MESSAGE', 'the JWE header cannot be read');
  }
  if (outer.enc !== 'A256GCM') throw new MessageError('INVALID_MESSAGE', `the JWE enc must be A256GCM, not ${String(outer.enc)}`);
  const decryptionKey = await options.decryptionKey(outer);
  if (!decryptionKey) throw new MessageError('MESSAGE_DECRYPTION_FAILED', `the JWE is not encrypted to a current key (kid ${String(outer.kid)}, alg ${String(outer.alg)})`);
  const node = (options.engine ?? 'node') === 'node';
  let jws: string;
  try {
    const { plaintext } = node
      ? decryptCompact(jwe, decryptionKey, String(outer.alg))
      : await compactDecrypt(jwe, decryptionKey, { keyManagementAlgorithms: [String(outer.alg)], contentEncryptionAlgorithms: ['A256GCM'] });
    jws = new TextDecoder().decode(plaintext);
  } catch {
    throw new MessageError('MESSAGE_DECRYPTION_FAILED', 'the JWE cannot be decrypted (tampered, or for another key)');
  }
  let inner: ProtectedHeaderParameters;
  try {
    inner = decodeProtectedHeader(jws);
  } catch {
    throw new MessageError('INVALID_MESSAGE', 'the JWE does not contain a JWS');
  }
  if (!inner.alg || !options.algorithms.includes(inner.alg)) {
    throw new MessageError('MESSAGE_SIGNATURE_INVALID', `the JWS alg ${String(inner.alg)} is not one of ${options.algorithms.join(', ')}`);
  }
  const verificationKey = await options.verificationKey(inner);
  if (!verificationKey) throw new MessageError('MESSAGE_SIGNATURE_INVALID', 'no key to verify the JWS with');
  let claims: JWTPayload;
  try {
    // Lifetime checks are done below with our own messages; jose checks the signature.
    if (node) claims = jwtClaims(verifyCompact(jws, verificationKey, options.algorithms).payload, options.now);
    else ({ payload: claims } = await jwtVerify(jws, verificationKey, { algorithms: options.algorithms, currentDate: new Date(options.now * 1000), clockTolerance: JOSE_CLOCK_TOLERANCE }));
  } catch {
    throw new MessageError('MESSAGE_SIGNATURE_INVALID', 'the JWS signature does not verify with the expected key');
  }
  const { iat, exp, jti, iss, aud } = claims;
  if (iss !== options.issuer) throw new MessageError('MESSAGE_SIGNATURE_INVALID', `the JWS iss ${String(iss)} is not ${options.issuer}`);
  // A jti is stored to answer retries: control characters (NUL, which PostgreSQL text cannot hold) have no place in it.
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 128 || hasControlCharacters(jti)) {
    throw new MessageError('INVALID_MESSAGE', 'the JWS needs a jti of at most 128 characters, without control characters');
  }
  if (typeof iat !== 'number' || typeof exp !== 'number') throw new MessageError('INVALID_MESSAGE', 'the JWS needs numeric iat and exp');
  if (exp - iat > maxLifetime) throw new MessageError('INVALID_MESSAGE', `the JWS lives ${exp - iat} s; at most ${maxLifetime} s are allowed`);
  if (iat > options.now + skew) throw new MessageError('MESSAGE_NOT_YET_VALID', `the JWS is dated ${iat - options.now} s in the future`);
  if (exp + skew < options.now) throw new MessageError('MESSAGE_EXPIRED', `the JWS expired ${options.now - exp} s ago`);
  if (aud !== undefined && options.audience !== undefined) {
    const list = Array.isArray(aud) ? aud : [aud];
    if (!list.includes(options.audience)) throw new MessageError('INVALID_MESSAGE', `the JWS aud must be ${options.audience}`);
  }
  return { claims: claims as OpenedMessage['claims'], jwe: outer, jws: inner };
}
