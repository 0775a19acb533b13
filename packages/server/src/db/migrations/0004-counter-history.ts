import type { Kysely } from 'kysely';

// Frozen. Archived monthly label counters, the record of month rollovers, and the lock rows of
// jobs that exactly one DS process may run at a time.
export async function up(db: Kysely<any>): Promise<void> {
  // Per label, per (module, useCase, month), for months that have ended (API.md section 4).
  await db.schema
    .createTable('label_monthly_counters')
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('module', 'text', (c) => c.notNull())
    .addColumn('use_case', 'text', (c) => c.notNull())
    .addColumn('month', 'text', (c) => c.notNull())
    .addColumn('counter', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('label_monthly_counters_pk', ['label', 'module', 'use_case', 'month'])
    .execute();
  await db.schema.createIndex('label_monthly_counters_month_idx').on('label_monthly_counters').columns(['month', 'label']).execute();
  // Reports of one organization read the current month's per-device rows of its labels.
  await db.schema.createIndex('device_counters_label_idx').on('device_counters').columns(['label', 'month']).execute();
  // One row per month whose rollover has started; completed_at is set when nothing is left to do.
  await db.schema
    .createTable('counter_rollovers')
    .addColumn('month', 'text', (c) => c.primaryKey())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('completed_at', 'text')
    .addColumn('daily_rows_archived', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('device_rows_reset', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('device_rows_deleted', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  // A lease per job: whoever holds an unexpired lease runs the job; a crashed holder's lease expires.
  await db.schema
    .createTable('job_locks')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('acquired_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
