import { constants, createCipheriv, createECDH, createHash, createPrivateKey, createPublicKey, generateKeyPair, publicEncrypt, randomBytes, randomInt, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { CompactEncrypt, CompactSign, compactDecrypt, compactVerify, generateKeyPair as generateCryptoKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { JoseError, decryptCompact, encryptCompact, signCompact, verifyCompact } from './jose-node.js';
import { MessageError, openMessage, sealMessage, type MessageEngine } from './message.js';

// jose-node (the node:crypto path) against jose, the reference (issue 15): each opens what the
// other seals over thousands of random keys and messages, both refuse every mutation, and
// openMessage keeps the same claims rules on either engine.

type Curve = 'prime256v1' | 'secp384r1';
const CRV: Record<Curve, { crv: string; size: number; sig: string }> = {
  prime256v1: { crv: 'P-256', size: 32, sig: 'ES256' },
  secp384r1: { crv: 'P-384', size: 48, sig: 'ES384' },
};

interface Pair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** An EC key pair from createECDH (generateKeyPairSync('ec') hangs on Node 20.20 after many calls). */
function ecPair(curve: Curve): Pair {
  const { crv, size } = CRV[curve];
  const ecdh = createECDH(curve);
  const point = ecdh.generateKeys();
  const d = ecdh.getPrivateKey();
  const jwk = {
    kty: 'EC',
    crv,
    x: point.subarray(1, 1 + size).toString('base64url'),
    y: point.subarray(1 + size).toString('base64url'),
    d: Buffer.concat([Buffer.alloc(size - d.length), d]).toString('base64url'),
  };
  const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

const rsaPair = async (): Promise<Pair> => promisify(generateKeyPair)('rsa', { modulusLength: 2048 });

const ENGINES: MessageEngine[] = ['node', 'jose'];
const NOW = 1_790_000_000;
const ISSUER = 'device-1';

/** A random claims set: strings with any characters (astral ones included), numbers, nesting. */
function randomPayload(): Record<string, unknown> {
  const text = () => String.fromCodePoint(...Array.from({ length: randomInt(0, 12) }, () => [randomInt(32, 127), randomInt(160, 0xd7ff), randomInt(0x10000, 0x10ffff)][randomInt(0, 3)]!));
  const payload: Record<string, unknown> = {};
  for (let i = randomInt(0, 6); i > 0; i--) {
    payload[`k${i}${text()}`] = [text(), randomInt(-1e9, 1e9), Math.random(), [text(), randomInt(0, 99)], { nested: text() }, null, true][randomInt(0, 7)];
  }
  return payload;
}

interface Ends {
  /** The receiver's pair (DS when a device sends). */
  receiver: Pair;
  /** The sender's pair. */
  sender: Pair;
  sig: string;
  enc: string;
}

async function seal(ends: Ends, engine: MessageEngine, payload: object, extra: Partial<Parameters<typeof sealMessage>[1]> = {}): Promise<string> {
  return sealMessage(payload, {
    issuer: ISSUER,
    signingKey: ends.sender.privateKey,
    signingAlg: ends.sig,
    encryptionKey: ends.receiver.publicKey,
    encryptionAlg: ends.enc,
    now: NOW,
    jti: `jti-${randomInt(1e9)}`,
    engine,
    ...extra,
  });
}

async function open(ends: Ends, engine: MessageEngine, jwe: string, algorithms = [ends.sig]) {
  return openMessage(jwe, {
    decryptionKey: (header) => (header.alg === ends.enc ? ends.receiver.privateKey : undefined),
    verificationKey: () => ends.sender.publicKey,
    algorithms,
    issuer: ISSUER,
    now: NOW,
    engine,
  });
}

/** What openMessage answers: the claims, or the refusal's code and message. */
async function outcome(ends: Ends, engine: MessageEngine, jwe: string, algorithms?: string[]): Promise<unknown> {
  try {
    return { claims: (await open(ends, engine, jwe, algorithms)).claims };
  } catch (error) {
    if (error instanceof MessageError) return { code: error.code, message: error.message };
    throw error;
  }
}

async function expectSameRefusal(ends: Ends, jwe: string, algorithms?: string[]): Promise<{ code: string; message: string }> {
  const [node, jose] = [await outcome(ends, 'node', jwe, algorithms), await outcome(ends, 'jose', jwe, algorithms)];
  expect(node).toHaveProperty('code');
  expect(node).toEqual(jose);
  return node as { code: string; message: string };
}

const ecEnds = (curve: Curve): Ends => ({ receiver: ecPair(curve), sender: ecPair(curve), sig: CRV[curve].sig, enc: 'ECDH-ES+A256KW' });

/** Seals one way and opens the other, both ways, and checks the claims came through intact. */
async function roundTrip(ends: Ends) {
  for (const [sealer, opener] of [
    ['jose', 'node'],
    ['node', 'jose'],
  ] as const) {
    const payload = randomPayload();
    const jwe = await seal(ends, sealer, payload);
    const { claims } = await open(ends, opener, jwe);
    expect(claims).toEqual({ ...payload, iss: ISSUER, iat: NOW, exp: claims.exp, jti: claims.jti });
  }
}

describe('what one seals the other opens', { timeout: 240_000 }, () => {
  it('P-256 (ES256, ECDH-ES+A256KW): 1,000 random key pairs and messages each way', async () => {
    for (let i = 0; i < 1000; i++) await roundTrip(ecEnds('prime256v1'));
  }, 120_000);

  it('P-384 (ES384, ECDH-ES+A256KW): 200 random key pairs and messages each way', async () => {
    for (let i = 0; i < 200; i++) await roundTrip(ecEnds('secp384r1'));
  }, 120_000);

  it('RSA 2048 (RS256 and PS256, RSA-OAEP-256): 60 random key pairs, four messages each', async () => {
    const pairs = await Promise.all(Array.from({ length: 120 }, () => rsaPair()));
    for (let i = 0; i < 60; i++) {
      for (const sig of ['RS256', 'PS256']) await roundTrip({ receiver: pairs[2 * i]!, sender: pairs[2 * i + 1]!, sig, enc: 'RSA-OAEP-256' });
    }
  }, 240_000);

  it('apu and apv: jose seals with them, jose-node opens; jose-node seals with them, jose opens', async () => {
    for (let i = 0; i < 200; i++) {
      const { privateKey, publicKey } = ecPair(i % 2 ? 'prime256v1' : 'secp384r1');
      const plaintext = randomBytes(randomInt(0, 2000));
      const apu = randomBytes(randomInt(0, 40));
      const apv = randomBytes(randomInt(1, 40)); // distinct from apu: jose refuses equal ones
      const byJose = await new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' }).setKeyManagementParameters({ apu, apv }).encrypt(publicKey);
      expect(decryptCompact(byJose, privateKey, 'ECDH-ES+A256KW').plaintext.equals(plaintext)).toBe(true);
      const byNode = encryptCompact(plaintext, publicKey, { alg: 'ECDH-ES+A256KW', enc: 'A256GCM' }, { apu, apv });
      const opened = await compactDecrypt(byNode, privateKey, { keyManagementAlgorithms: ['ECDH-ES+A256KW'], contentEncryptionAlgorithms: ['A256GCM'] });
      expect(Buffer.from(opened.plaintext).equals(plaintext)).toBe(true);
    }
  });

  it('JWS alone: jose verifies what jose-node signs and the other way, for every algorithm', async () => {
    const rsa = await rsaPair();
    const keys: Record<string, Pair> = { ES256: ecPair('prime256v1'), ES384: ecPair('secp384r1'), RS256: rsa, PS256: rsa };
    for (const [alg, pair] of Object.entries(keys)) {
      for (let i = 0; i < 50; i++) {
        const payload = randomBytes(randomInt(0, 300));
        const byNode = signCompact(payload, pair.privateKey, { alg });
        expect(Buffer.from((await compactVerify(byNode, pair.publicKey, { algorithms: [alg] })).payload).equals(payload)).toBe(true);
        const byJose = await new CompactSign(payload).setProtectedHeader({ alg }).sign(pair.privateKey);
        expect(verifyCompact(byJose, pair.publicKey, [alg]).payload.equals(payload)).toBe(true);
      }
    }
  });
});

// ---- Mutations ----

const b64 = (data: Uint8Array | string) => Buffer.from(data).toString('base64url');
const unb64 = (part: string) => Buffer.from(part, 'base64url');

/**
 * A compact JWE with exactly `header` (anything in it), for a recipient key, built here by hand
 * (a third implementation, from RFC 7518). On EC an `epk` is made unless the header has one;
 * `epk: null` leaves it out.
 */
function rawJwe(header: Record<string, unknown>, recipient: KeyObject, plaintext: Uint8Array, kdf: { apu?: Buffer; apv?: Buffer } = {}): string {
  const cek = randomBytes(32);
  let encryptedKey: Buffer;
  const full = { ...header };
  if (recipient.asymmetricKeyType === 'rsa') {
    encryptedKey = publicEncrypt({ key: recipient, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
  } else {
    const curve = recipient.asymmetricKeyDetails!.namedCurve as Curve;
    const { crv, size } = CRV[curve];
    const ecdh = createECDH(curve);
    const point = ecdh.generateKeys();
    if (full.epk === null) delete full.epk;
    else full.epk ??= { kty: 'EC', crv, x: b64(point.subarray(1, 1 + size)), y: b64(point.subarray(1 + size)) };
    const jwk = recipient.export({ format: 'jwk' });
    const z = ecdh.computeSecret(Buffer.concat([Buffer.from([4]), unb64(jwk.x!), unb64(jwk.y!)]));
    const len = (b: Buffer) => Buffer.from([0, 0, 0, b.length]);
    const alg = Buffer.from('ECDH-ES+A256KW');
    const apu = kdf.apu ?? Buffer.alloc(0);
    const apv = kdf.apv ?? Buffer.alloc(0);
    const kek = createHash('sha256')
      .update(Buffer.concat([Buffer.from([0, 0, 0, 1]), z, len(alg), alg, len(apu), apu, len(apv), apv, Buffer.from([0, 0, 1, 0])]))
      .digest();
    const wrap = createCipheriv('id-aes256-wrap', kek, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'));
    encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()]);
  }
  const encodedHeader = b64(JSON.stringify(full));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', cek, iv);
  cipher.setAAD(Buffer.from(encodedHeader));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [encodedHeader, b64(encryptedKey), b64(iv), b64(ciphertext), b64(cipher.getAuthTag())].join('.');
}

/** The same JWE with part `index` decoded, changed by `change`, and encoded again. */
function mutate(jwe: string, index: number, change: (bytes: Buffer) => Buffer): string {
  const parts = jwe.split('.');
  parts[index] = b64(change(unb64(parts[index]!)));
  return parts.join('.');
}

const flip = (position: number, mask = 0x01) => (bytes: Buffer) => {
  const copy = Buffer.from(bytes);
  copy[position]! ^= mask;
  return copy;
};

/** A valid inner JWS (a JWT) by the sender, for building JWEs around. */
const innerJwt = (ends: Ends, claims: object = { iss: ISSUER, iat: NOW, exp: NOW + 60, jti: 'j-1' }, header: object = { alg: ends.sig, typ: 'JWT' }) =>
  `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;

async function signedJwt(ends: Ends, claims?: object, header?: Record<string, unknown>): Promise<string> {
  const input = innerJwt(ends, claims, header);
  const [encodedHeader, encodedPayload] = input.split('.');
  const jws = signCompact(unb64(encodedPayload!), ends.sender.privateKey, { alg: ends.sig });
  // Re-sign over the exact header given (signCompact writes its own): sign the input by hand.
  if (!header) return jws;
  const { sign } = await import('node:crypto');
  const spec = ends.sig.startsWith('ES')
    ? { key: ends.sender.privateKey, dsaEncoding: 'ieee-p1363' as const }
    : ends.sig === 'PS256'
      ? { key: ends.sender.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      : ends.sender.privateKey;
  const signature = sign(ends.sig === 'ES384' ? 'sha384' : 'sha256', Buffer.from(`${encodedHeader}.${encodedPayload}`), spec);
  return `${encodedHeader}.${encodedPayload}.${b64(signature)}`;
}

const endsOfEachKind = async (): Promise<Array<[string, Ends]>> => {
  const [a, b] = await Promise.all([rsaPair(), rsaPair()]);
  return [
    ['P-256', ecEnds('prime256v1')],
    ['P-384', ecEnds('secp384r1')],
    ['RSA', { receiver: a, sender: b, sig: 'RS256', enc: 'RSA-OAEP-256' }],
  ];
};

describe('every mutation is refused by both, the same way', { timeout: 240_000 }, () => {
  it('any changed byte of the header, encrypted key, IV, ciphertext or tag (every byte of each, every bit of some)', async () => {
    for (const [kind, [, ends]] of (await endsOfEachKind()).entries()) {
      // Sealed by either engine in turn: the refusals are the opener's.
      {
        const jwe = await seal(ends, ENGINES[kind % 2]!, { transactions: 10 });
        const parts = jwe.split('.').map(unb64);
        for (let index = 0; index < 5; index++) {
          for (let position = 0; position < parts[index]!.length; position++) {
            // Every byte once; the first bytes of each part with every bit.
            for (const mask of position < 2 ? [1, 2, 4, 8, 16, 32, 64, 128] : [1 << position % 8]) {
              const changed = mutate(jwe, index, flip(position, mask));
              if (changed === jwe) continue;
              const refusal = await expectSameRefusal(ends, changed);
              if (index > 0) expect(refusal.code).toBe('MESSAGE_DECRYPTION_FAILED');
            }
          }
        }
      }
    }
  }, 240_000);

  it('a tag of any length but 16 bytes (truncated, empty, longer) and an IV of any length but 12', async () => {
    for (const [, ends] of await endsOfEachKind()) {
      const jwe = await seal(ends, 'node', { transactions: 10 });
      for (const length of [0, 1, 4, 8, 12, 15]) await expectSameRefusal(ends, mutate(jwe, 4, (tag) => tag.subarray(0, length)));
      await expectSameRefusal(ends, mutate(jwe, 4, (tag) => Buffer.concat([tag, Buffer.from([0])])));
      for (const length of [0, 8, 11, 13, 16]) await expectSameRefusal(ends, mutate(jwe, 2, (iv) => Buffer.concat([iv, Buffer.alloc(16)]).subarray(0, length)));
      for (const index of [1, 3]) {
        await expectSameRefusal(ends, mutate(jwe, index, (bytes) => bytes.subarray(0, bytes.length - 1)));
        await expectSameRefusal(ends, mutate(jwe, index, (bytes) => Buffer.concat([bytes, Buffer.from([0])])));
      }
      // Not five parts, or not base64url.
      for (const broken of [jwe.split('.').slice(0, 4).join('.'), `${jwe}.`, jwe.replace(/\.[^.]+$/, '.!!!!'), '']) await expectSameRefusal(ends, broken);
    }
  });

  it('an epk off the curve is refused before any key agreement, on another curve or of another kind too', async () => {
    const ends = ecEnds('prime256v1');
    const plaintext = Buffer.from(await signedJwt(ends));
    const other = createECDH('secp384r1').generateKeys();
    const valid = createECDH('prime256v1').generateKeys();
    const offCurveY = Buffer.from(valid.subarray(33));
    offCurveY[31]! ^= 1;
    const cases: Array<[string, unknown, string]> = [
      ['off the curve', { kty: 'EC', crv: 'P-256', x: b64(valid.subarray(1, 33)), y: b64(offCurveY) }, 'epk not on the curve'],
      ['the point at x = y = 0', { kty: 'EC', crv: 'P-256', x: b64(Buffer.alloc(32)), y: b64(Buffer.alloc(32)) }, 'epk not on the curve'],
      ['on P-384', { kty: 'EC', crv: 'P-384', x: b64(other.subarray(1, 49)), y: b64(other.subarray(49)) }, 'epk not an EC key on the recipient curve'],
      ['P-384 coordinates called P-256', { kty: 'EC', crv: 'P-256', x: b64(other.subarray(1, 49)), y: b64(other.subarray(49)) }, 'epk coordinate length'],
      ['an OKP key', { kty: 'OKP', crv: 'X25519', x: b64(randomBytes(32)) }, 'epk not an EC key on the recipient curve'],
      ['missing', undefined, 'epk not an EC key on the recipient curve'],
      ['carrying a private key', { kty: 'EC', crv: 'P-256', x: b64(valid.subarray(1, 33)), y: b64(valid.subarray(33)), d: b64(randomBytes(32)) }, 'epk not an EC key on the recipient curve'],
    ];
    for (const [what, epk, reason] of cases) {
      const jwe = rawJwe({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', epk: epk ?? null }, ends.receiver.publicKey, plaintext);
      expect(() => decryptCompact(jwe, ends.receiver.privateKey, 'ECDH-ES+A256KW'), what).toThrow(expect.objectContaining({ reason }));
      await expectSameRefusal(ends, jwe);
    }
  });

  it('alg and enc other than expected: refused by both engines even when the JWE is otherwise valid', async () => {
    const ends = ecEnds('prime256v1');
    const rsa = { ...ends, receiver: await rsaPair(), enc: 'RSA-OAEP-256' };
    const jws = new TextEncoder().encode(await signedJwt(ends));
    const made = [
      ['ECDH-ES', 'A256GCM', ends.receiver],
      ['ECDH-ES+A128KW', 'A256GCM', ends.receiver],
      ['ECDH-ES+A256KW', 'A128GCM', ends.receiver],
      ['ECDH-ES+A256KW', 'A256CBC-HS512', ends.receiver],
      ['RSA-OAEP', 'A256GCM', rsa.receiver],
      ['RSA1_5', 'A256GCM', rsa.receiver],
      ['RSA-OAEP-256', 'A128GCM', rsa.receiver],
    ] as const;
    for (const [alg, enc, pair] of made) {
      const jwe = await new CompactEncrypt(jws).setProtectedHeader({ alg, enc }).encrypt(pair.publicKey).catch(() => undefined);
      if (!jwe) continue; // jose 6 no longer makes RSA1_5
      // The expected algorithm is the key's, as DS knows it (the server answers no key otherwise).
      const expected = pair === ends.receiver ? 'ECDH-ES+A256KW' : 'RSA-OAEP-256';
      expect(() => decryptCompact(jwe, pair.privateKey, expected), `${alg}/${enc}`).toThrow(JoseError);
      await expect(compactDecrypt(jwe, pair.privateKey, { keyManagementAlgorithms: [expected], contentEncryptionAlgorithms: ['A256GCM'] })).rejects.toThrow();
      await expectSameRefusal(pair === ends.receiver ? ends : rsa, jwe);
    }
    // A key of the wrong kind for the alg named.
    const jwe = await seal(ends, 'jose', {});
    expect(() => decryptCompact(jwe, rsa.receiver.privateKey, 'RSA-OAEP-256')).toThrow(JoseError);
    expect(() => decryptCompact(jwe, ends.receiver.privateKey, 'dir')).toThrow(JoseError);
  });

  it('zip, crit and b64:false headers, on the JWE and on the JWS inside', async () => {
    for (const [, ends] of await endsOfEachKind()) {
      const jws = Buffer.from(await signedJwt(ends));
      const base = { alg: ends.enc, enc: 'A256GCM', cty: 'JWT' };
      for (const extra of [{ zip: 'DEF' }, { crit: ['exp'], exp: 1 }, { crit: ['b64'], b64: false }, { crit: [] }, { crit: 'b64' }]) {
        await expectSameRefusal(ends, rawJwe({ ...base, ...extra }, ends.receiver.publicKey, jws));
      }
      for (const extra of [{ crit: ['b64'], b64: false }, { crit: ['exp'], exp: NOW + 60 }, { crit: [] }]) {
        const inner = await signedJwt(ends, undefined, { alg: ends.sig, typ: 'JWT', ...extra });
        await expectSameRefusal(ends, rawJwe(base, ends.receiver.publicKey, Buffer.from(inner)));
      }
      // Parameters nobody declared critical are ignored by both (RFC 7515, 4; RFC 7516, 4): b64
      // without crit means nothing, and zip means nothing on a JWS.
      const ignored = [
        rawJwe({ ...base, b64: false }, ends.receiver.publicKey, jws),
        rawJwe(base, ends.receiver.publicKey, Buffer.from(await signedJwt(ends, undefined, { alg: ends.sig, typ: 'JWT', b64: false, zip: 'DEF' }))),
      ];
      for (const jwe of ignored) {
        const [node, jose] = [await outcome(ends, 'node', jwe), await outcome(ends, 'jose', jwe)];
        expect(node).toHaveProperty('claims');
        expect(node).toEqual(jose);
      }
    }
  });

  it('an apu or apv in the header that was not in the key derivation is refused (they must enter it)', async () => {
    const ends = ecEnds('prime256v1');
    const jws = Buffer.from(await signedJwt(ends));
    const apu = randomBytes(16);
    const apv = randomBytes(16);
    // Sanity: with the same apu/apv in header and derivation it opens on both engines.
    const good = rawJwe({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', apu: b64(apu), apv: b64(apv) }, ends.receiver.publicKey, jws, { apu, apv });
    expect(await outcome(ends, 'node', good)).toHaveProperty('claims');
    expect(await outcome(ends, 'jose', good)).toHaveProperty('claims');
    const cases = [
      rawJwe({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', apu: b64(apu) }, ends.receiver.publicKey, jws),
      rawJwe({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', apv: b64(apv) }, ends.receiver.publicKey, jws),
      rawJwe({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', apu: b64(apv), apv: b64(apu) }, ends.receiver.publicKey, jws, { apu, apv }),
      rawJwe({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' }, ends.receiver.publicKey, jws, { apu }),
    ];
    for (const jwe of cases) {
      expect(() => decryptCompact(jwe, ends.receiver.privateKey, 'ECDH-ES+A256KW')).toThrow(expect.objectContaining({ reason: 'key unwrap' }));
      await expectSameRefusal(ends, jwe);
    }
    // Equal apu and apv are refused by both, even when the derivation used them.
    const same = rawJwe({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', apu: b64(apu), apv: b64(apu) }, ends.receiver.publicKey, jws, { apu, apv: apu });
    expect(() => decryptCompact(same, ends.receiver.privateKey, 'ECDH-ES+A256KW')).toThrow(expect.objectContaining({ reason: 'apu equals apv' }));
    await expectSameRefusal(ends, same);
  });

  it('RSA keys under 2048 bits, for encryption and signatures, as jose refuses them', async () => {
    const small = await promisify(generateKeyPair)('rsa', { modulusLength: 1024 });
    const ends: Ends = { receiver: small, sender: small, sig: 'RS256', enc: 'RSA-OAEP-256' };
    expect(() => encryptCompact(Buffer.from('x'), small.publicKey, { alg: 'RSA-OAEP-256', enc: 'A256GCM' })).toThrow(expect.objectContaining({ reason: 'key size' }));
    expect(() => signCompact(Buffer.from('x'), small.privateKey, { alg: 'PS256' })).toThrow(expect.objectContaining({ reason: 'key size' }));
    // Made by hand, then opened: both refuse.
    const jws = `${b64(JSON.stringify({ alg: 'RS256' }))}.${b64(JSON.stringify({ iss: ISSUER, iat: NOW, exp: NOW + 60, jti: 'j' }))}`;
    const { sign } = await import('node:crypto');
    const signed = `${jws}.${b64(sign('sha256', Buffer.from(jws), small.privateKey))}`;
    await expectSameRefusal(ends, rawJwe({ alg: 'RSA-OAEP-256', enc: 'A256GCM' }, small.publicKey, Buffer.from(signed)));
  });

  it('the inner JWS: a changed signature, header or payload byte, a signature of the wrong length, another alg', async () => {
    for (const [, ends] of await endsOfEachKind()) {
      const jws = await signedJwt(ends);
      const wrap = (inner: string) => rawJwe({ alg: ends.enc, enc: 'A256GCM', cty: 'JWT' }, ends.receiver.publicKey, Buffer.from(inner));
      const parts = jws.split('.');
      for (let index = 0; index < 3; index++) {
        const bytes = unb64(parts[index]!);
        for (let position = 0; position < bytes.length; position += Math.max(1, Math.floor(bytes.length / 40))) {
          const copy = [...parts];
          copy[index] = b64(flip(position, 1 << position % 8)(bytes));
          await expectSameRefusal(ends, wrap(copy.join('.')));
        }
      }
      const signature = unb64(parts[2]!);
      for (const changed of [signature.subarray(0, signature.length - 1), Buffer.concat([signature, Buffer.from([0])]), Buffer.alloc(0)]) {
        await expectSameRefusal(ends, wrap(`${parts[0]}.${parts[1]}.${b64(changed)}`));
      }
      // An alg the receiver does not accept, though the signature is valid for it.
      await expectSameRefusal(ends, await seal(ends, 'node', {}), [ends.sig === 'RS256' ? 'PS256' : 'ES512']);
      // alg none.
      await expectSameRefusal(ends, wrap(`${b64(JSON.stringify({ alg: 'none' }))}.${parts[1]}.`), ['none', ends.sig]);
    }
  });
});

describe('failures look the same whatever failed', { timeout: 240_000 }, () => {
  it('RSA-OAEP-256: a bad encrypted key, a key for someone else and a bad tag fail at the tag, with one message', async () => {
    const [receiver, stranger, sender] = await Promise.all([rsaPair(), rsaPair(), rsaPair()]);
    const ends: Ends = { receiver, sender, sig: 'RS256', enc: 'RSA-OAEP-256' };
    const jwe = await seal(ends, 'node', {});
    const failures = [
      mutate(jwe, 1, flip(10)),
      mutate(jwe, 1, (key) => key.subarray(0, 200)),
      mutate(jwe, 1, () => publicEncrypt({ key: receiver.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(16))),
      mutate(jwe, 4, flip(3)),
      await seal({ ...ends, receiver: stranger }, 'node', {}),
    ];
    const errors = failures.map((bad) => {
      try {
        decryptCompact(bad, receiver.privateKey, 'RSA-OAEP-256');
      } catch (error) {
        return error as JoseError;
      }
      throw new Error('opened');
    });
    expect(new Set(errors.map((e) => e.message))).toEqual(new Set(['the JWE cannot be decrypted']));
    // A padding failure is not told apart from a wrong tag: a random CEK was used on.
    expect(new Set(errors.map((e) => e.reason))).toEqual(new Set(['tag']));
    const messages = await Promise.all(failures.map((bad) => outcome(ends, 'node', bad)));
    expect(new Set(messages.map((m) => JSON.stringify(m))).size).toBe(1);
  });

  it('ECDH-ES+A256KW: unwrap and tag failures carry one message', async () => {
    const ends = ecEnds('prime256v1');
    const jwe = await seal(ends, 'node', {});
    const failures = [mutate(jwe, 1, flip(5)), mutate(jwe, 3, flip(0)), mutate(jwe, 4, flip(0)), await seal(ecEnds('prime256v1'), 'node', {})];
    // The engine's own errors, not openMessage's (which turns every decryption failure into one).
    const errors = failures.map((bad) => {
      try {
        decryptCompact(bad, ends.receiver.privateKey, 'ECDH-ES+A256KW');
      } catch (error) {
        return error as JoseError;
      }
      throw new Error('opened');
    });
    expect(new Set(errors.map((e) => e.message))).toEqual(new Set(['the JWE cannot be decrypted']));
    const outcomes = await Promise.all(failures.map((bad) => outcome(ends, 'node', bad)));
    expect(new Set(outcomes.map((m) => JSON.stringify(m))).size).toBe(1);
  });
});

describe('openMessage keeps its claims rules on either engine', { timeout: 240_000 }, () => {
  const claims = (extra: Record<string, unknown>, without: string[] = []) => {
    const base: Record<string, unknown> = { iss: ISSUER, iat: NOW, exp: NOW + 300, jti: 'j-1', ...extra };
    for (const name of without) delete base[name];
    return base;
  };
  const payloads: Array<[string, string]> = [
    ['valid', JSON.stringify(claims({ data: 1 }))],
    ['no jti', JSON.stringify(claims({}, ['jti']))],
    ['empty jti', JSON.stringify(claims({ jti: '' }))],
    ['jti of 129 characters', JSON.stringify(claims({ jti: 'x'.repeat(129) }))],
    ['jti with NUL', JSON.stringify(claims({ jti: 'a\u0000b' }))],
    ['numeric jti', JSON.stringify(claims({ jti: 5 }))],
    ['iat as a string', JSON.stringify(claims({ iat: String(NOW) }))],
    ['no exp', JSON.stringify(claims({}, ['exp']))],
    ['no iat', JSON.stringify(claims({}, ['iat']))],
    ['nbf as a string', JSON.stringify(claims({ nbf: 'soon' }))],
    ['nbf far in the future', JSON.stringify(claims({ nbf: NOW + 2e9 }))],
    ['nbf in the future', JSON.stringify(claims({ nbf: NOW + 600 }))],
    ['expired a second ago, within the skew', JSON.stringify(claims({ exp: NOW - 1 }))],
    ['expired', JSON.stringify(claims({ iat: NOW - 7200, exp: NOW - 3600 }))],
    ['lives too long', JSON.stringify(claims({ exp: NOW + 10 * 86400 }))],
    ['from the future', JSON.stringify(claims({ iat: NOW + 3600, exp: NOW + 3900 }))],
    ['another iss', JSON.stringify(claims({ iss: 'device-2' }))],
    ['no iss', JSON.stringify(claims({}, ['iss']))],
    ['aud of another', JSON.stringify(claims({ aud: 'https://elsewhere.example' }))],
    ['aud listing ours', JSON.stringify(claims({ aud: ['x', 'https://ds.example'] }))],
    ['aud ours', JSON.stringify(claims({ aud: 'https://ds.example' }))],
    ['an array', JSON.stringify([claims({})])],
    ['a string', JSON.stringify('claims')],
    ['null', 'null'],
    ['not JSON', '{"iss":'],
    ['invalid UTF-8', `{"iss":"${ISSUER}","x":"\udcff"}`],
    ['a BOM', `\ufeff${JSON.stringify(claims({}))}`], // jose's UTF-8 decoder drops it
  ];

  it('gives the same claims or the same refusal for each claims set, on both engines, for each key kind', async () => {
    for (const [kind, ends] of await endsOfEachKind()) {
      for (const [what, json] of payloads) {
        const payload = what === 'invalid UTF-8' ? Buffer.concat([Buffer.from(json.slice(0, 20)), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]) : Buffer.from(json);
        const jws = signCompact(payload, ends.sender.privateKey, { alg: ends.sig, typ: 'JWT' });
        const jwe = encryptCompact(Buffer.from(jws), ends.receiver.publicKey, { alg: ends.enc, enc: 'A256GCM', cty: 'JWT' });
        const answers = await Promise.all(
          ENGINES.map(async (engine) => {
            try {
              return {
                claims: (
                  await openMessage(jwe, {
                    decryptionKey: () => ends.receiver.privateKey,
                    verificationKey: () => ends.sender.publicKey,
                    algorithms: [ends.sig],
                    issuer: ISSUER,
                    audience: 'https://ds.example',
                    now: NOW,
                    engine,
                  })
                ).claims,
              };
            } catch (error) {
              if (error instanceof MessageError) return { code: error.code, message: error.message };
              throw error;
            }
          }),
        );
        expect(answers[0], `${kind}: ${what}`).toEqual(answers[1]);
        if (['valid', 'aud listing ours', 'aud ours', 'nbf in the future', 'expired a second ago, within the skew', 'a BOM'].includes(what)) expect(answers[0], what).toHaveProperty('claims');
        else expect(answers[0], what).toHaveProperty('code');
      }
    }
  });

  it('seals the same claims in the same order as jose', async () => {
    const ends = ecEnds('prime256v1');
    const payload = { b: 1, a: [2], c: { d: 'é' } };
    const options = { jti: 'j-7', audience: 'https://ds.example' };
    const inner = async (engine: MessageEngine) => {
      const jwe = await seal(ends, engine, payload, options);
      const jws = decryptCompact(jwe, ends.receiver.privateKey, 'ECDH-ES+A256KW').plaintext.toString();
      return { header: JSON.parse(unb64(jws.split('.')[0]!).toString()), claims: unb64(jws.split('.')[1]!).toString(), outer: JSON.parse(unb64(jwe.split('.')[0]!).toString()) };
    };
    const [node, jose] = [await inner('node'), await inner('jose')];
    expect(node.claims).toBe(jose.claims);
    expect(node.header).toEqual(jose.header);
    expect(Object.keys(node.outer).sort()).toEqual(Object.keys(jose.outer).sort());
    expect({ ...node.outer, epk: undefined }).toEqual({ ...jose.outer, epk: undefined });
    // jose's own SignJWT, for the record of what it writes.
    const reference = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'JWT' }).setIssuer(ISSUER).setIssuedAt(NOW).setExpirationTime(NOW + 300).setJti('j-7').setAudience('https://ds.example').sign(ends.sender.privateKey);
    expect(Object.keys(JSON.parse(unb64(reference.split('.')[1]!).toString()))).toEqual(Object.keys(JSON.parse(node.claims)));
  });
});

describe('WebCrypto keys', () => {
  it('are used when extractable, and a non-extractable one is refused with what to do (Node 24 deprecates converting it, DEP0204)', async () => {
    const payload = new TextEncoder().encode('{"a":1}');
    const usable = await generateCryptoKeyPair('ES256', { extractable: true });
    expect(verifyCompact(signCompact(payload, usable.privateKey, { alg: 'ES256' }), usable.publicKey, ['ES256']).payload.toString()).toBe('{"a":1}');
    const sealed = await generateCryptoKeyPair('ES256');
    expect(sealed.privateKey.extractable).toBe(false);
    expect(() => signCompact(payload, sealed.privateKey, { alg: 'ES256' })).toThrow('a non-extractable private CryptoKey cannot be used by the node message engine: import it with { extractable: true }');
  });
});
