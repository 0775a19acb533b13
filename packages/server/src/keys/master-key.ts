import { createCipheriv, createDecipheriv, createHash, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { inspect } from 'node:util';

/**
 * The master key DS private keys are encrypted under (envelope encryption). It lives outside the
 * database: in `DS_MASTER_KEY`, in the file `DS_MASTER_KEY_FILE` names, or, on an embedded SQLite
 * database, in `master.key` beside the database file. Its bytes never leave this module: a
 * MasterKey prints, logs and serialises as its id only.
 */
export class MasterKey {
  /**
   * The first 8 bytes of SHA-256 of the 32 key bytes, in hex: recorded with every encrypted row so
   * DS can say which key a database needs. An operator can compute it from a key file with
   * `base64 -d master.key | sha256sum | cut -c1-16` (base64url keys: translate `-_` to `+/` first).
   */
  readonly id: string;
  /** Where it came from, for messages: `DS_MASTER_KEY`, `DS_MASTER_KEY_FILE (/run/secrets/ds)`, a path. */
  readonly source: string;
  /** The AES-256-GCM key of the v1 format, derived from the master key (HKDF-SHA256, see `derive`). */
  readonly #v1: KeyObject;

  private constructor(bytes: Buffer, source: string) {
    this.id = masterKeyId(bytes);
    this.source = source;
    this.#v1 = derive(bytes, 'ds_keys v1');
  }

  /**
   * Parses a key given as text (32 bytes in base64 or base64url, surrounding white space ignored).
   * `source` says where it came from; the error names it and never repeats the text.
   */
  static fromText(text: string, source: string): MasterKey {
    const bytes = parseMasterKeyText(text);
    if (!bytes) throw new MasterKeyError(`${source} does not hold a master key: expected 32 random bytes in base64 or base64url (make one with: openssl rand -base64 32)`);
    try {
      return new MasterKey(bytes, source);
    } finally {
      bytes.fill(0);
    }
  }

  /** A new random key, and its text (base64) for the caller to store. */
  static generate(source: string): { key: MasterKey; text: string } {
    const bytes = randomBytes(32);
    const text = bytes.toString('base64');
    try {
      return { key: new MasterKey(bytes, source), text };
    } finally {
      bytes.fill(0);
    }
  }

  /** AES-256-GCM with a random 96-bit IV under the v1 key; `aad` is authenticated, not encrypted. */
  encryptV1(plaintext: Buffer, aad: Buffer): { iv: Buffer; ciphertext: Buffer; tag: Buffer } {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#v1, iv);
    cipher.setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { iv, ciphertext, tag: cipher.getAuthTag() };
  }

  /** The plaintext, or null when the ciphertext, the tag or the additional data do not authenticate. */
  decryptV1(parts: { iv: Buffer; ciphertext: Buffer; tag: Buffer }, aad: Buffer): Buffer | null {
    if (parts.iv.length !== 12 || parts.tag.length !== 16) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#v1, parts.iv, { authTagLength: 16 });
      decipher.setAAD(aad);
      decipher.setAuthTag(parts.tag);
      return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
    } catch {
      return null;
    }
  }

  toJSON(): { id: string; source: string } {
    return { id: this.id, source: this.source };
  }

  toString(): string {
    return `MasterKey(${this.id})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** A problem with the master key or its configuration; the message never contains key material. */
export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';
}

const KEY_TEXT = /^[A-Za-z0-9+/_-]{43}=?$/;

/** The 32 bytes of a key in base64 or base64url (canonical: no stray bits), or null. */
export function parseMasterKeyText(text: string): Buffer | null {
  const trimmed = text.trim();
  if (!KEY_TEXT.test(trimmed)) return null;
  const bytes = Buffer.from(trimmed, 'base64');
  const canonical = trimmed.replace(/=$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  if (bytes.length !== 32 || bytes.toString('base64url') !== canonical) {
    bytes.fill(0);
    return null;
  }
  return bytes;
}

/** True when `text` is a well-formed master key (for validating configuration early). */
export function isMasterKeyText(text: string): boolean {
  const bytes = parseMasterKeyText(text);
  bytes?.fill(0);
  return bytes !== null;
}

function masterKeyId(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/**
 * One key per purpose and format version, so the master key can protect other secrets later
 * without two uses ever sharing an AES key.
 */
function derive(bytes: Buffer, purpose: string): KeyObject {
  const derived = Buffer.from(hkdfSync('sha256', bytes, Buffer.alloc(0), `ds master key: ${purpose}`, 32));
  try {
    return createSecretKey(derived);
  } finally {
    derived.fill(0);
  }
}

// ---------------------------------------------------------------- where the key comes from

/** Where a DS process takes its master key from; decided from configuration before the database is used. */
export type MasterKeySource =
  /** `DS_MASTER_KEY`: the key itself. */
  | { kind: 'env'; text: string }
  /** `DS_MASTER_KEY_FILE` / `--master-key-file`: a file the operator provides (a secret mount). */
  | { kind: 'file'; path: string }
  /** Embedded SQLite without either: `master.key` beside the database file, made on first start. */
  | { kind: 'default-file'; path: string }
  /** In-memory SQLite (tests): a key that lives as long as the database does. */
  | { kind: 'memory' };

export interface MasterKeySettings {
  masterKey?: string | undefined;
  masterKeyFile?: string | undefined;
}

/** The file name of the generated master key, in the folder of the SQLite database. */
export const DEFAULT_MASTER_KEY_FILE = 'master.key';

/**
 * Decides where the master key comes from. Refuses both settings at once, and PostgreSQL without
 * either: every DS node on one PostgreSQL must use the same key, so a key made by one node on its
 * own disk would lock the others out.
 */
export function masterKeySource(settings: MasterKeySettings, database: { kind: 'sqlite' | 'postgres'; location: string }): MasterKeySource {
  if (settings.masterKey && settings.masterKeyFile) throw new MasterKeyError('both DS_MASTER_KEY and DS_MASTER_KEY_FILE (--master-key-file) are set: give one of them');
  if (settings.masterKey) return { kind: 'env', text: settings.masterKey };
  if (settings.masterKeyFile) return { kind: 'file', path: resolve(settings.masterKeyFile) };
  if (database.kind === 'postgres') {
    throw new MasterKeyError(
      'DS on PostgreSQL needs a master key to encrypt its private keys at rest: set DS_MASTER_KEY (32 random bytes, base64) ' +
        'or DS_MASTER_KEY_FILE (a file holding it), the same on every DS node; make one with: openssl rand -base64 32',
    );
  }
  if (database.location === ':memory:') return { kind: 'memory' };
  return { kind: 'default-file', path: join(dirname(database.location), DEFAULT_MASTER_KEY_FILE) };
}

/** How a source is named in messages and logs (never with the key). */
export function describeSource(source: MasterKeySource): string {
  switch (source.kind) {
    case 'env':
      return 'DS_MASTER_KEY';
    case 'file':
      return `DS_MASTER_KEY_FILE (${source.path})`;
    case 'default-file':
      return source.path;
    case 'memory':
      return 'a key generated for the in-memory database';
  }
}

export interface LoadedMasterKey {
  key: MasterKey;
  /** True when this call generated the default key file. */
  created: boolean;
  /** Things worth a warning in the log (a provided key file others can read). */
  warnings: string[];
}

/**
 * Reads the master key from its source. The default file is generated (mode 0600) when it does not
 * exist, unless `mayCreate` answers false: DS asks whether the database already holds keys
 * encrypted under some master key, in which case a new key would not open them, and the missing
 * file is an error to fix (restore it) rather than to paper over.
 */
export async function loadMasterKey(source: MasterKeySource, mayCreate: () => Promise<boolean> = async () => true): Promise<LoadedMasterKey> {
  switch (source.kind) {
    case 'env':
      return { key: MasterKey.fromText(source.text, describeSource(source)), created: false, warnings: [] };
    case 'memory':
      return { key: MasterKey.generate(describeSource(source)).key, created: false, warnings: [] };
    case 'file':
      return { ...masterKeyFromFile(source.path, describeSource(source)), created: false };
    case 'default-file': {
      const existing = statOrNull(source.path);
      if (!existing) {
        if (!(await mayCreate())) {
          throw new MasterKeyError(
            `${source.path} does not exist, but the DS private keys in this database are encrypted under a master key: ` +
              `restore master.key from where the database came from (it belongs with the database in every backup), or set DS_MASTER_KEY or DS_MASTER_KEY_FILE`,
          );
        }
        const made = createKeyFile(source.path);
        if (made) return { key: made, created: true, warnings: [] };
        // Another DS process made it between our look and our write: use theirs.
      }
      const { text, mode } = readKeyFile(source.path, describeSource(source));
      // DS made this file 0600; looser means someone changed it, and a key others can read protects
      // nothing. Refuse rather than fix: chmod-ing it back would hide that it may have been copied.
      if (looseMode(mode)) {
        throw new MasterKeyError(`${source.path} can be read or written by other users (mode ${octal(mode)}); it protects the DS private keys. Make it private (chmod 600 ${source.path}) and start again`);
      }
      return { key: MasterKey.fromText(text, describeSource(source)), created: false, warnings: [] };
    }
  }
}

/**
 * A key from a file an operator provides (`DS_MASTER_KEY_FILE`, `ds keys rekey --new-key-file`).
 * Secret mounts are often 0444 (Docker) or 0644 (Kubernetes' default) inside a container whose
 * only user is DS, so such a file is not refused for its mode; it is worth a warning.
 */
export function masterKeyFromFile(path: string, source: string): { key: MasterKey; warnings: string[] } {
  const { text, mode } = readKeyFile(path, source);
  const warnings = looseMode(mode) ? [`${source} can be read by other users (mode ${octal(mode)}); 0600 or 0400 is enough for DS`] : [];
  return { key: MasterKey.fromText(text, source), warnings };
}

/** Writes a new key file atomically with mode 0600; answers null when the file appeared meanwhile. */
function createKeyFile(path: string): MasterKey | null {
  const { key, text } = MasterKey.generate(path);
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600); // whatever the umask
    writeSync(fd, `${text}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    // link() fails when the name exists, so two processes starting at once never both win, and a
    // reader never sees a half-written file.
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw new MasterKeyError(`cannot create ${path}: ${(error as Error).message}`);
  } finally {
    unlinkSync(temporary);
  }
  syncFolder(dirname(path));
  return key;
}

function syncFolder(folder: string): void {
  try {
    const fd = openSync(folder, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform can fsync a folder (Windows); the file itself is synced.
  }
}

/** The text and mode of a key file; `source` names it in errors (which never quote its content). */
function readKeyFile(path: string, source: string): { text: string; mode: number } {
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new MasterKeyError(`${source} is not a file`);
    return { text: readFileSync(path, 'utf8'), mode: stat.mode & 0o777 };
  } catch (error) {
    if (error instanceof MasterKeyError) throw error;
    throw new MasterKeyError(`cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new MasterKeyError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Group or other bits set (not checked on Windows, where modes do not say who may read). */
function looseMode(mode: number): boolean {
  return process.platform !== 'win32' && (mode & 0o077) !== 0;
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}
