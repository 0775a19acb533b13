import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, TEST_MASTER_KEY, type TestContext } from '../test/harness.js';
import { ensureInitialized } from './setup.service.js';

// The first start of DS on an empty database, on both dialects: several DS processes started
// together (the replicas of one deployment) make one admin and one set of DS keys between them.

let ctx: TestContext;
beforeEach(async () => {
  ctx = await createTestContext();
  // An empty database: what the harness initialised is removed again.
  await ctx.database.db.deleteFrom('adminTokens').execute();
  await ctx.database.db.deleteFrom('users').execute();
  await ctx.database.db.deleteFrom('dsKeys').execute();
});
afterEach(async () => ctx.close());

describe('ensureInitialized', () => {
  it('started four times at once on an empty database: one admin, one signing and one encryption key', async () => {
    const starts = await Promise.all(
      [0, 1, 2, 3].map(() => ensureInitialized(ctx.database.db, ctx.clock, { keyType: 'ec', masterKey: TEST_MASTER_KEY })),
    );
    expect(starts.filter((s) => s.createdAdmin)).toHaveLength(1);
    // The one that made the admin shows its generated password; the others have none to show.
    expect(starts.filter((s) => s.generatedPassword !== null)).toHaveLength(1);
    expect(starts.flatMap((s) => s.keysCreated)).toHaveLength(2);
    expect(await ctx.database.db.selectFrom('users').select('username').execute()).toEqual([{ username: 'admin' }]);
    const keys = await ctx.database.db.selectFrom('dsKeys').select('use').where('retiredAt', 'is', null).execute();
    expect(keys.map((k) => k.use).sort()).toEqual(['enc', 'sig']);
    // The lock row of the first start is not left behind.
    expect(await ctx.database.db.selectFrom('jobLocks').select('name').where('name', '=', 'setup').execute()).toEqual([]);
  });

  it('on an initialised database changes nothing', async () => {
    const first = await ensureInitialized(ctx.database.db, ctx.clock, { keyType: 'ec', masterKey: TEST_MASTER_KEY });
    expect(first.createdAdmin).toBe(true);
    const again = await ensureInitialized(ctx.database.db, ctx.clock, { keyType: 'ec', masterKey: TEST_MASTER_KEY });
    expect(again).toEqual({ createdAdmin: false, generatedPassword: null, keysCreated: [], keysEncrypted: [] });
  });
});
