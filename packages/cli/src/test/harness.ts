import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../index.js';
import type { ContextOptions } from '../lib/context.js';
import type { Prompter } from '../lib/prompter.js';

/** One request the fake DS received. */
export interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorization: string | null;
  /** Every request header, names in lower case (If-Match, If-None-Match, ...). */
  headers: Record<string, string>;
  url: string;
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type Handler = (request: Seen) => Reply | Promise<Reply>;

export const ok = (data: unknown, status = 200): Reply => ({ status, body: { success: true, data } });
export const page = (data: unknown[], next: string | null = null): Reply => ({ status: 200, body: { success: true, data, page: { next } } });
export const fail = (status: number, code: string, description: string, requestId = 'req-1'): Reply => ({
  status,
  body: { success: false, code, description, requestId },
  headers: { 'x-request-id': requestId },
});

/**
 * A fake DS: routes are `"METHOD /path"` (path without /v3_5); anything else is a 404
 * ROUTE_NOT_FOUND, so a test notices a request it did not expect.
 */
export function fakeDs(routes: Record<string, Handler>) {
  const requests: Seen[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const headers = new Headers(init?.headers);
    const seen: Seen = {
      method: init?.method ?? 'GET',
      path: url.pathname.replace(/^\/v3_5/, ''),
      query: Object.fromEntries(url.searchParams),
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
      authorization: headers.get('authorization'),
      headers: Object.fromEntries(headers),
      url: url.toString(),
    };
    requests.push(seen);
    const handler = routes[`${seen.method} ${seen.path}`];
    const reply = handler ? await handler(seen) : fail(404, 'ROUTE_NOT_FOUND', `no route ${seen.method} ${seen.path}`);
    return new Response(JSON.stringify(reply.body), {
      status: reply.status,
      headers: { 'content-type': 'application/json', ...reply.headers },
    });
  }) as typeof globalThis.fetch;
  return { fetch, requests, find: (method: string, path: string) => requests.filter((r) => r.method === method && r.path === path) };
}

/** A prompter that answers from a queue and records every question. */
export function fakePrompter(answers: unknown[] = []) {
  const calls: { kind: keyof Prompter; message: string; options: unknown }[] = [];
  const answer = (kind: keyof Prompter) => async (options: { message: string }) => {
    calls.push({ kind, message: options.message, options });
    if (answers.length === 0) throw new Error(`unexpected prompt: ${options.message}`);
    const next = answers.shift();
    if (next instanceof Error) throw next;
    return next;
  };
  const prompter = {
    input: answer('input'),
    password: answer('password'),
    confirm: answer('confirm'),
    select: answer('select'),
  } as unknown as Prompter;
  return { prompter, calls };
}

export interface RunOptions {
  routes?: Record<string, Handler>;
  env?: NodeJS.ProcessEnv;
  terminal?: boolean;
  /** Whether stdout is a terminal (default): tables are drawn there, plain lines elsewhere. */
  stdoutTerminal?: boolean;
  answers?: unknown[];
  stdin?: string;
  /** The XDG_CONFIG_HOME to use (a fresh temporary folder by default). */
  configHome?: string;
  overrides?: Partial<ContextOptions>;
}

/** Runs `ds argv` against a fake DS and captures everything. */
export async function runDs(argv: string[], options: RunOptions = {}) {
  const ds = fakeDs(options.routes ?? {});
  const { prompter, calls } = fakePrompter(options.answers ?? []);
  let stdout = '';
  let stderr = '';
  const configHome = options.configHome ?? (await tempDir());
  const env: NodeJS.ProcessEnv = { XDG_CONFIG_HOME: configHome, DS_TOKEN: 'ds_adm_test', ...options.env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  const code = await main(argv, {
    env,
    stdout: terminalWriter(options.stdoutTerminal ?? true, (text) => (stdout += text)),
    stderr: { write: (text: string) => (stderr += text) },
    terminal: options.terminal ?? false,
    width: undefined,
    stderrTerminal: false,
    prompter,
    readStdin: async () => {
      if (options.stdin === undefined) throw new Error('test read stdin without providing it');
      return options.stdin;
    },
    fetch: ds.fetch,
    onSignal: () => () => {},
    ...options.overrides,
  });
  return { code, stdout, stderr, requests: ds.requests, find: ds.find, prompts: calls, configHome };
}

/** A stdout that says whether it is a terminal, as process.stdout does with `isTTY`. */
function terminalWriter(isTTY: boolean, write: (text: string) => unknown) {
  const writer = { isTTY, write };
  return writer;
}

const temporaryDirs: string[] = [];

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ds-cli-test-'));
  temporaryDirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(temporaryDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** A small RFC 4180 parser, independent of the code under test. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i++;
      } else {
        field += c;
        i++;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
      i++;
    } else if (c === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
    } else if (c === '\n' || c === '\r') {
      throw new Error(`bare line break at ${i}: RFC 4180 lines end with CRLF`);
    } else if (c === '"') {
      throw new Error(`quote inside an unquoted field at ${i}`);
    } else {
      field += c;
      i++;
    }
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || row.length > 0) throw new Error('the last line does not end with CRLF');
  return rows;
}

// ---------------------------------------------------------------- fixtures

export const T = '2025-01-02T03:04:05.000Z';

export function organization(name: string, extra: Record<string, unknown> = {}) {
  return { name, description: null, labelCount: 0, createdAt: T, updatedAt: T, ...extra };
}

export function label(name: string, extra: Record<string, unknown> = {}) {
  return { id: `id-${name}`, name, organization: 'acme', description: null, keys: [], createdAt: T, updatedAt: T, ...extra };
}

export function version(id: string, extra: Record<string, unknown> = {}) {
  const view = { own: null, effective: null, digest: null };
  return {
    id,
    recommended: false,
    mandatory: false,
    allowed: true,
    releaseNotes: null,
    installers: [],
    contextConfig: view,
    sslKeystoreConfig: view,
    installationKeys: [],
    publishedAt: T,
    createdAt: T,
    updatedAt: T,
    ...extra,
  };
}
