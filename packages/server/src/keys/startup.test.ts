import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { initDs } from '../main.js';
import { TEST_DIALECT } from '../test/harness.js';
import { startupFixture } from '../test/startup.js';
import { rekeyDatabase } from './rekey.js';

// A DS start and `ds keys rekey` against a real database (a SQLite file in a fresh data folder, or
// a PostgreSQL schema of its own) with the master key from the environment. The dialect-only
// cases are in startup.sqlite.test.ts and startup.postgres.test.ts.

const { config, freshDatabase, newKeyText, start, stop, storedRows, dir, idOf } = startupFixture();

describe(`a master key from the environment (${TEST_DIALECT})`, () => {
  it('DS_MASTER_KEY: the keys are encrypted under it; another key is refused with both ids and nothing changes; DS_MASTER_KEY_FILE works alike', async () => {
    const url = await freshDatabase();
    const right = newKeyText();
    const wrong = newKeyText();
    await start(url, { DS_MASTER_KEY: right });
    await stop();
    const rows = await storedRows(url);
    expect(rows.every((r) => r.under === idOf(right))).toBe(true);

    await expect(start(url, { DS_MASTER_KEY: wrong })).rejects.toThrow(
      `this database's DS private keys are encrypted under master key ${idOf(right)}; DS_MASTER_KEY holds master key ${idOf(wrong)}`,
    );
    expect(await storedRows(url)).toEqual(rows);
    if (TEST_DIALECT === 'sqlite') expect(existsSync(join(dir(), 'data', 'master.key'))).toBe(false);

    const file = join(dir(), 'ds-master-key');
    writeFileSync(file, right, { mode: 0o400 });
    await start(url, { DS_MASTER_KEY_FILE: file });
    expect(await storedRows(url)).toEqual(rows);
  });

  it('ds keys rekey: a wrong current key changes nothing; the right one moves every key, after which only the new key starts DS', async () => {
    const url = await freshDatabase();
    const current = newKeyText();
    await initDs(config(url, { DS_MASTER_KEY: current }));
    const rows = await storedRows(url);
    const newFile = join(dir(), 'new.key');
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
    await start(url, { DS_MASTER_KEY: next });
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
