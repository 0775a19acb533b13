import { MemoryDeviceStore } from '@ds/shared';
import { decodeProtectedHeader } from 'jose';
import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { migrateToLatest } from '../db/database.js';
import { silentLogger } from '../lib/logger.js';
import { ensureInitialized } from '../setup/setup.service.js';
import { device, seed } from '../test/devices.js';
import { ADMIN_PASSWORD, createTestContext, TEST_MASTER_KEY, type TestContext } from '../test/harness.js';
import { MasterKeyMismatchError, openPrivateJwk } from './at-rest.js';
import { DsKeyStore } from './keystore.js';
import { MasterKey } from './master-key.js';

// DS private keys at rest, on both dialects: what the ds_keys rows hold, what a start does with
// rows in clear (a database upgraded from before encryption at rest) and with a wrong master key.

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
});
afterEach(async () => ctx.close());

const OTHER_KEY = MasterKey.fromText(Buffer.alloc(32, 42).toString('base64'), 'DS_MASTER_KEY');

/** The ds_keys rows as stored, read without the application's types. */
async function storedRows(db: Kysely<any> = ctx.database.db as unknown as Kysely<any>) {
  const { rows } = await sql<{ kid: string; stored: string; under: string | null }>`select kid, encrypted_private_jwk as stored, master_key_id as under from ds_keys order by kid`.execute(db);
  return rows;
}

/**
 * True when `stored` gives away a private JWK: as JSON, or as JSON in any base64url part of it
 * (encoding is not encryption).
 */
function revealsPrivateJwk(stored: string): boolean {
  const texts = [stored, ...stored.split('.').map((part) => Buffer.from(part, 'base64url').toString('utf8'))];
  return texts.some((text) => {
    if (/"d"\s*:/.test(text)) return true;
    try {
      const parsed = JSON.parse(text);
      return typeof parsed === 'object' && parsed !== null && 'd' in parsed;
    } catch {
      return false;
    }
  });
}

/** The private JWKs of the current rows, decrypted with the test master key (kid → d). */
async function privateParts() {
  const rows = await ctx.database.db.selectFrom('dsKeys').selectAll().execute();
  return Object.fromEntries(rows.map((r) => [r.kid, openPrivateJwk(TEST_MASTER_KEY, r, r.encryptedPrivateJwk).d!]));
}

describe('the ds_keys rows', () => {
  it('hold no private key in clear: every row is encrypted under the master key, first keys and rotated ones', async () => {
    const admin = await ctx.login();
    const rotated = await ctx.request('POST', '/v3_5/admin/keys/rotate', { token: admin, body: { use: 'both' } });
    expect(rotated.status).toBe(200);
    const rows = await storedRows();
    expect(rows).toHaveLength(4);
    const ds = await privateParts();
    for (const row of rows) {
      expect(revealsPrivateJwk(row.stored), row.kid).toBe(false);
      expect(row.stored).not.toContain(ds[row.kid]);
      expect(row.stored.startsWith(`v1.${TEST_MASTER_KEY.id}.`)).toBe(true);
      expect(row.under).toBe(TEST_MASTER_KEY.id);
    }
    // The test itself can tell: a clear row would be caught.
    expect(revealsPrivateJwk(JSON.stringify({ kty: 'EC', d: 'x' }))).toBe(true);
    expect(revealsPrivateJwk(`v1.${Buffer.from('{"kty":"EC","d":"x"}').toString('base64url')}`)).toBe(true);
  });

  it('does not decrypt when a ciphertext is moved to another row', async () => {
    const rows = await storedRows();
    const [a, b] = rows as [(typeof rows)[0], (typeof rows)[0]];
    await ctx.database.db.updateTable('dsKeys').set({ encryptedPrivateJwk: b.stored }).where('kid', '=', a.kid).execute();
    await expect(DsKeyStore.load(ctx.database.db, ctx.clock, TEST_MASTER_KEY)).rejects.toThrow(`DS key ${a.kid} does not decrypt under master key ${TEST_MASTER_KEY.id}: its row was altered`);
  });
});

describe('a start with another master key', () => {
  it('is refused with both key ids, and changes nothing', async () => {
    const before = await storedRows();
    const error = await ensureInitialized(ctx.database.db, ctx.clock, { keyType: 'ec', adminPassword: ADMIN_PASSWORD, masterKey: OTHER_KEY }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MasterKeyMismatchError);
    expect((error as Error).message).toBe(
      `this database's DS private keys are encrypted under master key ${TEST_MASTER_KEY.id}; DS_MASTER_KEY holds master key ${OTHER_KEY.id}. ` +
        'Give DS the master key they were encrypted under (DS_MASTER_KEY or DS_MASTER_KEY_FILE)',
    );
    await expect(DsKeyStore.load(ctx.database.db, ctx.clock, OTHER_KEY)).rejects.toThrow(MasterKeyMismatchError);
    expect(await storedRows()).toEqual(before);
  });
});

describe('upgrading a database whose DS keys are in clear (from before 0005)', () => {
  it('encrypts them at the next start in one go, and devices keep syncing with the same keys', async () => {
    const admin = await ctx.login();
    const { installationKey, labelKey } = await seed(ctx, admin);
    const store = new MemoryDeviceStore();
    const before = await device(ctx, installationKey, { store });
    const deviceId = await before.register();
    await before.sync();
    const dsKids = before.snapshot().dsJwks!.keys.map((k) => k.kid).sort();
    const kids = (await storedRows()).map((r) => r.kid);
    expect(dsKids).toEqual(kids);

    // Back to what a DS from before 0005 left: private_jwk in clear JSON, no master key column,
    // and 0005 not yet applied.
    const raw = ctx.database.db as unknown as Kysely<any>;
    const clear = await ctx.database.db.selectFrom('dsKeys').selectAll().execute();
    await raw.schema.alterTable('ds_keys').dropColumn('master_key_id').execute();
    await raw.schema.alterTable('ds_keys').renameColumn('encrypted_private_jwk', 'private_jwk').execute();
    for (const row of clear) {
      await raw.updateTable('dsKeys').set({ privateJwk: JSON.stringify(openPrivateJwk(TEST_MASTER_KEY, row, row.encryptedPrivateJwk)) }).where('kid', '=', row.kid).execute();
    }
    await sql`delete from ds_migrations where name = '0005-ds-keys-at-rest'`.execute(raw);

    // The upgrade: the migration renames and adds the column but has no key to encrypt with...
    expect(await migrateToLatest(ctx.database)).toEqual(['0005-ds-keys-at-rest']);
    const migrated = await storedRows();
    expect(migrated.every((r) => r.under === null && revealsPrivateJwk(r.stored))).toBe(true);
    // ...so the start does, before it loads them.
    const setup = await ensureInitialized(ctx.database.db, ctx.clock, { keyType: 'ec', adminPassword: ADMIN_PASSWORD, masterKey: TEST_MASTER_KEY });
    expect(setup.keysEncrypted.sort()).toEqual(kids);
    expect(setup.keysCreated).toEqual([]);
    for (const row of await storedRows()) {
      expect(revealsPrivateJwk(row.stored), row.kid).toBe(false);
      expect(row.under).toBe(TEST_MASTER_KEY.id);
    }
    // A second start has nothing left to encrypt.
    expect((await ensureInitialized(ctx.database.db, ctx.clock, { keyType: 'ec', masterKey: TEST_MASTER_KEY })).keysEncrypted).toEqual([]);

    const keys = await DsKeyStore.load(ctx.database.db, ctx.clock, TEST_MASTER_KEY);
    const app = createApp({ database: ctx.database, clock: ctx.clock, logger: silentLogger, config: ctx.config, startedAt: ctx.clock.now(), version: '0.0.0-test', keys });
    const restarted: TestContext = { ...ctx, app, keys };
    // The device still holds the DS public keys it was given before: it encrypts to the old
    // encryption key and verifies the answer with the old signing key.
    ctx.clock.advance(3600_000);
    const after = await device(restarted, installationKey, { store });
    expect(after.snapshot().deviceId).toBe(deviceId);
    await expect(after.sync()).resolves.toMatchObject({ syncIntervalSeconds: expect.any(Number) });
    expect(after.snapshot().dsJwks!.keys.map((k) => k.kid).sort()).toEqual(dsKids);
    const token = (await (await app.request('/v3_5/tokens/application', { headers: { apikey: labelKey } })).json()) as { data: string };
    expect(decodeProtectedHeader(token.data).kid).toBe(keys.current('sig').kid);
    expect(kids).toContain(keys.current('sig').kid);
  });
});
