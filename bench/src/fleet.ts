// The devices of bench:sync: a pool of device key pairs with their self-signed certificates,
// generated once in worker threads and cached on disk (outside the repository), and the registered
// devices seeded straight into a database made by DS's own migrations (SQLite or PostgreSQL), as a
// registration would have stored them.
import { createECDH, createHash, createPrivateKey, createPublicKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { script } from './lib.js';

/** One device's key pair (P-256) and certificate, as the bench keeps them. */
export interface DeviceKeyMaterial {
  /** base64url coordinates and private scalar of the P-256 key. */
  x: string;
  y: string;
  d: string;
  /** The self-signed certificate (DER). */
  certificate: Buffer;
}

// --- A minimal DER writer: enough for a self-signed X.509 v3 certificate. ---
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}
const seq = (...c: Buffer[]) => der(0x30, ...c);
const ECDSA_SHA256 = seq(Buffer.from('06082a8648ce3d040302', 'hex'));
const name = (cn: string) => seq(der(0x31, seq(Buffer.from('0603550403', 'hex'), der(0x0c, Buffer.from(cn)))));
const utcTime = (d: Date) => der(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`));

/**
 * A new P-256 key pair and its self-signed certificate (ecdsa-with-SHA256, valid from a day before
 * `now` for ten years): what a T1C installation registers with.
 */
export function newDeviceKey(now: Date): DeviceKeyMaterial {
  // Not generateKeyPairSync: on Node 20.20 it deadlocks after a few hundred calls (a garbage
  // collection destroys a key generation job while its mutex is held).
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const point = ecdh.getPublicKey();
  const scalar = Buffer.concat([Buffer.alloc(32), ecdh.getPrivateKey()]).subarray(-32);
  const jwk = { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url'), d: scalar.toString('base64url') };
  const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, no leading zero
  const subject = name(`T1C device ${serial.toString('hex').slice(0, 12)}`);
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))),
    der(0x02, serial),
    ECDSA_SHA256,
    subject,
    seq(utcTime(new Date(now.getTime() - 86_400_000)), utcTime(new Date(now.getTime() + 3650 * 86_400_000))),
    subject,
    publicKey.export({ format: 'der', type: 'spki' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = seq(tbs, ECDSA_SHA256, der(0x03, Buffer.from([0]), signature));
  return { x: jwk.x, y: jwk.y, d: jwk.d, certificate };
}

/** The PEM form of a DER certificate. */
export function certificatePem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

// Cache file: a header line, then per key x, y, d (32 bytes each) and the certificate (2-byte length, DER).
const MAGIC = 'ds-bench-device-keys v1\n';

function encode(keys: DeviceKeyMaterial[]): Buffer {
  return Buffer.concat(
    keys.flatMap((k) => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(k.certificate.length);
      return [Buffer.from(k.x, 'base64url'), Buffer.from(k.y, 'base64url'), Buffer.from(k.d, 'base64url'), len, k.certificate];
    }),
  );
}

function decode(buf: Buffer, count: number): DeviceKeyMaterial[] {
  const out: DeviceKeyMaterial[] = [];
  let at = 0;
  while (at < buf.length && out.length < count) {
    const x = buf.subarray(at, at + 32).toString('base64url');
    const y = buf.subarray(at + 32, at + 64).toString('base64url');
    const d = buf.subarray(at + 64, at + 96).toString('base64url');
    const len = buf.readUInt16BE(at + 96);
    out.push({ x, y, d, certificate: Buffer.from(buf.subarray(at + 98, at + 98 + len)) });
    at += 98 + len;
  }
  return out;
}

/** Generates `count` keys in worker threads (one per core), `progress` called with the number done. */
async function generateKeys(count: number, progress: (done: number) => void): Promise<Buffer[]> {
  const threads = Math.max(1, cpus().length);
  const per = Math.ceil(count / threads);
  const done = new Array<number>(threads).fill(0);
  return Promise.all(
    Array.from({ length: threads }, (_, t) => {
      const n = Math.max(0, Math.min(per, count - t * per));
      return new Promise<Buffer>((resolve, reject) => {
        const worker = new Worker(script('sync-crypto'), { workerData: { task: 'keys', count: n } });
        const parts: Buffer[] = [];
        worker.on('message', (m: { part?: Uint8Array; done?: number }) => {
          if (m.part) parts.push(Buffer.from(m.part));
          if (m.done !== undefined) {
            done[t] = m.done;
            progress(done.reduce((a, b) => a + b, 0));
          }
        });
        worker.once('error', reject);
        worker.once('exit', (code) => (code === 0 ? resolve(Buffer.concat(parts)) : reject(new Error(`key generation worker exited ${code}`))));
      });
    }),
  );
}

/** Worker side of `generateKeys`: keys in chunks of 1,000, posted as they are made. */
export function generateKeysInWorker(count: number, post: (m: { part?: Uint8Array; done?: number }) => void): void {
  const now = new Date();
  for (let done = 0; done < count; ) {
    const n = Math.min(1000, count - done);
    const part = encode(Array.from({ length: n }, () => newDeviceKey(now)));
    done += n;
    post({ part, done });
  }
}

/**
 * `count` device keys from the cache in `dir` (`device-keys-ec.bin`), generating what is missing
 * (appended, so a larger fleet later reuses the keys made before).
 */
export async function deviceKeyPool(dir: string, count: number, say: (s: string) => void): Promise<DeviceKeyMaterial[]> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'device-keys-ec.bin');
  let have: DeviceKeyMaterial[] = [];
  if (existsSync(path)) {
    const buf = readFileSync(path);
    if (buf.subarray(0, MAGIC.length).toString() === MAGIC) have = decode(buf.subarray(MAGIC.length), count);
  }
  if (have.length >= count) return have.slice(0, count);
  const missing = count - have.length;
  const started = performance.now();
  say(`generating ${missing.toLocaleString('en-US')} device key pairs and certificates (once; cached in ${dir})… `);
  let last = 0;
  const parts = await generateKeys(missing, (done) => {
    if (process.stderr.isTTY && done - last >= 10_000) {
      last = done;
      process.stderr.write(`${Math.round((100 * done) / missing)}% `);
    }
  });
  say(`done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  writeSync(fd, Buffer.from(MAGIC));
  writeSync(fd, encode(have));
  for (const p of parts) writeSync(fd, p);
  closeSync(fd);
  renameSync(tmp, path);
  const all = [...have, ...parts.flatMap((p) => decode(p, Infinity))].slice(0, count);
  if (!certificateMatches(all[all.length - 1]!)) throw new Error('the generated device certificate does not match its key');
  return all;
}

/** A device row as a registration writes it (devices.service.ts registerDevice), with the given id. */
export interface SeedDevice {
  id: string;
  certFingerprint: string;
  certificate: string;
  publicJwk: string;
  keyAlg: string;
}

/** The registration's view of a key: fingerprint of the certificate, public JWK and algorithms. */
export function seedDevice(id: string, key: DeviceKeyMaterial): SeedDevice {
  return {
    id,
    certFingerprint: createHash('sha256').update(key.certificate).digest('hex'),
    certificate: certificatePem(key.certificate).trim(),
    publicJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', x: key.x, y: key.y }),
    keyAlg: 'ES256|ECDH-ES+A256KW',
  };
}

/** True when the certificate parses and is self-signed by the key (a check of the generator). */
export function certificateMatches(key: DeviceKeyMaterial): boolean {
  const cert = new X509Certificate(key.certificate);
  const jwk = cert.publicKey.export({ format: 'jwk' });
  return cert.verify(cert.publicKey) && jwk.x === key.x && jwk.y === key.y && cert.publicKey.asymmetricKeyType === 'ec';
}

const DEVICE_COLUMNS = ['id', 'cert_fingerprint', 'certificate', 'public_jwk', 'key_alg', 'version', 'os_name', 'os_version', 'os_arch', 'hostname', 'status', 'registered_at', 'last_sync_at', 'updated_at', 'jwks_version'];

function deviceValues(d: SeedDevice, version: string, jwksVersion: string, registeredAt: string): (string | null)[] {
  return [d.id, d.certFingerprint, d.certificate, d.publicJwk, d.keyAlg, version, 'Windows', '11', 'x64', null, 'ACTIVE', registeredAt, null, registeredAt, jwksVersion];
}

/** Inserts `devices` into the SQLite database at `path` (statements of 100 rows, one transaction per 20,000). */
export function seedSqliteDevices(path: string, devices: SeedDevice[], version: string, jwksVersion: string, registeredAt: string): void {
  const db = new SQLite(path);
  try {
    const ROWS = 100;
    const row = `(${DEVICE_COLUMNS.map(() => '?').join(', ')})`;
    const insert = (n: number) => db.prepare(`insert into devices (${DEVICE_COLUMNS.join(', ')}) values ${Array(n).fill(row).join(', ')}`);
    const many = insert(ROWS);
    for (let start = 0; start < devices.length; start += 20_000) {
      const chunk = devices.slice(start, start + 20_000);
      db.transaction(() => {
        let i = 0;
        for (; i + ROWS <= chunk.length; i += ROWS) many.run(chunk.slice(i, i + ROWS).flatMap((d) => deviceValues(d, version, jwksVersion, registeredAt)));
        if (i < chunk.length) insert(chunk.length - i).run(chunk.slice(i).flatMap((d) => deviceValues(d, version, jwksVersion, registeredAt)));
      })();
    }
    db.exec('analyze');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/** The SQL and parameters that insert `devices` on PostgreSQL in one statement (unnest of arrays). */
export function postgresDeviceInsert(devices: SeedDevice[], version: string, jwksVersion: string, registeredAt: string): { text: string; values: unknown[] } {
  const columns = DEVICE_COLUMNS.map((_, c) => devices.map((d) => deviceValues(d, version, jwksVersion, registeredAt)[c]));
  return {
    text: `insert into devices (${DEVICE_COLUMNS.join(', ')}) select * from unnest(${DEVICE_COLUMNS.map((_, i) => `$${i + 1}::text[]`).join(', ')})`,
    values: columns,
  };
}

export const removeDatabaseFiles = (path: string): void => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
};
