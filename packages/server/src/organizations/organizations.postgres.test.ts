import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../db/database.js';
import { adminContext, type TestContext } from '../test/harness.js';
import { enqueueWebhookEvent } from '../webhooks/outbox.js';

// Lock order on PostgreSQL: a transaction that appends to the audit chain holds the chain's row
// lock while it puts the event in the webhook outbox, whose insert waits on the webhook's row (the
// foreign key). Deleting an organization deletes its webhooks: it must wait for the chain before
// it takes their rows, or the two wait on each other (a deadlock PostgreSQL ends by failing one).
// PostgreSQL pass only (vitest.config.ts): SQLite has one writer.

let ctx: TestContext;
let other: DatabaseHandle | undefined;
afterEach(async () => {
  await other?.close();
  other = undefined;
  await ctx?.close();
});

/** Waits until a backend of this database waits on a lock (the DELETE below, queued on the chain). */
async function untilWaitingOnLock(db: TestContext['database']['db']) {
  for (;;) {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
    if (rows[0]!.n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('deleting an organization while an event goes to its webhooks', () => {
  it('waits for the audit chain before it deletes the webhooks: both commit, nothing deadlocks', async () => {
    let admin: string;
    ({ ctx, admin } = await adminContext());
    expect((await ctx.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} })).status).toBe(201);
    const db = ctx.database.db;
    const acme = await db.selectFrom('organizations').select(['id', 'name']).where('name', '=', 'acme').executeTakeFirstOrThrow();
    const now = ctx.clock.now().toISOString();
    await db
      .insertInto('webhooks')
      .values({ id: 'wh-acme', url: 'https://hooks.acme.example/ds', events: '["version.*"]', organizationId: acme.id, description: null, secretEncrypted: 'x', masterKeyId: 'x', createdAt: now, createdBy: 'admin', disabledAt: null, disabledReason: null, failingSince: null, lastSuccessAt: null, lastFailureAt: null, allowPrivate: 0 })
      .execute();

    // Another node: holds the chain, as recordEvent does, then puts an acme event in the outbox.
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    other = await openDatabase(process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test', { schema: rows[0]!.schema, poolSize: 2 });
    let deletion: Promise<{ status: number }> | undefined;
    await other.db.transaction().execute(async (trx) => {
      await trx.updateTable('auditChain').set((eb) => ({ lastSeq: eb('lastSeq', '+', 0) })).execute();
      deletion = ctx.request('DELETE', '/v3_5/admin/organizations/acme?force=true', { token: admin });
      await untilWaitingOnLock(db);
      const entry = { id: crypto.randomUUID(), at: now, action: 'version.created', resource: { type: 'version', id: '3.9.0' }, organization: { id: acme.id, name: 'acme' }, actor: { type: 'system', name: 'system' }, before: null, after: null };
      expect(await enqueueWebhookEvent(trx, ctx.clock, entry as any, acme.id)).toBe(1);
    });

    const res = await deletion!;
    expect(res.status, JSON.stringify(res)).toBe(200);
    expect(await db.selectFrom('webhooks').select('id').execute()).toEqual([]);
    expect(await db.selectFrom('webhookDeliveries').select('id').execute()).toEqual([]);
  });
});
