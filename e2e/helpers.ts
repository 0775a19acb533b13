// Small helpers of the end-to-end tests: run the built `ds`, start `ds serve`, parse CSV, check JWTs.
import { spawn, type ChildProcess } from 'node:child_process';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The built CLI; the test script builds it before running the tests. */
export const DS_BIN = join(ROOT, 'packages', 'cli', 'dist', 'index.js');

/** `require` as seen from the server package: pg and better-sqlite3 are its dependencies, not the root's. */
export const requireFromServer = createRequire(join(ROOT, 'packages', 'server', 'package.json'));

export interface DsResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of every child: only what is given, so no DS_URL, DS_TOKEN, DS_PROFILE or
 * DATABASE_URL leaks in from the machine running the tests; CI=true so nothing prompts.
 */
export function cleanEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, CI: 'true', NO_COLOR: '1', LANG: 'C.UTF-8', ...extra };
}

/** Runs `ds args` to completion; stdin gets `stdin` (or nothing) and is closed. */
export function runDs(args: string[], options: { env: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number }): Promise<DsResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DS_BIN, ...args], { env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ds ${args.join(' ')} did not finish in ${options.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** `ds args` in the background (a load that runs until stopped): its process, and its result once it exits. */
export function startDs(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<DsResult> } {
  const child = spawn(process.execPath, [DS_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<DsResult>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

/**
 * Resolves once `check()` holds, checked every 100 ms: for conditions nothing announces (counts in
 * a server's log, a state in the database). Fails after `ms`, naming what it waited for.
 */
export async function waitUntil(check: () => boolean, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `ds serve` running in the background, with everything it wrote so far. */
export interface ServeProcess {
  child: ChildProcess;
  /** Where it listens, from its `DS is listening on <url>` line (every worker is up by then). */
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** Settles when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first JSON log line (already written or still to come) that `match` accepts. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** What `ds serve` prints once it accepts connections (packages/cli/src/commands/server/serve.ts). */
const LISTENING = /^DS is listening on (http:\/\/\S+)/m;

/**
 * Starts `ds serve --port 0 args` and resolves once it says where it listens: the port is the one
 * the server itself bound, so no other process can take it in between (a port found free and
 * closed again may be taken before the child binds it). Fails with the output when `ds serve`
 * exits first; `timeoutMs` only bounds a server that never comes up.
 */
export async function startServe(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [DS_BIN, 'serve', '--port', '0', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  const changed = () => waiters.forEach((w) => w());
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    changed();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    changed();
  });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  // 'close' comes after 'exit' once the pipes delivered everything: the output is complete then.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      exit = { code, signal };
      changed();
      resolve(exit);
    }),
  );
  /** Resolves with `check()`'s first non-undefined answer, re-checked whenever the process writes or exits. */
  const until = <T>(check: () => T | undefined, what: string, ms: number) =>
    new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(poll);
      };
      const poll = () => {
        const value = check();
        if (value !== undefined) {
          done();
          resolve(value);
        } else if (exit) {
          done();
          reject(new Error(`ds serve exited (${JSON.stringify(exit)}) before ${what}\nstderr:\n${stderr}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`ds serve did not ${what} within ${ms} ms\nstderr:\n${stderr}`));
      }, ms);
      waiters.add(poll);
      poll();
    });
  const url = await until(() => LISTENING.exec(stderr)?.[1], 'say where it listens', timeoutMs).catch((error) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    child,
    url,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForLog: (match, ms = 60_000) => until(() => jsonLines(stderr).find(match), 'log the line waited for', ms),
  };
}

/** Stops `ds serve` with SIGKILL unless it already exited (for afterAll after a failure). */
export async function killServe(server: ServeProcess | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGKILL');
  await server.exited;
}

/** The lines of `text` that are JSON objects (the server's log lines). */
export function jsonLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return out;
}

/**
 * A small, strict RFC 4180 parser: fields separated by commas, records ended by CRLF, quoted
 * fields may hold commas, line breaks and doubled quotes. Anything else throws.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (ch === '"') {
        if (![',', '\r', undefined].includes(text[i + 1])) throw new Error(`CSV: text after a closing quote at offset ${i + 1}`);
        quoted = false;
        i++;
      } else {
        field += ch;
        i++;
      }
    } else if (ch === '"' && field === '') {
      quoted = true;
      i++;
    } else if (ch === ',') {
      record.push(field);
      field = '';
      i++;
    } else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 2;
    } else if (ch === '\r' || ch === '\n' || ch === '"') {
      // RFC 4180: records end with CRLF; a bare CR or LF, or a quote, must be inside a quoted field.
      throw new Error(`CSV: unquoted ${JSON.stringify(ch)} at offset ${i}`);
    } else {
      field += ch;
      i++;
    }
  }
  if (quoted) throw new Error('CSV: unterminated quoted field');
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

/** The CSV text of one value as `ds --csv` writes it: empty for null, JSON for objects. */
export function csvText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The header and payload of a JWT, after checking its signature against a JWKS. */
export function verifyJwt(token: string, jwks: { keys: (JsonWebKey & { kid?: string })[] }) {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error(`not a JWT: ${token}`);
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as { alg: string; kid?: string; typ?: string };
  const payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as Record<string, unknown>;
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`no key ${header.kid} in the JWKS`);
  const bits = /^(?:ES|RS|PS)(256|384|512)$/.exec(header.alg)?.[1];
  if (!bits) throw new Error(`unexpected JWT algorithm ${header.alg}`);
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const data = Buffer.from(`${headerPart}.${payloadPart}`);
  const signature = Buffer.from(signaturePart, 'base64url');
  const valid = header.alg.startsWith('ES')
    ? verify(`sha${bits}`, data, { key, dsaEncoding: 'ieee-p1363' }, signature)
    : verify(`sha${bits}`, data, header.alg.startsWith('PS') ? { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */ } : key, signature);
  if (!valid) throw new Error('the JWT signature does not verify against the JWKS');
  return { header, payload };
}

/** A row of `ds report transactions --by month,label,module,use-case --json`, and of the entries `ds simulate` says DS acknowledged. */
export interface TransactionRow {
  month: string;
  label: string;
  module: string;
  useCase: string;
  transactions: number;
}

/** Transactions by month, label, module and use case: how a report and what devices were acknowledged compare, to the transaction. */
export function transactionsByKey(rows: readonly TransactionRow[]): Map<string, number> {
  return new Map(rows.map((r) => [`${r.month} ${r.label} ${r.module} ${r.useCase}`, r.transactions]));
}

/** The dialect of this pass (DS_TEST_DB), and the PostgreSQL server of the PostgreSQL pass. */
export const TEST_DIALECT: 'sqlite' | 'postgres' = process.env.DS_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';
export const POSTGRES_BASE_URL = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A database of its own for the `ds serve` processes of a test file: a SQLite file in `dir`, or a
 * new PostgreSQL schema (named after `name`) that `drop()` removes again.
 */
export async function e2eDatabase(dir: string, name: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (TEST_DIALECT === 'sqlite') return { url: join(dir, 'ds.db'), drop: async () => {} };
  const schema = `e2e_${name}_${process.pid}_${Date.now().toString(36)}`;
  const admin = async (statement: string) => {
    const pg = requireFromServer('pg');
    const client = new pg.Client({ connectionString: POSTGRES_BASE_URL });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create schema "${schema}"`);
  const url = new URL(POSTGRES_BASE_URL);
  url.search = `?options=-c%20search_path%3D${schema}`;
  return { url: url.toString(), drop: () => admin(`drop schema if exists "${schema}" cascade`) };
}
