// Worker threads of bench:sync: device key generation, sealing the devices' messages, and the two
// crypto-only baselines a DS sync is compared with, each thread doing its share:
// - jose: what DS's openMessage/sealMessage do for one sync on the jose engine (jose 6 over
//   WebCrypto, DS_MESSAGE_ENGINE=jose);
// - jose-node: the same on the node engine (jose-node.ts, DS's default), with KeyObjects as DS has;
// - primitives: the same operations called directly through node:crypto KeyObjects (ECDH or
//   RSA-OAEP, Concat KDF, AES key wrap, AES-GCM, ECDSA/RSA signatures), no JOSE framing.
// In fleet mode ("cold") every message also pays the import of its device's public key, as DS
// does when the device is not in its key cache.
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  createECDH,
  privateDecrypt,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { openMessage, publicKeyFromJwk, sealMessage, DEVICE_ALGORITHMS, type JoseKey, type MessageEngine } from '@ds/shared';
import { generateKeysInWorker } from './fleet.js';

/** A DS key as the bench read it from DS's database (private JWK decrypted). */
export interface DsKeyJwk {
  kid: string;
  alg: string;
  publicJwk: JWK;
  privateJwk: JWK;
}

/** A message to seal: the device (id and P-256 key) and its payload. */
export interface SealJob {
  id: string;
  x: string;
  y: string;
  d: string;
  payload: object;
  jti: string;
}

/** A sealed message and its device's public key (what DS has on the device's row). */
export interface BaselineMessage {
  id: string;
  body: string;
  x: string;
  y: string;
}

export type CryptoTask =
  | { task: 'keys'; count: number }
  | { task: 'seal'; jobs: SealJob[]; enc: { kid: string; alg: string; publicJwk: JWK }; now: number }
  | BaselineTask;

/** A crypto-only baseline over `messages`. */
export interface BaselineTask {
  task: 'jose' | 'jose-node' | 'primitives';
  messages: BaselineMessage[];
  enc: DsKeyJwk;
  sig: DsKeyJwk;
  cold: boolean;
  concurrency: number;
}

/** What a baseline thread answers once it ran its share. */
export interface BaselineResult {
  count: number;
  cpuMs: number;
}

const post = (m: unknown) => parentPort!.postMessage(m);

/** Runs `worker` over `items` with at most `concurrency` at once. */
async function pool<T>(items: readonly T[], concurrency: number, worker: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await worker(items[next++]!);
    }),
  );
}

/** Waits for the main thread's go, so that every thread starts its measured share together. */
const ready = () =>
  new Promise<void>((resolve) => {
    parentPort!.once('message', () => resolve());
    post({ ready: true });
  });

const deviceJwk = (m: { x: string; y: string }): JWK => ({ kty: 'EC', crv: 'P-256', x: m.x, y: m.y });
/** A representative DS answer: the sync's, with digests, intervals and the accepted count. */
const ANSWER = {
  digests: { contextConfig: 'sha256-'.padEnd(51, 'a'), sslKeystoreConfig: 'sha256-'.padEnd(51, 'b') },
  syncIntervalSeconds: 3600,
  syncFailureLimit: 5,
  accepted: { transactions: 10 },
};

/** openMessage + sealMessage of one sync on `engine`, with the keys as DS holds them for it. */
async function jose(t: BaselineTask, engine: MessageEngine) {
  // DS's own keys: CryptoKeys from its keystore (the node engine takes their KeyObjects once).
  const encKey = (await importJWK(t.enc.privateJwk, t.enc.alg, { extractable: true })) as CryptoKey;
  const sigKey = (await importJWK(t.sig.privateJwk, t.sig.alg, { extractable: true })) as CryptoKey;
  // A device's key: one KeyObject from its JWK, as DeviceKeyCache imports it for either engine.
  const keyOf = (m: BaselineMessage): { verify: JoseKey; encrypt: JoseKey } => {
    const key = publicKeyFromJwk(deviceJwk(m));
    return { verify: key, encrypt: key };
  };
  const cache = new Map<string, ReturnType<typeof keyOf>>();
  if (!t.cold) for (const m of t.messages) if (!cache.has(m.id)) cache.set(m.id, keyOf(m));
  const one = async (m: BaselineMessage) => {
    const keys = t.cold ? keyOf(m) : cache.get(m.id)!;
    const opened = await openMessage(m.body, {
      decryptionKey: () => encKey,
      verificationKey: () => keys.verify,
      algorithms: [DEVICE_ALGORITHMS.ec.sig],
      issuer: m.id,
      now: Math.floor(Date.now() / 1000),
      engine,
    });
    await sealMessage(
      { ...ANSWER, echo: opened.claims.jti },
      {
        issuer: 't1cds',
        signingKey: sigKey,
        signingAlg: t.sig.alg,
        signingKid: t.sig.kid,
        encryptionKey: keys.encrypt,
        encryptionAlg: DEVICE_ALGORITHMS.ec.enc,
        now: Math.floor(Date.now() / 1000),
        jti: crypto.randomUUID(),
        engine,
      },
    );
  };
  await one(t.messages[0]!); // warm
  await ready();
  const cpu = process.cpuUsage();
  await pool(t.messages, t.concurrency, one);
  const used = process.cpuUsage(cpu);
  post({ result: { count: t.messages.length, cpuMs: (used.user + used.system) / 1000 } satisfies BaselineResult });
}

/** The JWE parts of a compact serialization, decoded (the framing, done before the clock starts). */
function parseJwe(body: string) {
  const [h = '', ek = '', iv = '', ct = '', tag = ''] = body.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string; epk?: JWK; apu?: string; apv?: string };
  return {
    header,
    aad: Buffer.from(h, 'ascii'),
    ek: Buffer.from(ek, 'base64url'),
    iv: Buffer.from(iv, 'base64url'),
    ct: Buffer.from(ct, 'base64url'),
    tag: Buffer.from(tag, 'base64url'),
  };
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const lengthPrefixed = (b: Buffer) => Buffer.concat([u32(b.length), b]);
const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');

/** RFC 7518 4.6.2: Concat KDF (SHA-256, one round) for a 256-bit key of `alg`. */
function concatKdf(z: Buffer, alg: string, apu: Buffer, apv: Buffer): Buffer {
  return createHash('sha256')
    .update(u32(1))
    .update(z)
    .update(lengthPrefixed(Buffer.from(alg)))
    .update(lengthPrefixed(apu))
    .update(lengthPrefixed(apv))
    .update(u32(256))
    .digest();
}

function primitives(t: BaselineTask) {
  const encKey = createPrivateKey({ key: t.enc.privateJwk as never, format: 'jwk' });
  const sigKey = createPrivateKey({ key: t.sig.privateJwk as never, format: 'jwk' });
  const sigInput = Buffer.from(
    `${Buffer.from(JSON.stringify({ alg: t.sig.alg, typ: 'JWT', kid: t.sig.kid })).toString('base64url')}.${Buffer.from(JSON.stringify({ ...ANSWER, echo: crypto.randomUUID(), iss: 't1cds', iat: 0, exp: 300, jti: crypto.randomUUID() })).toString('base64url')}`,
  );
  const signAnswer = (): Buffer => {
    if (t.sig.alg === 'ES256') return sign('sha256', sigInput, { key: sigKey, dsaEncoding: 'ieee-p1363' });
    if (t.sig.alg === 'PS256') return sign('sha256', sigInput, { key: sigKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    return sign('sha256', sigInput, sigKey);
  };
  const devicePoint = (m: BaselineMessage) => Buffer.concat([Buffer.from([4]), Buffer.from(m.x, 'base64url'), Buffer.from(m.y, 'base64url')]);
  const deviceKey = (m: BaselineMessage) => createPublicKey({ key: deviceJwk(m) as never, format: 'jwk' });
  const cache = new Map<string, KeyObject>();
  if (!t.cold) for (const m of t.messages) if (!cache.has(m.id)) cache.set(m.id, deviceKey(m));
  const parsed = t.messages.map((m) => ({ m, jwe: parseJwe(m.body) }));
  const one = ({ m, jwe }: (typeof parsed)[number]) => {
    // Open: unwrap the content key, decrypt, verify the device's signature.
    let cek: Buffer;
    if (jwe.header.alg === 'ECDH-ES+A256KW') {
      const epk = createPublicKey({ key: jwe.header.epk as never, format: 'jwk' });
      const kek = concatKdf(diffieHellman({ privateKey: encKey, publicKey: epk }), jwe.header.alg, Buffer.from(jwe.header.apu ?? '', 'base64url'), Buffer.from(jwe.header.apv ?? '', 'base64url'));
      const unwrap = createDecipheriv('id-aes256-wrap', kek, KW_IV);
      cek = Buffer.concat([unwrap.update(jwe.ek), unwrap.final()]);
    } else {
      cek = privateDecrypt({ key: encKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, jwe.ek);
    }
    const decipher = createDecipheriv('aes-256-gcm', cek, jwe.iv);
    decipher.setAAD(jwe.aad);
    decipher.setAuthTag(jwe.tag);
    const jws = Buffer.concat([decipher.update(jwe.ct), decipher.final()]);
    const dot = jws.lastIndexOf(0x2e);
    const device = t.cold ? deviceKey(m) : cache.get(m.id)!;
    if (!verify('sha256', jws.subarray(0, dot), { key: device, dsaEncoding: 'ieee-p1363' }, Buffer.from(jws.subarray(dot + 1).toString(), 'base64url'))) {
      throw new Error(`the signature of ${m.id}'s message does not verify`);
    }
    // Seal: sign the answer, encrypt it to the device (ECDH-ES+A256KW, A256GCM).
    const signature = signAnswer();
    const answer = Buffer.concat([sigInput, Buffer.from('.'), Buffer.from(signature.toString('base64url'))]);
    // An ephemeral key by createECDH: generateKeyPairSync deadlocks on Node 20.20 after a few
    // hundred calls (a garbage collection destroys a key generation job while its mutex is held).
    const ephemeral = createECDH('prime256v1');
    const point = ephemeral.generateKeys();
    const epk = { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') };
    const kek = concatKdf(ephemeral.computeSecret(devicePoint(m)), 'ECDH-ES+A256KW', Buffer.alloc(0), Buffer.alloc(0));
    const key = randomBytes(32);
    const wrap = createCipheriv('id-aes256-wrap', kek, KW_IV);
    Buffer.concat([wrap.update(key), wrap.final()]);
    const cipher = createCipheriv('aes-256-gcm', key, randomBytes(12));
    cipher.setAAD(Buffer.from(JSON.stringify({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', cty: 'JWT', epk })));
    Buffer.concat([cipher.update(answer), cipher.final(), cipher.getAuthTag()]);
  };
  one(parsed[0]!); // warm, and a check that the primitives open DS's messages
  return ready().then(() => {
    const cpu = process.cpuUsage();
    for (const p of parsed) one(p);
    const used = process.cpuUsage(cpu);
    post({ result: { count: parsed.length, cpuMs: (used.user + used.system) / 1000 } satisfies BaselineResult });
  });
}

async function seal(t: Extract<CryptoTask, { task: 'seal' }>) {
  const enc = (await importJWK(t.enc.publicJwk, t.enc.alg)) as CryptoKey;
  const out: string[] = [];
  for (const job of t.jobs) {
    const signingKey = (await importJWK({ kty: 'EC', crv: 'P-256', x: job.x, y: job.y, d: job.d }, DEVICE_ALGORITHMS.ec.sig, { extractable: true })) as CryptoKey;
    out.push(
      await sealMessage(job.payload, {
        issuer: job.id,
        signingKey,
        signingAlg: DEVICE_ALGORITHMS.ec.sig,
        encryptionKey: enc,
        encryptionAlg: t.enc.alg,
        encryptionKid: t.enc.kid,
        now: t.now,
        jti: job.jti,
      }),
    );
  }
  post({ sealed: out });
}

const task = workerData as CryptoTask;
if (task.task === 'keys') generateKeysInWorker(task.count, post);
else if (task.task === 'seal') await seal(task);
else if (task.task === 'jose') await jose(task, 'jose');
else if (task.task === 'jose-node') await jose(task, 'node');
else await primitives(task);
