import type { Kysely } from 'kysely';

// Frozen. One row per installer download, for the downloads report.

export async function up(db: Kysely<any>): Promise<void> {
  // No foreign key to versions: the history stays when a version is deleted.
  await db.schema
    .createTable('download_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('os', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('browser_name', 'text')
    .addColumn('browser_major', 'text')
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('complete', 'integer', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('download_events_day_idx').on('download_events').columns(['day', 'version', 'os']).execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
