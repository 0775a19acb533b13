import { PostgresAdapter, sql, type Kysely } from 'kysely';

// Frozen. Device reports, counters and the replay store of the device protocol.

export async function up(db: Kysely<any>): Promise<void> {
  // Labels a device reported (by name: devices know labels only by name).
  await db.schema
    .createTable('device_labels')
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('device_labels_pk', ['device_id', 'label'])
    .execute();
  await db.schema.createIndex('device_labels_label_idx').on('device_labels').column('label').execute();

  // Distinct User-Agents a device served, parsed for analytics; bounded per device.
  await db.schema
    .createTable('device_user_agents')
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('ua_hash', 'text', (c) => c.notNull())
    .addColumn('user_agent', 'text', (c) => c.notNull())
    .addColumn('browser_name', 'text')
    .addColumn('browser_major', 'text')
    .addColumn('os_name', 'text')
    .addColumn('os_version', 'text')
    .addColumn('first_seen_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('device_user_agents_pk', ['device_id', 'ua_hash'])
    .execute();

  // Per device, per (label, module, useCase), for the current month.
  await db.schema
    .createTable('device_counters')
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('module', 'text', (c) => c.notNull())
    .addColumn('use_case', 'text', (c) => c.notNull())
    .addColumn('month', 'text', (c) => c.notNull())
    .addColumn('counter', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('device_counters_pk', ['device_id', 'label', 'module', 'use_case'])
    .execute();

  // Per label, per (module, useCase, day), for the current month.
  await db.schema
    .createTable('label_daily_counters')
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('module', 'text', (c) => c.notNull())
    .addColumn('use_case', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('counter', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('label_daily_counters_pk', ['label', 'module', 'use_case', 'day'])
    .execute();
  await db.schema.createIndex('label_daily_counters_day_idx').on('label_daily_counters').columns(['day', 'label']).execute();

  // Messages processed per device: a retry with the same jti gets the stored answer.
  await db.schema
    .createTable('device_messages')
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('jti', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('response', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('device_messages_pk', ['device_id', 'jti'])
    .execute();
  await db.schema.createIndex('device_messages_received_idx').on('device_messages').column('received_at').execute();

  // Which DS key set the device was last sent.
  await db.schema.alterTable('devices').addColumn('jwks_version', 'text').execute();

  // Version sort keys must compare byte by byte; PostgreSQL would otherwise use the database's
  // locale collation (where 'Z' may sort after 'a'). SQLite compares text bytewise already.
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`alter table versions alter column sort_key type text collate "C"`.execute(db);
  }
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
