import type { Jwks } from '@ds/shared';
import { recordEvent } from '../audit/audit.service.js';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import type { Db } from '../db/types.js';
import type { Clock } from '../lib/clock.js';
import { iso } from '../lib/clock.js';
import { openPrivateJwk, sealPrivateJwk } from './at-rest.js';
import { insertDsKey, makeDsKey, type KeyType } from './keys.service.js';
import { MasterKeyError, type MasterKey } from './master-key.js';

/** The row identity a sealed secret is bound to (its additional authenticated data). */
export const secretIdentity = (name: string) => ({ kid: name, use: 'secret', alg: 'HS256' });

export interface LoadedKey {
  kid: string;
  use: 'sig' | 'enc';
  alg: string;
  publicJwk: JWK;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  createdAt: string;
  retiredAt: string | null;
}

/**
 * How long a retired key stays published and usable. Signing keys: longer than any token they
 * signed lives (application JWTs 20 min by default). Encryption keys: devices encrypt to the key
 * they were given until their next sync tells them the new one, and a sync interval may be up to
 * 7 days, so twice that.
 */
export const RETENTION_SECONDS = { sig: 24 * 3600, enc: 14 * 86400 } as const;

/**
 * The DS key pairs in memory: the current signing and encryption key, and retired ones still
 * within their retention. Reloaded after a rotation, and when a message names a kid this process
 * does not know (another DS process may have rotated). Private keys are decrypted with the master
 * key when first loaded, and new ones are stored encrypted under it.
 */
export class DsKeyStore {
  private keys = new Map<string, LoadedKey>();
  private reloading: Promise<void> | undefined;
  private lastReload = 0;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly masterKey: MasterKey,
  ) {}

  static async load(db: Db, clock: Clock, masterKey: MasterKey): Promise<DsKeyStore> {
    const store = new DsKeyStore(db, clock, masterKey);
    await store.reload();
    return store;
  }

  async reload(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        const rows = await this.db.selectFrom('dsKeys').selectAll().orderBy('createdAt', 'desc').execute();
        const next = new Map<string, LoadedKey>();
        for (const row of rows) {
          const previous = this.keys.get(row.kid);
          if (previous) {
            next.set(row.kid, { ...previous, retiredAt: row.retiredAt });
            continue;
          }
          const publicJwk = JSON.parse(row.publicJwk) as JWK;
          // A row in clear here was written by a DS from before encryption at rest after this
          // process started (mixed versions on one database); a restart encrypts it.
          if (row.masterKeyId === null) throw new MasterKeyError(`DS key ${row.kid} is stored in clear: restart DS to encrypt it`);
          const privateJwk = openPrivateJwk(this.masterKey, row, row.encryptedPrivateJwk);
          next.set(row.kid, {
            kid: row.kid,
            use: row.use,
            alg: row.alg,
            publicJwk,
            // Extractable: the node message engine makes a KeyObject of it (see toKeyObject).
            privateKey: (await importJWK(privateJwk, row.alg, { extractable: true })) as CryptoKey,
            publicKey: (await importJWK(publicJwk, row.alg)) as CryptoKey,
            createdAt: row.createdAt,
            retiredAt: row.retiredAt,
          });
        }
        this.keys = next;
        this.lastReload = Date.now();
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  private live(key: LoadedKey): boolean {
    if (key.retiredAt === null) return true;
    return Date.parse(key.retiredAt) + RETENTION_SECONDS[key.use] * 1000 > this.clock.now().getTime();
  }

  /** The current key of a use (the newest not retired). */
  current(use: 'sig' | 'enc'): LoadedKey {
    for (const key of this.keys.values()) if (key.use === use && key.retiredAt === null) return key;
    throw new Error(`no current DS ${use} key: run ds init`);
  }

  /**
   * A key by kid if it is still usable; reloads once (at most every 5 s) when the kid is unknown,
   * since another process may have rotated.
   */
  async find(kid: string | undefined, use: 'sig' | 'enc'): Promise<LoadedKey | undefined> {
    if (kid === undefined) return undefined;
    let key = this.keys.get(kid);
    if (!key && Date.now() - this.lastReload > 5000) {
      await this.reload();
      key = this.keys.get(kid);
    }
    return key && key.use === use && this.live(key) ? key : undefined;
  }

  /** The public JWKS: current keys and retired ones within their retention. */
  jwks(): Jwks {
    return { keys: [...this.keys.values()].filter((k) => this.live(k)).map((k) => k.publicJwk as Jwks['keys'][number]) };
  }

  /** A fingerprint of the published key set, to tell devices when it changed. */
  jwksVersion(): string {
    return [...this.keys.values()]
      .filter((k) => this.live(k))
      .map((k) => k.kid)
      .sort()
      .join(',');
  }

  /**
   * Seals a secret DS must use again later (a webhook's signing secret) under the master key, as
   * DS private keys are: AES-256-GCM bound to `name`, so a sealed value copied to another row does
   * not open. `previous` keeps a replaced secret in the same sealed value until a time (a rotation's
   * grace period). Answers the stored form and the master key id.
   */
  sealSecret(name: string, secret: Uint8Array, previous?: { secret: Uint8Array; until: string }): { sealed: string; masterKeyId: string } {
    const jwk = {
      kty: 'oct',
      k: Buffer.from(secret).toString('base64url'),
      ...(previous ? { prev: Buffer.from(previous.secret).toString('base64url'), prevUntil: previous.until } : {}),
    };
    return { sealed: sealPrivateJwk(this.masterKey, secretIdentity(name), jwk), masterKeyId: this.masterKey.id };
  }

  /** The secrets {@link sealSecret} sealed under `name`; throws a MasterKeyError when they do not open. */
  openSecrets(name: string, sealed: string): { current: Buffer; previous: { secret: Buffer; until: string } | null } {
    const jwk = openPrivateJwk(this.masterKey, secretIdentity(name), sealed) as { k?: unknown; prev?: unknown; prevUntil?: unknown };
    return {
      current: Buffer.from(String(jwk.k), 'base64url'),
      previous: typeof jwk.prev === 'string' && typeof jwk.prevUntil === 'string' ? { secret: Buffer.from(jwk.prev, 'base64url'), until: jwk.prevUntil } : null,
    };
  }

  /** The current secret sealed under `name`. */
  openSecret(name: string, sealed: string): Buffer {
    return this.openSecrets(name, sealed).current;
  }

  list(): LoadedKey[] {
    return [...this.keys.values()];
  }

  /**
   * Replaces the current key(s) with new ones of `type`; the old ones are retired but stay
   * published for their retention. One transaction for both uses.
   */
  async rotate(type: KeyType, uses: ('sig' | 'enc')[] = ['sig', 'enc']): Promise<string[]> {
    const now = iso(this.clock.now());
    const made = await Promise.all(uses.map((use) => makeDsKey(type, use)));
    await this.db.transaction().execute(async (trx) => {
      const retired = await trx.selectFrom('dsKeys').select(['kid', 'use', 'alg']).where('use', 'in', uses).where('retiredAt', 'is', null).orderBy('kid').execute();
      for (const key of made) {
        await trx.updateTable('dsKeys').set({ retiredAt: now }).where('use', '=', key.use).where('retiredAt', 'is', null).execute();
        await insertDsKey(trx, key, now, this.masterKey);
      }
      await recordEvent({ clock: this.clock }, trx, {
        action: 'keys.rotated',
        resourceType: 'keys',
        resourceId: uses.join(','),
        before: { current: retired },
        after: { current: made.map((k) => ({ kid: k.kid, use: k.use, alg: k.alg })), retired: retired.map((k) => k.kid) },
        always: true,
      });
    });
    await this.reload();
    return made.map((k) => k.kid);
  }
}

