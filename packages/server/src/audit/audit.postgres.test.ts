import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database.js';
import { createTestContext, type TestContext } from '../test/harness.js';
import { recordEvent, verifyAudit } from './audit.service.js';

// The audit chain written by several DS nodes at once: PostgreSQL pass only (vitest.config.ts);
// SQLite has one writer.

let ctx: TestContext;
afterEach(async () => ctx?.close());

async function lastSeq(): Promise<number> {
  const row = await ctx.database.db.selectFrom('auditChain').select('lastSeq').executeTakeFirstOrThrow();
  return Number(row.lastSeq);
}

describe('the chain on PostgreSQL', () => {
  it('stays one line with appends from several pools (nodes)', async () => {
    ctx = await createTestContext();
    const initial = await lastSeq();
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(ctx.database.db);
    const url = `${process.env.DS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'}`;
    const nodes = await Promise.all([0, 1, 2].map(() => openDatabase(url, { schema: rows[0]!.schema, poolSize: 4 })));
    try {
      await Promise.all(
        nodes.flatMap((node, n) =>
          Array.from({ length: 10 }, (_, i) =>
            node.db.transaction().execute((trx) => recordEvent(ctx.app.services, trx, { action: 'test.event', resourceType: 'node', resourceId: `${n}-${i}`, always: true })),
          ),
        ),
      );
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
    const result = await verifyAudit(ctx.app.services);
    expect(result).toMatchObject({ ok: true, checked: initial + 30 });
  });
});
