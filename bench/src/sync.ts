#!/usr/bin/env node
// bench:sync — throughput and latency of device syncs against a running DS, compared with the
// in-process cost of the JOSE work alone (decrypt, verify, sign, encrypt) for the same messages.
// Usage: node bench/dist/sync.js [--devices 1000] [--messages 4000] [--warmup 1500] [--connections 20] [--types rsa,ec]
//        [--workers 1,2]
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import { importJWK, type CryptoKey } from 'jose';
import { createDeviceIdentity, deviceKeys, openMessage, sealMessage, DEVICE_ALGORITHMS, type DeviceIdentity, type RegistrationRequest, type RegistrationResponse, type SyncRequest } from '@ds/shared';
import { MasterKey, openPrivateJwk } from '@ds/server';
import { ADMIN_PASSWORD, api, fmt, percentile, pool, script, startDs } from './lib.js';
import type { SyncLoadInput, SyncLoadResult } from './sync-load.js';

/** CPU time (ms) used so far by a process and its children (cluster workers), from /proc. */
function processTreeCpuMs(pid: number): number {
  const tick = 1000 / 100; // USER_HZ
  let total = 0;
  const visit = (p: number | string) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * tick;
      for (const task of readdirSync(`/proc/${p}/task`)) {
        for (const child of readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) visit(child);
      }
    } catch {
      // the process is gone
    }
  };
  visit(pid);
  return total;
}

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    messages: { type: 'string', default: '4000' },
    warmup: { type: 'string', default: '1500' },
    connections: { type: 'string', default: '20' },
    types: { type: 'string', default: 'rsa,ec' },
    workers: { type: 'string', default: '1,2' },
  },
});
const DEVICES = Number(args.devices);
const MESSAGES = Number(args.messages);
const WARMUP = Number(args.warmup);
const CONNECTIONS = Number(args.connections);

const work = mkdtempSync(join(tmpdir(), 'ds-bench-sync-'));
const today = new Date().toISOString().slice(0, 10);
const MODULES = ['beid', 'emv', 'luxeid', 'pkcs11', 'file-exchange'];
const USE_CASES = ['sign', 'authenticate', 'read-data', 'verify-pin'];

interface Device {
  id: string;
  identity: DeviceIdentity;
  keys: { sign: CryptoKey; decrypt: CryptoKey };
}

/** A current DS key pair, as DS keeps it, imported. */
interface DsKey {
  kid: string;
  alg: string;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

/** A JWK as a key for `alg` (jose answers a Uint8Array only for symmetric JWKs). */
const importKey = async (jwk: object, alg: string) => (await importJWK(jwk, alg)) as CryptoKey;

async function run(keyType: string, workers: number) {
  const databaseUrl = join(work, `${keyType}-${workers}.db`);
  // A master key of the bench's own, so it can read DS's private keys for the crypto-only baseline.
  const masterKeyText = randomBytes(32).toString('base64');
  // The rate limits and the daily limit stay on (their checks and counting are part of every
  // sync's cost) but set so a load of many syncs per device from one address never trips them.
  const limits = { DS_REGISTRATIONS_PER_ADDRESS_PER_HOUR: '0', DS_DEVICE_MESSAGES_PER_MINUTE: '100000', DS_DEVICE_DAILY_TRANSACTION_LIMIT: '1000000000' };
  const ds = await startDs({ databaseUrl, env: { DS_KEY_TYPE: keyType, DS_WORKERS: String(workers), DS_MASTER_KEY: masterKeyText, ...limits }, logFile: join(work, `${keyType}-${workers}.log`) });
  try {
    const { token } = await api<{ token: string }>(ds.url, 'POST', '/admin/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
    await api(ds.url, 'PUT', '/admin/organizations/bench', { token, body: {} });
    for (const l of ['bench-a', 'bench-b', 'bench-c']) await api(ds.url, 'PUT', `/admin/labels/${l}`, { token, body: { organization: 'bench' } });
    const version = await api<{ installationApiKey: string }>(ds.url, 'PUT', '/admin/versions/3.8.1', { token, body: {} });
    const installationKey = version.installationApiKey;

    process.stderr.write(`[${keyType}] registering ${DEVICES} devices… `);
    const devices: Device[] = [];
    await pool(Array.from({ length: DEVICES }), 8, async () => {
      const identity = await createDeviceIdentity('ec');
      const installToken = await api<string>(ds.url, 'GET', '/tokens/installation', { headers: { apikey: installationKey } });
      const registration: RegistrationRequest = { certificate: identity.certificatePem, version: '3.8.1', os: { name: 'Windows', version: '11', architecture: 'x64' } };
      const reg = await api<RegistrationResponse>(ds.url, 'POST', '/devices', { token: installToken, body: registration });
      devices.push({ id: reg.id, identity, keys: await deviceKeys(identity) });
    });
    process.stderr.write('done\n');

    // DS private keys, for the crypto-only baseline (read from the database and decrypted like DS does).
    const master = MasterKey.fromText(masterKeyText, 'the bench');
    const sqlite = new SQLite(databaseUrl, { readonly: true });
    const rows = sqlite
      .prepare<[], { kid: string; use: 'sig' | 'enc'; alg: string; public_jwk: string; encrypted_private_jwk: string }>(
        'select kid, use, alg, public_jwk, encrypted_private_jwk from ds_keys where retired_at is null',
      )
      .all();
    sqlite.close();
    const dsKeys: Record<string, DsKey> = {};
    for (const r of rows) {
      const privateJwk = openPrivateJwk(master, { kid: r.kid, use: r.use, alg: r.alg }, r.encrypted_private_jwk);
      dsKeys[r.use] = { kid: r.kid, alg: r.alg, publicKey: await importKey(JSON.parse(r.public_jwk), r.alg), privateKey: await importKey(privateJwk, r.alg) };
    }
    const { enc, sig } = dsKeys;
    if (!enc || !sig) throw new Error(`DS has no current ${enc ? 'signing' : 'encryption'} key`);

    process.stderr.write(`[${keyType}] sealing ${WARMUP + MESSAGES} sync messages (10 transactions each)… `);
    const now = Math.floor(Date.now() / 1000);
    const messages: { id: string; body: string; device: Device }[] = [];
    await pool(Array.from({ length: WARMUP + MESSAGES }), 16, async (_, i) => {
      const d = devices[i % devices.length]!;
      const payload: SyncRequest = {
        version: '3.8.1',
        status: 'ACTIVE',
        digests: { contextConfig: null, sslKeystoreConfig: null },
        labels: ['bench-a', 'bench-b'],
        userAgents: ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'],
        transactions: Array.from({ length: 10 }, (_, t) => ({ label: ['bench-a', 'bench-b', 'bench-c'][t % 3]!, module: MODULES[t % 5]!, useCase: USE_CASES[(t + i) % 4]!, counter: 1 + ((i + t) % 7), txDate: today })),
      };
      const body = await sealMessage(payload, {
        issuer: d.id,
        signingKey: d.keys.sign,
        signingAlg: DEVICE_ALGORITHMS.ec.sig,
        encryptionKey: enc.publicKey,
        encryptionAlg: enc.alg,
        encryptionKid: enc.kid,
        now,
        jti: crypto.randomUUID(),
      });
      messages[i] = { id: d.id, body, device: d };
    });
    process.stderr.write('done\n');

    // Crypto-only, in-process, both cores busy: what the server must do per sync at the least.
    const deviceVerify = new Map<string, CryptoKey>();
    const deviceEncrypt = new Map<string, CryptoKey>();
    for (const d of devices) {
      const jwk = { ...d.identity.publicJwk };
      deviceVerify.set(d.id, await importKey(jwk, 'ES256'));
      deviceEncrypt.set(d.id, await importKey(jwk, 'ECDH-ES+A256KW'));
    }
    const cryptoOnly = async (list: typeof messages) => {
      const started = performance.now();
      await pool(list, CONNECTIONS, async (m) => {
        const opened = await openMessage(m.body, {
          decryptionKey: () => enc.privateKey,
          verificationKey: () => deviceVerify.get(m.id),
          algorithms: ['ES256'],
          issuer: m.id,
          now: Math.floor(Date.now() / 1000),
        });
        await sealMessage({ digests: {}, accepted: { transactions: 10 }, echo: opened.claims.jti }, {
          issuer: 't1cds',
          signingKey: sig.privateKey,
          signingAlg: sig.alg,
          signingKid: sig.kid,
          encryptionKey: deviceEncrypt.get(m.id)!,
          encryptionAlg: 'ECDH-ES+A256KW',
          now: Math.floor(Date.now() / 1000),
          jti: crypto.randomUUID(),
        });
      });
      return list.length / ((performance.now() - started) / 1000);
    };
    // Measured before and after the load (same messages, same machine) and averaged, so a drift
    // in what the machine can do during the run does not bias the ratio.
    await cryptoOnly(messages.slice(0, WARMUP));
    const cpu0 = process.cpuUsage();
    const cryptoBefore = await cryptoOnly(messages.slice(WARMUP));
    const cpu1 = process.cpuUsage(cpu0);
    const cryptoCpuMsPerSync = (cpu1.user + cpu1.system) / 1000 / MESSAGES;

    // The same messages at the running DS, from a separate process.
    const file = join(work, `${keyType}-messages.json`);
    const input: SyncLoadInput = { warmup: messages.slice(0, WARMUP).map(({ id, body }) => ({ id, body })), measured: messages.slice(WARMUP).map(({ id, body }) => ({ id, body })) };
    writeFileSync(file, JSON.stringify(input));
    const dsCpuBefore = processTreeCpuMs(ds.pid);
    process.stderr.write(`[${keyType}] firing ${MESSAGES} syncs with ${CONNECTIONS} connections (after ${WARMUP} warm-up)… `);
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [script('sync-load'), file, ds.url, String(CONNECTIONS)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`load generator exited ${code}`))));
    });
    process.stderr.write('done\n');
    const load = JSON.parse(output) as SyncLoadResult;
    // Includes the warm-up: per sync over all messages fired.
    const dsCpuMsPerSync = (processTreeCpuMs(ds.pid) - dsCpuBefore) / (WARMUP + MESSAGES);
    const ok = load.statuses['200'] ?? 0;
    if (ok !== MESSAGES) throw new Error(`only ${ok} of ${MESSAGES} syncs answered 200: ${JSON.stringify(load.statuses)}`);
    // Every transaction must have been counted exactly once.
    const db = new SQLite(databaseUrl, { readonly: true });
    const counted = db.prepare<[], { n: number }>('select sum(counter) as n from label_daily_counters').get()?.n;
    db.close();
    const expected = messages.reduce((sum, m, i) => sum + Array.from({ length: 10 }, (_, t) => 1 + ((i + t) % 7)).reduce((a, b) => a + b, 0), 0);
    if (counted !== expected) throw new Error(`counted ${counted} transactions, sent ${expected}`);
    const rate = MESSAGES / load.seconds;
    const cryptoAfter = await cryptoOnly(messages.slice(WARMUP));
    const cryptoRate = (cryptoBefore + cryptoAfter) / 2;
    return { keyType, workers, cryptoBefore, cryptoAfter, rate, p50: percentile(load.latencies, 50), p99: percentile(load.latencies, 99), cryptoRate, ratio: rate / cryptoRate, dsCpuMsPerSync, loadCpuMsPerSync: load.loadCpuMsPerSync, cryptoCpuMsPerSync };
  } finally {
    await ds.stop();
  }
}

const results: Awaited<ReturnType<typeof run>>[] = [];
try {
  for (const workers of args.workers.split(',').map(Number)) {
    for (const type of args.types.split(',')) results.push(await run(type.trim(), workers));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const node = process.version;
const cpus = execFileSync('nproc').toString().trim();
console.log(`\nbench:sync — ${DEVICES} EC devices, ${MESSAGES} syncs of 10 transactions, ${CONNECTIONS} connections, SQLite, Node ${node}, ${cpus} cores`);
console.log('DS keys  workers  syncs/s   p50 ms   p99 ms   crypto-only/s (before/after)   ratio (target >= 0.80)   p99 vs 50 ms   CPU ms/sync: DS  load  crypto-only');
for (const r of results) {
  console.log(
    `${r.keyType.padEnd(8)} ${String(r.workers).padStart(7)} ${fmt(r.rate).padStart(8)} ${fmt(r.p50, 1).padStart(8)} ${fmt(r.p99, 1).padStart(8)} ${`${fmt(r.cryptoRate)} (${fmt(r.cryptoBefore)}/${fmt(r.cryptoAfter)})`.padStart(22)}          ${fmt(r.ratio, 2).padStart(5)} ${r.ratio >= 0.8 ? 'ok' : 'BELOW'}               ${fmt(r.p99 / 50, 2)} ${r.p99 < 50 ? 'ok' : 'OVER'}        ${fmt(r.dsCpuMsPerSync, 2)}  ${fmt(r.loadCpuMsPerSync, 2)}  ${fmt(r.cryptoCpuMsPerSync, 2)}`,
  );
}
