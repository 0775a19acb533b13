import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { afterEach, expect } from 'vitest';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { FakeClock } from '../lib/clock.js';
import { createLogger } from '../lib/logger.js';
import { startServer, type RunningServer } from '../main.js';
import { MasterKey } from '../keys/master-key.js';
import { TEST_DIALECT } from './harness.js';

/**
 * DS started for real on a database of its own (a SQLite file in a fresh data folder, or a new
 * PostgreSQL schema), for the tests of what a start does with the master key. Call once at the
 * top of a test file: it registers the cleanup, which also checks that no key, in any form,
 * reached the log.
 */
export function startupFixture() {
  const postgresUrl = process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  let dir = '';
  let schema: string | undefined;
  let server: RunningServer | undefined;
  let logs: string[] = [];
  const keyTexts: string[] = [];
  const clock = new FakeClock('2026-03-15T10:00:00.000Z');

  async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  async function stop(): Promise<void> {
    await server?.close();
    server = undefined;
  }

  afterEach(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    if (schema) await admin((c) => c.query(`drop schema if exists "${schema}" cascade`));
    schema = undefined;
    for (const text of keyTexts) for (const line of logs) expect(line).not.toContain(text.trim());
    logs = [];
    keyTexts.length = 0;
  });

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

  /** A new master key's text, remembered so the log check can look for it. */
  function newKeyText(): string {
    const text = randomBytes(32).toString('base64');
    keyTexts.push(text);
    return text;
  }

  function config(databaseUrl: string, env: Record<string, string> = {}) {
    return loadConfig({ DATABASE_URL: databaseUrl, PORT: '0', DS_INSTALLER_ROOT: dir, DS_ADMIN_PASSWORD: 'admin-password-123', ...env });
  }

  /** Starts DS (stopping the one started before, as a restart would). */
  async function start(databaseUrl: string, env: Record<string, string> = {}): Promise<RunningServer> {
    await stop();
    server = await startServer(config(databaseUrl, env), { clock, logger: createLogger('debug', (line) => logs.push(line)) });
    return server;
  }

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

  return {
    admin,
    config,
    freshDatabase,
    keyTexts,
    /** The log lines of the DS started last and those before it in this test. */
    logs: () => logs,
    newKeyText,
    start,
    stop,
    storedRows,
    dir: () => dir,
    schema: () => schema,
    idOf: (text: string) => MasterKey.fromText(text, 'test').id,
  };
}
