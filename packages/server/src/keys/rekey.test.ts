import { MemoryDeviceStore } from '@ds/shared';
import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { silentLogger } from '../lib/logger.js';
import { device, seed } from '../test/devices.js';
import { createTestContext, TEST_MASTER_KEY, type TestContext } from '../test/harness.js';
import { MasterKeyMismatchError, openPrivateJwk } from './at-rest.js';
import { DsKeyStore } from './keystore.js';
import { MasterKey, MasterKeyError } from './master-key.js';
import { rekeyDsKeys } from './rekey.js';

// `ds keys rekey` on the database, both dialects: every DS private key moves to the new master key
// in one transaction, or none does.

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
  // Two generations of keys: the current pair and a retired one still published.
  const admin = await ctx.login();
  await ctx.request('POST', '/v3_5/admin/keys/rotate', { token: admin, body: { use: 'both' } });
});
afterEach(async () => ctx.close());

const NEW_KEY = MasterKey.fromText(Buffer.alloc(32, 11).toString('base64'), 'the new key file new.key');
const WRONG_KEY = MasterKey.fromText(Buffer.alloc(32, 12).toString('base64'), 'DS_MASTER_KEY');

async function storedRows() {
  const { rows } = await sql<{ kid: string; stored: string; under: string | null }>`select kid, encrypted_private_jwk as stored, master_key_id as under from ds_keys order by kid`.execute(
    ctx.database.db as unknown as Kysely<any>,
  );
  return rows;
}

async function privateJwks(key: MasterKey) {
  const rows = await ctx.database.db.selectFrom('dsKeys').selectAll().orderBy('kid').execute();
  return rows.map((r) => openPrivateJwk(key, r, r.encryptedPrivateJwk));
}

describe('rekeyDsKeys', () => {
  it('re-encrypts every key under the new master key; DS then starts with the new key only', async () => {
    const jwks = await privateJwks(TEST_MASTER_KEY);
    const before = await storedRows();
    const counts = await rekeyDsKeys(ctx.database.db, TEST_MASTER_KEY, NEW_KEY);
    expect(counts).toEqual({ reencrypted: expect.any(Array), encrypted: [], unchanged: [] });
    expect(counts.reencrypted.sort()).toEqual(before.map((r) => r.kid));
    const after = await storedRows();
    for (const [i, row] of after.entries()) {
      expect(row.under).toBe(NEW_KEY.id);
      expect(row.stored.startsWith(`v1.${NEW_KEY.id}.`)).toBe(true);
      expect(row.stored).not.toBe(before[i]!.stored);
    }
    // The same private keys, under the new master key.
    expect(await privateJwks(NEW_KEY)).toEqual(jwks);
    await expect(DsKeyStore.load(ctx.database.db, ctx.clock, TEST_MASTER_KEY)).rejects.toThrow(MasterKeyMismatchError);

    // A device registered now keeps syncing with the keys DS loads with the new master key.
    const admin = await ctx.login();
    const { installationKey } = await seed(ctx, admin);
    const keys = await DsKeyStore.load(ctx.database.db, ctx.clock, NEW_KEY);
    expect(keys.list().map((k) => k.kid).sort()).toEqual(ctx.keys.list().map((k) => k.kid).sort());
    const app = createApp({ database: ctx.database, clock: ctx.clock, logger: silentLogger, config: ctx.config, startedAt: ctx.clock.now(), version: '0.0.0-test', keys });
    const d = await device({ ...ctx, app, keys }, installationKey, { store: new MemoryDeviceStore() });
    await d.register();
    await expect(d.sync()).resolves.toBeTruthy();
  });

  it('with a wrong current key: a clear error naming both keys, and nothing changed', async () => {
    const before = await storedRows();
    const error = await rekeyDsKeys(ctx.database.db, WRONG_KEY, NEW_KEY).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MasterKeyMismatchError);
    expect((error as Error).message).toContain(`encrypted under master key ${TEST_MASTER_KEY.id}; DS_MASTER_KEY holds master key ${WRONG_KEY.id}`);
    expect(await storedRows()).toEqual(before);
  });

  it('is atomic: a key that does not decrypt, after others were re-encrypted, leaves every row as it was', async () => {
    // The newest row is handled last; break its tag, so the others are rewritten first.
    const newest = await ctx.database.db.selectFrom('dsKeys').selectAll().orderBy('createdAt', 'desc').orderBy('kid', 'desc').executeTakeFirstOrThrow();
    const parts = newest.encryptedPrivateJwk.split('.');
    parts[4] = Buffer.alloc(16).toString('base64url');
    await ctx.database.db.updateTable('dsKeys').set({ encryptedPrivateJwk: parts.join('.') }).where('kid', '=', newest.kid).execute();
    const before = await storedRows();
    await expect(rekeyDsKeys(ctx.database.db, TEST_MASTER_KEY, NEW_KEY)).rejects.toThrow(`DS key ${newest.kid} does not decrypt under master key ${TEST_MASTER_KEY.id}`);
    expect(await storedRows()).toEqual(before);
    expect((await storedRows()).every((r) => r.under === TEST_MASTER_KEY.id)).toBe(true);
  });

  it('run again, finds the keys under the new key and changes nothing; keys left under the old one are moved', async () => {
    // A DS process that was not stopped: it loaded its keys with the old master key.
    const stale = await DsKeyStore.load(ctx.database.db, ctx.clock, TEST_MASTER_KEY);
    await rekeyDsKeys(ctx.database.db, TEST_MASTER_KEY, NEW_KEY);
    const once = await storedRows();
    const again = await rekeyDsKeys(ctx.database.db, TEST_MASTER_KEY, NEW_KEY);
    expect(again.reencrypted).toEqual([]);
    expect(again.unchanged).toHaveLength(4);
    expect(await storedRows()).toEqual(once);
    // It rotates after the rekey: its new keys are under the old master key, a DS starting with
    // the new key says so, and a second rekey moves just those.
    const kids = await stale.rotate('ec');
    expect(stale.list()).toHaveLength(6);
    await expect(DsKeyStore.load(ctx.database.db, ctx.clock, NEW_KEY)).rejects.toThrow(MasterKeyMismatchError);
    const third = await rekeyDsKeys(ctx.database.db, TEST_MASTER_KEY, NEW_KEY);
    expect(third.reencrypted.sort()).toEqual(kids.sort());
    expect(third.unchanged).toHaveLength(4);
    expect((await storedRows()).every((r) => r.under === NEW_KEY.id)).toBe(true);
  });

  it('encrypts keys still in clear under the new key, and refuses keys under a third key without a matching current one', async () => {
    const [row] = await ctx.database.db.selectFrom('dsKeys').selectAll().orderBy('kid').limit(1).execute();
    const clear = JSON.stringify(openPrivateJwk(TEST_MASTER_KEY, row!, row!.encryptedPrivateJwk));
    await ctx.database.db.updateTable('dsKeys').set({ encryptedPrivateJwk: clear, masterKeyId: null }).where('kid', '=', row!.kid).execute();
    const before = await storedRows();
    await expect(rekeyDsKeys(ctx.database.db, null, NEW_KEY)).rejects.toThrow(new MasterKeyError(`DS keys in this database are encrypted under master key ${TEST_MASTER_KEY.id}, and no current master key was given`));
    expect(await storedRows()).toEqual(before);
    const counts = await rekeyDsKeys(ctx.database.db, TEST_MASTER_KEY, NEW_KEY);
    expect(counts.encrypted).toEqual([row!.kid]);
    expect(counts.reencrypted).toHaveLength(3);
    expect((await storedRows()).every((r) => r.under === NEW_KEY.id && !r.stored.includes('"d"'))).toBe(true);
  });
});
