import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { MasterKeyMismatchError, openPrivateJwk, sealPrivateJwk, sealedUnder } from './at-rest.js';
import { describeSource, loadMasterKey, MasterKey, MasterKeyError, masterKeySource, parseMasterKeyText } from './master-key.js';

// Dialect-independent: the key, its sources and the stored format. The database side is in
// keys-at-rest.test.ts, on both dialects.

const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1));
const base64 = bytes.toString('base64');
const key = MasterKey.fromText(base64, 'test');
const other = MasterKey.fromText(Buffer.alloc(32, 9).toString('base64url'), 'other');

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});
const folder = () => (dir = mkdtempSync(join(tmpdir(), 'ds-master-key-')));

describe('master key text', () => {
  it.each([
    ['base64', base64],
    ['base64url without padding', bytes.toString('base64url')],
    ['a file with a trailing newline', `${base64}\n`],
  ])('accepts %s', (_name, text) => {
    expect(parseMasterKeyText(text)).toEqual(bytes);
  });

  it.each([
    ['31 bytes', Buffer.alloc(31, 1).toString('base64')],
    ['33 bytes', Buffer.alloc(33, 1).toString('base64')],
    ['hex', bytes.toString('hex')],
    ['stray bits in the last character', `${base64.slice(0, 42)}B=`],
    ['a passphrase', 'correct horse battery staple correct horse'],
  ])('refuses %s', (_name, text) => {
    expect(parseMasterKeyText(text)).toBeNull();
  });

  it('the id is the first 8 bytes of SHA-256 of the key, in hex', () => {
    expect(key.id).toBe(createHash('sha256').update(bytes).digest('hex').slice(0, 16));
    expect(MasterKey.fromText(bytes.toString('base64url'), 'x').id).toBe(key.id);
  });

  it('never shows its bytes: not in inspect, JSON, String or an error', () => {
    const shown = [inspect(key, { showHidden: true, depth: 5 }), JSON.stringify({ key }), String(key), `${key}`];
    for (const text of shown) {
      expect(text).toContain(key.id);
      expect(text).not.toContain(base64);
      expect(text).not.toContain(bytes.toString('base64url'));
      expect(text).not.toContain(bytes.toString('hex'));
    }
    const wrong = `${base64.slice(0, 40)}!!!=`;
    expect(() => MasterKey.fromText(wrong, 'DS_MASTER_KEY')).toThrow(/^DS_MASTER_KEY does not hold a master key: expected 32 random bytes/);
    try {
      MasterKey.fromText(wrong, 'DS_MASTER_KEY');
    } catch (error) {
      expect((error as Error).message).not.toContain(wrong.slice(0, 20));
    }
  });
});

describe('stored format', () => {
  const row = { kid: 'kid-1', use: 'sig', alg: 'ES256' };
  const jwk = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'secret-d-value', kid: 'kid-1' };

  it('is v1.<master key id>.<iv>.<ciphertext>.<tag> in base64url, with a fresh IV each time', () => {
    const sealed = sealPrivateJwk(key, row, jwk);
    const parts = sealed.split('.');
    expect(parts).toHaveLength(5);
    expect(parts[0]).toBe('v1');
    expect(parts[1]).toBe(key.id);
    expect(Buffer.from(parts[2]!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(parts[4]!, 'base64url')).toHaveLength(16);
    for (const part of parts.slice(2)) expect(part).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('secret-d-value');
    expect(sealedUnder(sealed)).toBe(key.id);
    expect(sealPrivateJwk(key, row, jwk).split('.')[2]).not.toBe(parts[2]);
    expect(openPrivateJwk(key, row, sealed)).toEqual(jwk);
  });

  it.each([
    ['another kid', { kid: 'kid-2' }],
    ['another use', { use: 'enc' }],
    ['another alg', { alg: 'RS256' }],
  ])('does not decrypt when moved to a row with %s', (_name, change) => {
    const sealed = sealPrivateJwk(key, row, jwk);
    expect(() => openPrivateJwk(key, { ...row, ...change }, sealed)).toThrow(/does not decrypt under master key .*altered/);
  });

  it('does not decrypt with a flipped bit, and names the key it needs when given another', () => {
    const sealed = sealPrivateJwk(key, row, jwk);
    const parts = sealed.split('.');
    const ciphertext = Buffer.from(parts[3]!, 'base64url');
    ciphertext[0]! ^= 1;
    parts[3] = ciphertext.toString('base64url');
    expect(() => openPrivateJwk(key, row, parts.join('.'))).toThrow(MasterKeyError);
    const error = (() => {
      try {
        openPrivateJwk(other, row, sealed);
      } catch (e) {
        return e as MasterKeyMismatchError;
      }
    })();
    expect(error).toBeInstanceOf(MasterKeyMismatchError);
    expect(error!.message).toContain(`encrypted under master key ${key.id}; other holds master key ${other.id}`);
    expect(() => openPrivateJwk(key, row, JSON.stringify(jwk))).toThrow(/in no known format/);
  });
});

describe('where the master key comes from', () => {
  const sqlite = { kind: 'sqlite' as const, location: '/srv/ds/data/ds.db' };
  const postgres = { kind: 'postgres' as const, location: 'postgres://ds@db/ds' };

  it('DS_MASTER_KEY, else DS_MASTER_KEY_FILE, else master.key beside the SQLite file, else (in memory) a new key', () => {
    expect(masterKeySource({ masterKey: base64 }, sqlite)).toEqual({ kind: 'env', text: base64 });
    expect(masterKeySource({ masterKeyFile: '/run/secrets/ds' }, postgres)).toEqual({ kind: 'file', path: '/run/secrets/ds' });
    expect(masterKeySource({}, sqlite)).toEqual({ kind: 'default-file', path: '/srv/ds/data/master.key' });
    expect(masterKeySource({}, { kind: 'sqlite', location: ':memory:' })).toEqual({ kind: 'memory' });
    expect(describeSource({ kind: 'env', text: base64 })).toBe('DS_MASTER_KEY');
  });

  it('refuses PostgreSQL without a key, naming both variables, and both variables at once', () => {
    expect(() => masterKeySource({}, postgres)).toThrow(/PostgreSQL needs a master key.*set DS_MASTER_KEY .* or DS_MASTER_KEY_FILE .*the same on every DS node/);
    expect(() => masterKeySource({ masterKey: base64, masterKeyFile: '/k' }, sqlite)).toThrow('both DS_MASTER_KEY and DS_MASTER_KEY_FILE (--master-key-file) are set: give one of them');
  });
});

describe('the default key file', () => {
  it('is made on first use with mode 0600 and the same key is read from it afterwards', async () => {
    const path = join(folder(), 'master.key');
    const first = await loadMasterKey({ kind: 'default-file', path });
    expect(first.created).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(parseMasterKeyText(readFileSync(path, 'utf8'))).not.toBeNull();
    expect(readdirSync(dir!)).toEqual(['master.key']);
    const again = await loadMasterKey({ kind: 'default-file', path });
    expect(again).toMatchObject({ created: false, warnings: [] });
    expect(again.key.id).toBe(first.key.id);
    expect(first.key.source).toBe(path);
  });

  it('is made with mode 0600 whatever the umask', async () => {
    const path = join(folder(), 'master.key');
    const previous = process.umask(0);
    try {
      await loadMasterKey({ kind: 'default-file', path });
    } finally {
      process.umask(previous);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it.each([0o644, 0o640, 0o604, 0o660])('refuses to use it with mode %o, saying how to fix it', async (mode) => {
    const path = join(folder(), 'master.key');
    await loadMasterKey({ kind: 'default-file', path });
    chmodSync(path, mode);
    await expect(loadMasterKey({ kind: 'default-file', path })).rejects.toThrow(`can be read or written by other users (mode 0${mode.toString(8)}); it protects the DS private keys. Make it private (chmod 600 ${path})`);
  });

  it('is not made when the database already holds encrypted keys: the missing file is to be restored', async () => {
    const path = join(folder(), 'master.key');
    await expect(loadMasterKey({ kind: 'default-file', path }, async () => false)).rejects.toThrow(/master.key does not exist, but the DS private keys in this database are encrypted under a master key: restore/);
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a file that holds no key, without quoting it', async () => {
    const path = join(folder(), 'master.key');
    writeFileSync(path, 'not a key at all, really not\n', { mode: 0o600 });
    await expect(loadMasterKey({ kind: 'default-file', path })).rejects.toThrow(`${path} does not hold a master key`);
    await expect(loadMasterKey({ kind: 'default-file', path })).rejects.not.toThrow(/really not/);
  });
});

describe('DS_MASTER_KEY_FILE', () => {
  it('reads the key; a file others can read works with a warning (secret mounts are often 0444)', async () => {
    const path = join(folder(), 'ds-master-key');
    writeFileSync(path, `${base64}\n`, { mode: 0o444 });
    chmodSync(path, 0o444);
    const loaded = await loadMasterKey({ kind: 'file', path });
    expect(loaded.key.id).toBe(key.id);
    expect(loaded.key.source).toBe(`DS_MASTER_KEY_FILE (${path})`);
    expect(loaded.warnings).toEqual([`DS_MASTER_KEY_FILE (${path}) can be read by other users (mode 0444); 0600 or 0400 is enough for DS`]);
    expect(loaded.warnings.join()).not.toContain(base64);
  });

  it('says which file is missing', async () => {
    const path = join(folder(), 'missing');
    await expect(loadMasterKey({ kind: 'file', path })).rejects.toThrow(`cannot read DS_MASTER_KEY_FILE (${path}): ENOENT`);
  });
});
