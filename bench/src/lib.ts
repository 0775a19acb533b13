// Shared pieces of the benchmarks: starting a built DS as a child process and talking to it.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ADMIN_PASSWORD = 'bench-admin-password';

/** The path of a compiled bench script (`script('sync-load')`), to run as its own process. */
export const script = (name: string): string => fileURLToPath(new URL(`./${name}.js`, import.meta.url));

export interface RunningDs {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts `ds serve` on a free port; resolves with its URL and a stop function. */
export async function startDs({ databaseUrl, env = {}, logFile, nodeArgs: extraNodeArgs = [] }: { databaseUrl: string; env?: Record<string, string>; logFile?: string; nodeArgs?: string[] }): Promise<RunningDs> {
  // BENCH_DS_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the DS process.
  const nodeArgs = [...(process.env.BENCH_DS_NODE_ARGS ?? '').split(' ').filter(Boolean), ...extraNodeArgs];
  const child = spawn(process.execPath, [...nodeArgs, script('ds-server'), databaseUrl], {
    env: { ...process.env, DS_ADMIN_PASSWORD: ADMIN_PASSWORD, DS_LOG_LEVEL: process.env.BENCH_DS_LOG_LEVEL ?? 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log = logFile ? createWriteStream(logFile) : null;
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`DS did not start:\n${buffer}`));
    }, 60_000);
    let started = false;
    child.stderr.on('data', (chunk) => {
      log?.write(chunk);
      if (started) return;
      buffer += chunk;
      const match = /DS is listening on (http\S+)/.exec(buffer);
      if (match?.[1]) {
        clearTimeout(timer);
        started = true;
        resolve(match[1]);
      }
      if (buffer.length > 100_000) buffer = buffer.slice(-10_000);
    });
    child.once('exit', (code) => reject(new Error(`DS exited with ${code}:\n${buffer}`)));
  });
  // (The listener above keeps writing the log after the start, once per chunk.)
  const stop = () =>
    new Promise<void>((resolve) => {
      child.once('exit', () => {
        log?.end();
        resolve();
      });
      child.kill('SIGTERM');
    });
  return { url, pid: child.pid!, stop };
}

/**
 * Calls DS's API at `/v3_5${path}`; answers the envelope's `data` as `T` (the fields the caller
 * reads, not validated), throws on an error status.
 */
export async function api<T = unknown>(
  url: string,
  method: string,
  path: string,
  { token, body, headers = {} }: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<T> {
  const res = await fetch(`${url}/v3_5${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as { data?: unknown };
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json.data as T;
}

/** The `p`th percentile of ascending `sorted` (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `worker` over `items` with at most `concurrency` at once. */
export async function pool<T>(items: readonly T[], concurrency: number, worker: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await worker(items[i]!, i);
      }
    }),
  );
}

export const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
