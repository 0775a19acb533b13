import { chmodSync, copyFileSync, existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initDs } from '../main.js';
import { startupFixture } from '../test/startup.js';
import { rekeyDatabase } from './rekey.js';

// A DS start on the embedded SQLite database without a master key in the environment: the key
// file DS makes in the data folder, and what a start refuses. SQLite pass only (vitest.config.ts).

const { config, freshDatabase, keyTexts, logs, newKeyText, start, stop, storedRows, dir, idOf } = startupFixture();

describe('embedded SQLite without DS_MASTER_KEY', () => {
  it('the first start makes master.key (mode 0600) in the data folder and encrypts the DS keys under it; later starts use it', async () => {
    const url = await freshDatabase();
    const path = join(dir(), 'data', 'master.key');
    await start(url);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    keyTexts.push(text);
    const id = idOf(text);
    const created = logs().map((l) => JSON.parse(l)).find((l) => l.msg === 'master key created');
    expect(created).toMatchObject({ path, masterKeyId: id });
    await stop();
    const rows = await storedRows(url);
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.under === id && !r.stored.includes('"d"'))).toBe(true);

    await start(url);
    expect(readFileSync(path, 'utf8')).toBe(text);
    expect(await storedRows(url)).toEqual(rows);
  });

  it('refuses to start when master.key can be read by others, and says how to fix it', async () => {
    const url = await freshDatabase();
    await initDs(config(url));
    const path = join(dir(), 'data', 'master.key');
    keyTexts.push(readFileSync(path, 'utf8'));
    chmodSync(path, 0o644);
    await expect(start(url)).rejects.toThrow(`${path} can be read or written by other users (mode 0644); it protects the DS private keys. Make it private (chmod 600 ${path})`);
    chmodSync(path, 0o600);
    await start(url);
  });

  it('refuses to start when master.key is gone but the keys are encrypted, and makes no new one', async () => {
    const url = await freshDatabase();
    await initDs(config(url));
    const path = join(dir(), 'data', 'master.key');
    keyTexts.push(readFileSync(path, 'utf8'));
    unlinkSync(path);
    await expect(start(url)).rejects.toThrow(/master\.key does not exist, but the DS private keys in this database are encrypted under a master key: restore master\.key/);
    expect(existsSync(path)).toBe(false);
  });

  it('ds keys rekey leaves master.key alone: DS refuses the old key until the new one is put in its place', async () => {
    const url = await freshDatabase();
    await initDs(config(url));
    const path = join(dir(), 'data', 'master.key');
    const oldId = idOf(readFileSync(path, 'utf8'));
    keyTexts.push(readFileSync(path, 'utf8'));
    const newFile = join(dir(), 'new.key');
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
    await start(url);
  });
});
