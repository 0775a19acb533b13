import { sql, type Kysely } from 'kysely';

// Frozen. The append-only audit log, a hash chain: each entry stores SHA-256 over the hash of the
// entry before it and its own canonical form. `audit_chain` is the chain's head, one row: every
// append updates it first, which on PostgreSQL takes its row lock until the transaction ends, so
// appends from several nodes line up one after another (SQLite has one writer anyway). It also
// records the anchor: the hash the oldest retained entry follows once retention removed older ones.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('actor_type', 'text', (c) => c.notNull())
    .addColumn('actor_name', 'text', (c) => c.notNull())
    .addColumn('actor_user_id', 'text')
    .addColumn('credential', 'text')
    .addColumn('token_id', 'text')
    .addColumn('client_address', 'text')
    .addColumn('request_id', 'text')
    .addColumn('organization_id', 'text')
    .addColumn('organization_name', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text')
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_log_at_idx').on('audit_log').column('at').execute();
  await db.schema.createIndex('audit_log_org_seq_idx').on('audit_log').columns(['organization_id', 'seq']).execute();
  await db.schema.createIndex('audit_log_resource_idx').on('audit_log').columns(['resource_type', 'resource_id']).execute();
  await db.schema
    .createTable('audit_chain')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .addColumn('last_hash', 'text', (c) => c.notNull())
    .addColumn('anchor_seq', 'bigint', (c) => c.notNull())
    .addColumn('anchor_hash', 'text', (c) => c.notNull())
    .execute();
  const genesis = '0'.repeat(64);
  await sql`insert into audit_chain (name, last_seq, last_hash, anchor_seq, anchor_hash) values ('audit', 0, ${genesis}, 1, ${genesis})`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
