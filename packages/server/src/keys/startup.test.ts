import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { FakeClock } from '../lib/clock.js';
import { createLogger } from '../lib/logger.js';
import { initDs, startServer, type RunningServer } from '../main.js';
import { TEST_DIALECT } from '../test/harness.js';
import { MasterKey } from './master-key.js';
import { rekeyDatabase } from './rekey.js';

// A DS start and `ds keys rekey` against a real database (a SQLite file in a fresh data folder, or
// a PostgreSQL schema of its own): where the master key comes from, and what a start refuses.

const sqliteOnly = TEST_DIALECT === 'sqlite' ? describe : describe.skip;
const postgresOnly = TEST_DIALECT === 'postgres' ? describe : describe.skip;
const postgresUrl = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let dir: string;
let schema: string | undefined;
let server: RunningServer | undefined;
let logs: string[] = [];
const clock = new FakeClock('2026-03-15T10:00:00.000Z');

afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
  if (schema) await admin((c) => c.query(`drop schema if exists "${schema}" cascade`));
  schema = undefined;
  // No key, in any form, ever reaches the log.
  for (const text of keyTexts) for (const line of logs) expect(line).not.toContain(text.trim());
  logs = [];
  keyTexts.length = 0;
});

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A database of its own: a SQLite file in a fresh data folder, or a new PostgreSQL schema. */
async function freshDatabase(): Promise<string> {
  dir = mkdtempSync(join(tmpdir(), 'ds-keys-start-'));
  if (TEST_DIALECT === 'sqlite') return join(dir, 'data', 'ds.db');
  schema = `ds_keys_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`create schema "${schema}"`));
  const url = new URL(postgresUrl);
  url.search = `${url.search ? `${url.search}&` : '?'}options=-c%20search_path%3D${schema}`;
  return url.toString();
}

const keyTexts: string[] = [];
/** A new master key's text, remembered so the log check can look for it. */
function newKeyText(): string {
  const text = randomBytes(32).toString('base64');
  keyTexts.push(text);
  return text;
}

function config(databaseUrl: string, env: Record<string, string> = {}) {
  return loadConfig({ DATABASE_URL: databaseUrl, PORT: '0', DS_INSTALLER_ROOT: dir, DS_ADMIN_PASSWORD: 'admin-password-123', ...env });
}

const start = (databaseUrl: string, env: Record<string, string> = {}) =>
  startServer(config(databaseUrl, env), { clock, logger: createLogger('debug', (line) => logs.push(line)) });

/** The ds_keys rows as stored. */
async function storedRows(databaseUrl: string) {
  const handle = await openDatabase(databaseUrl);
  try {
    const { rows } = await sql<{ kid: string; stored: string; under: string | null }>`select kid, encrypted_private_jwk as stored, master_key_id as under from ds_keys order by kid`.execute(
      handle.db as unknown as Kysely<any>,
    );
    return rows;
  } finally {
    await handle.close();
  }
}

const idOf = (text: string) => MasterKey.fromText(text, 'test').id;

sqliteOnly('embedded SQLite without DS_MASTER_KEY', () => {
  it('the first start makes master.key (mode 0600) in the data folder and encrypts the DS keys under it; later starts use it', async () => {
    const url = await freshDatabase();
    const path = join(dir, 'data', 'master.key');
    server = await start(url);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    keyTexts.push(text);
    const id = idOf(text);
    const created = logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'master key created');
    expect(created).toMatchObject({ path, masterKeyId: id });
    await server.close();
    server = undefined;
    const rows = await storedRows(url);
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.under === id && !r.stored.includes('"d"'))).toBe(true);

    server = await start(url);
    expect(readFileSync(path, 'utf8')).toBe(text);
    expect(await storedRows(url)).toEqual(rows);
  });

  it('refuses to start when master.key can be read by others, and says how to fix it', async () => {
    const url = await freshDatabase();
    await initDs(config(url));
    const path = join(dir, 'data', 'master.key');
    keyTexts.push(readFileSync(path, 'utf8'));
    chmodSync(path, 0o644);
    await expect(start(url)).rejects.toThrow(`${path} can be read or written by other users (mode 0644); it protects the DS private keys. Make it private (chmod 600 ${path})`);
    chmodSync(path, 0o600);
    server = await start(url);
  });

  it('refuses to start when master.key is gone but the keys are encrypted, and makes no new one', async () => {
    const url = await freshDatabase();
    await initDs(config(url));
    const path = join(dir, 'data', 'master.key');
    keyTexts.push(readFileSync(path, 'utf8'));
    unlinkSync(path);
    await expect(start(url)).rejects.toThrow(/master\.key does not exist, but the DS private keys in this database are encrypted under a master key: restore master\.key/);
    expect(existsSync(path)).toBe(false);
  });

  it('ds keys rekey leaves master.key alone: DS refuses the old key until the new one is put in its place', async () => {
    const url = await freshDatabase();
    await initDs(config(url));
    const path = join(dir, 'data', 'master.key');
    const oldId = idOf(readFileSync(path, 'utf8'));
    keyTexts.push(readFileSync(path, 'utf8'));
    const newFile = join(dir, 'new.key');
    const newText = newKeyText();
    writeFileSync(newFile, `${newText}\n`, { mode: 0o600 });

    const result = await rekeyDatabase(config(url), { file: newFile });
    expect(result).toMatchObject({
      from: { id: oldId, source: path },
      to: { id: idOf(newText), source: `the new key file ${newFile}` },
      keySource: { kind: 'default-file', description: path },
      encrypted: [],
      unchanged: [],
      migrations: [],
      warnings: [],
    });
    expect(result.reencrypted).toHaveLength(2);
    expect(JSON.stringify(result)).not.toContain(newText);
    await expect(start(url)).rejects.toThrow(`encrypted under master key ${idOf(newText)}; ${path} holds master key ${oldId}`);
    copyFileSync(newFile, path);
    server = await start(url);
  });
});

describe(`a master key from the environment (${TEST_DIALECT})`, () => {
  it('DS_MASTER_KEY: the keys are encrypted under it; another key is refused with both ids and nothing changes; DS_MASTER_KEY_FILE works alike', async () => {
    const url = await freshDatabase();
    const right = newKeyText();
    const wrong = newKeyText();
    server = await start(url, { DS_MASTER_KEY: right });
    await server.close();
    server = undefined;
    const rows = await storedRows(url);
    expect(rows.every((r) => r.under === idOf(right))).toBe(true);

    await expect(start(url, { DS_MASTER_KEY: wrong })).rejects.toThrow(
      `this database's DS private keys are encrypted under master key ${idOf(right)}; DS_MASTER_KEY holds master key ${idOf(wrong)}`,
    );
    expect(await storedRows(url)).toEqual(rows);
    if (TEST_DIALECT === 'sqlite') expect(existsSync(join(dir, 'data', 'master.key'))).toBe(false);

    const file = join(dir, 'ds-master-key');
    writeFileSync(file, right, { mode: 0o400 });
    server = await start(url, { DS_MASTER_KEY_FILE: file });
    expect(await storedRows(url)).toEqual(rows);
  });

  it('ds keys rekey: a wrong current key changes nothing; the right one moves every key, after which only the new key starts DS', async () => {
    const url = await freshDatabase();
    const current = newKeyText();
    await initDs(config(url, { DS_MASTER_KEY: current }));
    const rows = await storedRows(url);
    const newFile = join(dir, 'new.key');
    const next = newKeyText();
    writeFileSync(newFile, next, { mode: 0o644 });

    const wrong = newKeyText();
    await expect(rekeyDatabase(config(url, { DS_MASTER_KEY: wrong }), { file: newFile })).rejects.toThrow(`encrypted under master key ${idOf(current)}; DS_MASTER_KEY holds master key ${idOf(wrong)}`);
    expect(await storedRows(url)).toEqual(rows);

    const result = await rekeyDatabase(config(url, { DS_MASTER_KEY: current }), { file: newFile });
    expect(result.from).toEqual({ id: idOf(current), source: 'DS_MASTER_KEY' });
    expect(result.keySource).toEqual({ kind: 'env', description: 'DS_MASTER_KEY' });
    expect(result.reencrypted.sort()).toEqual(rows.map((r) => r.kid));
    expect(result.warnings).toEqual([`the new key file ${newFile} can be read by other users (mode 0644); 0600 or 0400 is enough for DS`]);
    expect((await storedRows(url)).every((r) => r.under === idOf(next))).toBe(true);

    await expect(start(url, { DS_MASTER_KEY: current })).rejects.toThrow(`encrypted under master key ${idOf(next)}; DS_MASTER_KEY holds master key ${idOf(current)}`);
    server = await start(url, { DS_MASTER_KEY: next });
  });
});

postgresOnly('PostgreSQL without a master key', () => {
  it('refuses to start, naming both variables, before it changes anything', async () => {
    const url = await freshDatabase();
    await expect(start(url)).rejects.toThrow(/DS on PostgreSQL needs a master key .*set DS_MASTER_KEY .*or DS_MASTER_KEY_FILE .*the same on every DS node/);
    const tables = await admin((c) => c.query(`select table_name from information_schema.tables where table_schema = $1`, [schema]));
    expect(tables.rows).toEqual([]);
  });
});

describe('configuration', () => {
  it('DS_MASTER_KEY must be a key, and the error does not repeat it', () => {
    const bad = 'c2hvcnQ=';
    expect(() => loadConfig({ DS_MASTER_KEY: bad })).toThrow(/DS_MASTER_KEY: expected 32 random bytes in base64 or base64url/);
    try {
      loadConfig({ DS_MASTER_KEY: bad });
    } catch (error) {
      expect((error as Error).message).not.toContain(bad);
    }
    expect(loadConfig({ DS_MASTER_KEY_FILE: '/run/secrets/ds' }).masterKeyFile).toBe('/run/secrets/ds');
  });
});
