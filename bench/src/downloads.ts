#!/usr/bin/env node
// bench:downloads — DS streaming an installer file against a bare Node http server piping the same
// file with fs.createReadStream, with 1 and 10 concurrent clients (a separate process), and DS's
// resident memory: idle, and its peak while serving.
// Usage: node bench/dist/downloads.js [--size-mb 256] [--rounds 2]
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DownloadLoadResult } from './downloads-load.js';
import { ADMIN_PASSWORD, api, fmt, script, startDs } from './lib.js';

const { values: args } = parseArgs({ options: { 'size-mb': { type: 'string', default: '256' }, rounds: { type: 'string', default: '2' } } });
const SIZE = Number(args['size-mb']) * 1024 * 1024;
const ROUNDS = Number(args.rounds);

const work = mkdtempSync(join(tmpdir(), 'ds-bench-downloads-'));
const root = join(work, 'installers');
mkdirSync(root);
const file = join(root, 't1c-win64.exe');
process.stderr.write(`generating a ${fmt(SIZE / 1048576)} MiB installer… `);
{
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  for (let written = 0; written < SIZE; written += chunk.length) writeSync(fd, randomFillSync(chunk), 0, Math.min(chunk.length, SIZE - written));
  closeSync(fd);
}
process.stderr.write('done\n');

/** VmRSS and VmHWM (peak) of a process and its children, in MiB. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

function load(url: string, clients: number): Promise<DownloadLoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script('downloads-load'), url, String(clients), String(ROUNDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as DownloadLoadResult) : reject(new Error(`load exited ${code}`))));
  });
}

const results: { clients: number; bare: number; ds: number; ratio: number }[] = [];
const ds = await startDs({ databaseUrl: join(work, 'ds.db'), env: { DS_INSTALLER_ROOT: root, DS_LOG_LEVEL: 'warn' } });
const bare = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': statSync(file).size });
  createReadStream(file).pipe(res);
});
await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/t1c-win64.exe`;
try {
  const { token } = await api<{ token: string }>(ds.url, 'POST', '/admin/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
  process.stderr.write('saving the version (DS hashes the file)… ');
  await api(ds.url, 'PUT', '/admin/versions/1.0.0', { token, body: { installers: [{ os: 'win64', uri: `file://${file}` }] } });
  process.stderr.write('done\n');
  const dsUrl = `${ds.url}/v3_5/downloads/installers/win64/versions/1.0.0`;
  // Warm up both, then measure.
  await load(dsUrl, 1);
  await load(bareUrl, 1);
  const idle = memory(ds.pid);
  // Reset the peak so it measures the downloads only (Linux: clear_refs 5 resets VmHWM).
  try {
    writeFileSync(`/proc/${ds.pid}/clear_refs`, '5');
  } catch {
    process.stderr.write('(cannot reset the peak RSS counter: the peak includes start-up)\n');
  }
  for (const clients of [1, 10]) {
    const bareRun = await load(bareUrl, clients);
    const dsRun = await load(dsUrl, clients);
    for (const run of [bareRun, dsRun]) {
      const expected = clients * ROUNDS * SIZE;
      if (run.bytes !== expected || run.statuses.some((s) => s !== 200)) throw new Error(`incomplete downloads: ${run.bytes} of ${expected} bytes, statuses ${[...new Set(run.statuses)]}`);
    }
    const mbps = (run: DownloadLoadResult) => run.bytes / 1048576 / run.seconds;
    results.push({ clients, bare: mbps(bareRun), ds: mbps(dsRun), ratio: mbps(dsRun) / mbps(bareRun) });
  }
  const after = memory(ds.pid);
  console.log(`\nbench:downloads — a ${fmt(SIZE / 1048576)} MiB file, ${ROUNDS} download(s) per client, Node ${process.version}`);
  console.log('clients   bare Node MiB/s   DS MiB/s   ratio (target >= 0.80)');
  for (const r of results) console.log(`${String(r.clients).padStart(7)}   ${fmt(r.bare).padStart(15)}   ${fmt(r.ds).padStart(8)}   ${fmt(r.ratio, 2).padStart(5)} ${r.ratio >= 0.8 ? 'ok' : 'BELOW'}`);
  console.log(`DS resident memory: idle ${fmt(idle.rss)} MiB, peak ${fmt(after.peak)} MiB (peak − idle ${fmt(after.peak - idle.rss)} MiB; limit 100 MiB: ${after.peak - idle.rss <= 100 ? 'ok' : 'OVER'})`);
} finally {
  bare.close();
  await ds.stop();
  rmSync(work, { recursive: true, force: true });
}
