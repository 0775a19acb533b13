// Shared pieces of the benchmarks: starting a built DS as a child process and talking to it.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ADMIN_PASSWORD = 'bench-admin-password';

/** Starts `ds serve` on a free port; resolves with its URL and a stop function. */
export async function startDs({ databaseUrl, env = {}, logFile }) {
  // BENCH_DS_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the DS process.
  const nodeArgs = (process.env.BENCH_DS_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'bench/ds-server.mjs'), databaseUrl], {
    env: { ...process.env, DS_ADMIN_PASSWORD: ADMIN_PASSWORD, DS_LOG_LEVEL: process.env.BENCH_DS_LOG_LEVEL ?? 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log = logFile ? createWriteStream(logFile) : null;
  const url = await new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`DS did not start:\n${buffer}`));
    }, 60_000);
    child.stderr.on('data', (chunk) => {
      log?.write(chunk);
      buffer += chunk;
      const match = /DS is listening on (http\S+)/.exec(buffer);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
      if (buffer.length > 100_000) buffer = buffer.slice(-10_000);
    });
    child.once('exit', (code) => reject(new Error(`DS exited with ${code}:\n${buffer}`)));
  });
  child.stderr.on('data', (chunk) => log?.write(chunk));
  const stop = () =>
    new Promise((resolve) => {
      child.once('exit', () => {
        log?.end();
        resolve();
      });
      child.kill('SIGTERM');
    });
  return { url, pid: child.pid, stop };
}

export async function api(url, method, path, { token, body, headers = {} } = {}) {
  const res = await fetch(`${url}/v3_5${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json.data;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `worker` over `items` with at most `concurrency` at once. */
export async function pool(items, concurrency, worker) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await worker(items[i], i);
      }
    }),
  );
}

export const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
