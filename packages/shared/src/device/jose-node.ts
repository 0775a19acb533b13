// Compact JWE and JWS for exactly the algorithms of the device protocol, on node:crypto KeyObjects.
//
// jose 6 runs on WebCrypto, whose every operation is an asynchronous job Node prepares on the
// calling thread: about 1.3 ms of CPU for the four operations of one sync, against 0.4 ms for the
// same primitives called synchronously (docs/performance.md). This module does those operations
// and nothing else:
//   JWE  alg ECDH-ES+A256KW (P-256, P-384, P-521) or RSA-OAEP-256, enc A256GCM;
//   JWS  ES256, ES384, RS256, PS256.
// jose stays the reference: jose-node.test.ts checks, over thousands of random keys and messages,
// that each opens what the other seals and that both refuse the same mutations.
//
// Every refusal of a JWE is one JoseError('decryption failed') whatever failed (key unwrap, RSA
// padding, tag), and an RSA unwrap failure goes on with a random CEK (RFC 7516, section 11.5), so
// neither the answer nor the work done tells which step failed.

import { KeyObject, constants, createCipheriv, createDecipheriv, createECDH, createHash, createPublicKey, privateDecrypt, publicEncrypt, randomBytes, sign, verify, type ECDH } from 'node:crypto';
import type { CryptoKey } from 'jose';

export type JoseKey = KeyObject | CryptoKey;

/** A refused JWE or JWS; `reason` is for logs and tests, the message is the same for every JWE refusal. */
export class JoseError extends Error {
  override readonly name = 'JoseError';
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/**
 * node:crypto KeyObject of a WebCrypto CryptoKey (cached: the conversion is per key, not per message).
 * The key must be extractable: Node 24 deprecates converting a non-extractable one (DEP0204) and a
 * later release will refuse it, so it is refused here on every Node, where a test sees it. Import
 * private keys with `importJWK(jwk, alg, { extractable: true })`: the process holds their JWK anyway.
 */
const converted = new WeakMap<object, KeyObject>();
export function toKeyObject(key: JoseKey): KeyObject {
  if (key instanceof KeyObject) return key;
  let object = converted.get(key);
  if (!object) {
    if (!key.extractable) throw new TypeError(`a non-extractable ${key.type} CryptoKey cannot be used by the node message engine: import it with { extractable: true }`);
    object = KeyObject.from(key as Parameters<typeof KeyObject.from>[0]);
    converted.set(key, object);
  }
  return object;
}

const DECRYPTION_FAILED = 'the JWE cannot be decrypted';
const A256GCM_IV = 12;
const A256GCM_TAG = 16;
const CEK_BYTES = 32;
const WRAP_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const CURVES: Record<string, { name: string; crv: string; sizes: number }> = {
  prime256v1: { name: 'prime256v1', crv: 'P-256', sizes: 32 },
  secp384r1: { name: 'secp384r1', crv: 'P-384', sizes: 48 },
  secp521r1: { name: 'secp521r1', crv: 'P-521', sizes: 66 },
};

const b64 = (data: Uint8Array): string => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64url');
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Strict base64url: the alphabet only, no padding, no length a decoder would have to guess at. */
function unb64(part: string, what: string): Buffer {
  if (!BASE64URL.test(part) || part.length % 4 === 1) throw new JoseError(`the ${what} is not base64url`, `${what} not base64url`);
  return Buffer.from(part, 'base64url');
}

function parseHeader(part: string, what: string, jwe: boolean): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(unb64(part, what).toString('utf8'));
  } catch {
    throw new JoseError(`the ${what} is not JSON`, `${what} not JSON`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new JoseError(`the ${what} is not a JSON object`, `${what} not an object`);
  const h = header as Record<string, unknown>;
  // No extension is understood here, so any critical one is refused (RFC 7515, 4.1.11): b64
  // (an unencoded payload, RFC 7797) only counts when crit names it. Other parameters are ignored,
  // as the RFCs and jose do. Compression (zip) is refused, as jose 6 refuses it.
  if (h.crit !== undefined) throw new JoseError(`the ${what} names critical extensions`, 'crit');
  if (jwe && h.zip !== undefined) throw new JoseError(`the ${what} asks for compression`, 'zip');
  return h;
}

/** The Concat KDF of RFC 7518 section 4.6.2 for a 256-bit key (one SHA-256 round). */
function concatKdf(z: Buffer, alg: string, apu: Buffer, apv: Buffer): Buffer {
  const field = (value: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(value.length);
    return [length, value];
  };
  const bits = Buffer.alloc(4);
  bits.writeUInt32BE(256);
  return createHash('sha256')
    .update(Buffer.from([0, 0, 0, 1]))
    .update(z)
    .update(Buffer.concat([...field(Buffer.from(alg, 'ascii')), ...field(apu), ...field(apv), bits]))
    .digest();
}

function curveOf(key: KeyObject): { name: string; crv: string; sizes: number } {
  const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
  if (!curve) throw new JoseError('the key is not on P-256, P-384 or P-521', 'unsupported curve');
  return curve;
}

const UNCOMPRESSED = Buffer.from([4]);

/** An ECDH object holding a recipient's private EC key, cached per key. */
const recipients = new WeakMap<KeyObject, ECDH>();
function recipientEcdh(key: KeyObject, curve: { name: string; sizes: number }): ECDH {
  let ecdh = recipients.get(key);
  if (!ecdh) {
    if (key.type !== 'private') throw new JoseError('decryption needs the private key', 'key type');
    ecdh = createECDH(curve.name);
    ecdh.setPrivateKey(Buffer.from(key.export({ format: 'jwk' }).d!, 'base64url'));
    recipients.set(key, ecdh);
  }
  return ecdh;
}

/** The uncompressed point (0x04 || x || y) of an EC public key, cached per key. */
const points = new WeakMap<KeyObject, Buffer>();
function publicPoint(key: KeyObject, size: number): Buffer {
  let point = points.get(key);
  if (!point) {
    const jwk = key.export({ format: 'jwk' });
    point = Buffer.concat([UNCOMPRESSED, Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    if (point.length !== 1 + 2 * size) throw new JoseError('the EC key cannot be read', 'point');
    points.set(key, point);
  }
  return point;
}

function optionalBytes(header: Record<string, unknown>, name: 'apu' | 'apv'): Buffer | undefined {
  const value = header[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new JoseError(DECRYPTION_FAILED, `${name} not a string`);
  return unb64(value, `JWE ${name}`);
}

/** The Concat KDF's party infos; both given and equal is refused, as jose refuses it. */
function partyInfo(apu: Buffer | undefined, apv: Buffer | undefined): [Buffer, Buffer] {
  if (apu && apv && apu.equals(apv)) throw new JoseError('the JWE apu and apv must differ', 'apu equals apv');
  return [apu ?? Buffer.alloc(0), apv ?? Buffer.alloc(0)];
}

/** jose's floor for RSA keys, kept so both engines take the same keys. */
const MIN_RSA_BITS = 2048;
function checkRsa(key: KeyObject, alg: string): void {
  if (key.asymmetricKeyType !== 'rsa') throw new JoseError(`${alg} needs an RSA key`, 'key type');
  if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) throw new JoseError(`${alg} needs an RSA key of ${MIN_RSA_BITS} bits or more`, 'key size');
}

/** Members only a private JWK has: an epk carrying one is refused (as jose does). */
const PRIVATE_JWK_MEMBERS = ['d', 'k', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'priv'];

function aesGcmEncrypt(cek: Buffer, aad: string, plaintext: Uint8Array): { iv: Buffer; ciphertext: Buffer; tag: Buffer } {
  const iv = randomBytes(A256GCM_IV);
  const cipher = createCipheriv('aes-256-gcm', cek, iv, { authTagLength: A256GCM_TAG });
  cipher.setAAD(Buffer.from(aad, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

export interface EncryptHeader {
  alg: string;
  enc: 'A256GCM';
  cty?: string;
  kid?: string;
}

/** A compact JWE of `plaintext` to `key` (a public key: EC for ECDH-ES+A256KW, RSA for RSA-OAEP-256). */
export function encryptCompact(plaintext: Uint8Array, key: JoseKey, header: EncryptHeader, options: { apu?: Uint8Array; apv?: Uint8Array } = {}): string {
  if (header.enc !== 'A256GCM') throw new JoseError(`enc ${String(header.enc)} is not supported`, 'enc');
  const publicKey = toKeyObject(key);
  const cek = randomBytes(CEK_BYTES);
  let encryptedKey: Buffer;
  let protectedHeader: Record<string, unknown>;
  if (header.alg === 'ECDH-ES+A256KW') {
    const curve = curveOf(publicKey);
    // An ephemeral key per message. createECDH rather than generateKeyPairSync('ec'), which
    // hangs on Node 20.20 after some hundreds of calls in one process.
    const ephemeral = createECDH(curve.name);
    const point = ephemeral.generateKeys();
    const epk = { x: b64(point.subarray(1, 1 + curve.sizes)), y: b64(point.subarray(1 + curve.sizes)) };
    const [apu, apv] = partyInfo(options.apu && Buffer.from(options.apu), options.apv && Buffer.from(options.apv));
    protectedHeader = {
      ...header,
      epk: { kty: 'EC', crv: curve.crv, x: epk.x, y: epk.y },
      ...(options.apu ? { apu: b64(apu) } : {}),
      ...(options.apv ? { apv: b64(apv) } : {}),
    };
    const kek = concatKdf(ephemeral.computeSecret(publicPoint(publicKey, curve.sizes)), header.alg, apu, apv);
    const wrap = createCipheriv('id-aes256-wrap', kek, WRAP_IV);
    encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()]);
  } else if (header.alg === 'RSA-OAEP-256') {
    checkRsa(publicKey, header.alg);
    protectedHeader = { ...header };
    encryptedKey = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
  } else {
    throw new JoseError(`alg ${String(header.alg)} is not supported`, 'alg');
  }
  const encodedHeader = b64(Buffer.from(JSON.stringify(protectedHeader), 'utf8'));
  const { iv, ciphertext, tag } = aesGcmEncrypt(cek, encodedHeader, plaintext);
  return `${encodedHeader}.${b64(encryptedKey)}.${b64(iv)}.${b64(ciphertext)}.${b64(tag)}`;
}


/**
 * Opens a compact JWE encrypted to `key` (a private key) with `alg` and A256GCM. The header's alg
 * and enc must be those; everything else that fails is one JoseError(DECRYPTION_FAILED).
 */
export function decryptCompact(jwe: string, key: JoseKey, alg: string): { plaintext: Buffer; header: Record<string, unknown> } {
  const parts = jwe.split('.');
  if (parts.length !== 5) throw new JoseError('not a compact JWE', 'parts');
  const [encodedHeader, encodedKey, encodedIv, encodedCiphertext, encodedTag] = parts as [string, string, string, string, string];
  const header = parseHeader(encodedHeader, 'JWE protected header', true);
  if (header.alg !== alg) throw new JoseError(`the JWE alg must be ${alg}`, 'alg');
  if (header.enc !== 'A256GCM') throw new JoseError('the JWE enc must be A256GCM', 'enc');
  const encryptedKey = unb64(encodedKey, 'JWE encrypted key');
  const iv = unb64(encodedIv, 'JWE iv');
  const ciphertext = unb64(encodedCiphertext, 'JWE ciphertext');
  const tag = unb64(encodedTag, 'JWE tag');
  if (iv.length !== A256GCM_IV) throw new JoseError(DECRYPTION_FAILED, 'iv length');
  if (tag.length !== A256GCM_TAG) throw new JoseError(DECRYPTION_FAILED, 'tag length');
  const privateKey = toKeyObject(key);

  let cek: Buffer;
  if (alg === 'ECDH-ES+A256KW') {
    const curve = curveOf(privateKey);
    const epk = header.epk as Record<string, unknown> | undefined;
    if (
      typeof epk !== 'object' ||
      epk === null ||
      Array.isArray(epk) ||
      epk.kty !== 'EC' ||
      epk.crv !== curve.crv ||
      typeof epk.x !== 'string' ||
      typeof epk.y !== 'string' ||
      PRIVATE_JWK_MEMBERS.some((member) => Object.hasOwn(epk, member))
    ) {
      throw new JoseError(DECRYPTION_FAILED, 'epk not an EC key on the recipient curve');
    }
    const x = unb64(epk.x, 'JWE epk x');
    const y = unb64(epk.y, 'JWE epk y');
    if (x.length !== curve.sizes || y.length !== curve.sizes) throw new JoseError(DECRYPTION_FAILED, 'epk coordinate length');
    if (encryptedKey.length !== CEK_BYTES + 8) throw new JoseError(DECRYPTION_FAILED, 'encrypted key length');
    const [apu, apv] = partyInfo(optionalBytes(header, 'apu'), optionalBytes(header, 'apv'));
    let z: Buffer;
    try {
      // OpenSSL refuses a point that is not on the curve (invalid-curve attacks). An ECDH object
      // of the recipient key takes the raw point: no KeyObject made per message (a third of the
      // key agreement's cost).
      z = recipientEcdh(privateKey, curve).computeSecret(Buffer.concat([UNCOMPRESSED, x, y]));
    } catch {
      throw new JoseError(DECRYPTION_FAILED, 'epk not on the curve');
    }
    const kek = concatKdf(z, alg, apu, apv);
    try {
      const unwrap = createDecipheriv('id-aes256-wrap', kek, WRAP_IV);
      cek = Buffer.concat([unwrap.update(encryptedKey), unwrap.final()]);
    } catch {
      throw new JoseError(DECRYPTION_FAILED, 'key unwrap');
    }
  } else if (alg === 'RSA-OAEP-256') {
    checkRsa(privateKey, alg);
    // On any failure a random CEK, and the tag check fails as it would for a wrong key: no
    // padding oracle (RFC 7516, section 11.5).
    const random = randomBytes(CEK_BYTES);
    try {
      const decrypted = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, encryptedKey);
      cek = decrypted.length === CEK_BYTES ? decrypted : random;
    } catch {
      cek = random;
    }
  } else {
    throw new JoseError(`alg ${alg} is not supported`, 'alg');
  }

  try {
    const decipher = createDecipheriv('aes-256-gcm', cek, iv, { authTagLength: A256GCM_TAG });
    decipher.setAAD(Buffer.from(encodedHeader, 'ascii'));
    decipher.setAuthTag(tag);
    const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    return { plaintext, header };
  } catch {
    throw new JoseError(DECRYPTION_FAILED, 'tag');
  }
}

interface JwsAlgorithm {
  hash: 'sha256' | 'sha384';
  type: 'ec' | 'rsa';
  curve?: string;
  /** ECDSA signature bytes (r || s) */
  size?: number;
  pss?: boolean;
}

const JWS: Record<string, JwsAlgorithm> = {
  ES256: { hash: 'sha256', type: 'ec', curve: 'prime256v1', size: 64 },
  ES384: { hash: 'sha384', type: 'ec', curve: 'secp384r1', size: 96 },
  RS256: { hash: 'sha256', type: 'rsa' },
  PS256: { hash: 'sha256', type: 'rsa', pss: true },
};

function jwsAlgorithm(alg: unknown, key: KeyObject): JwsAlgorithm {
  const spec = typeof alg === 'string' ? JWS[alg] : undefined;
  if (!spec) throw new JoseError(`JWS alg ${String(alg)} is not supported`, 'alg');
  if (key.asymmetricKeyType !== spec.type || (spec.curve && key.asymmetricKeyDetails?.namedCurve !== spec.curve)) {
    throw new JoseError(`the key does not fit JWS alg ${String(alg)}`, 'key type');
  }
  if (spec.type === 'rsa') checkRsa(key, String(alg));
  return spec;
}

function signatureKey(key: KeyObject, spec: JwsAlgorithm) {
  if (spec.type === 'ec') return { key, dsaEncoding: 'ieee-p1363' as const };
  if (spec.pss) return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
  return { key, padding: constants.RSA_PKCS1_PADDING };
}

export interface SignHeader {
  alg: string;
  typ?: string;
  kid?: string;
}

/** A compact JWS of `payload` signed with `key` (a private key fitting `header.alg`). */
export function signCompact(payload: Uint8Array, key: JoseKey, header: SignHeader): string {
  const privateKey = toKeyObject(key);
  const spec = jwsAlgorithm(header.alg, privateKey);
  const input = `${b64(Buffer.from(JSON.stringify(header), 'utf8'))}.${b64(payload)}`;
  const signature = sign(spec.hash, Buffer.from(input, 'ascii'), signatureKey(privateKey, spec));
  return `${input}.${b64(signature)}`;
}

/**
 * Verifies a compact JWS with `key` (a public key): its alg must be one of `algorithms` and fit the
 * key. Answers the payload bytes and the header.
 */
export function verifyCompact(jws: string, key: JoseKey, algorithms: readonly string[]): { payload: Buffer; header: Record<string, unknown> } {
  const parts = jws.split('.');
  if (parts.length !== 3) throw new JoseError('not a compact JWS', 'parts');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = parseHeader(encodedHeader, 'JWS protected header', false);
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) throw new JoseError(`the JWS alg ${String(header.alg)} is not allowed`, 'alg');
  const publicKey = toKeyObject(key);
  const spec = jwsAlgorithm(header.alg, publicKey);
  const payload = unb64(encodedPayload, 'JWS payload');
  const signature = unb64(encodedSignature, 'JWS signature');
  if (spec.size !== undefined && signature.length !== spec.size) throw new JoseError('the JWS signature does not verify', 'signature length');
  const input = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'ascii');
  let valid = false;
  try {
    valid = verify(spec.hash, input, signatureKey(publicKey, spec), signature);
  } catch {
    valid = false;
  }
  if (!valid) throw new JoseError('the JWS signature does not verify', 'signature');
  return { payload, header };
}

/** A public KeyObject from a JWK (EC or RSA), imported synchronously. */
export function publicKeyFromJwk(jwk: { kty?: unknown }): KeyObject {
  return createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
}
