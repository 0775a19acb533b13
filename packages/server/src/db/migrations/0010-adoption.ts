import type { Kysely } from 'kysely';

// Frozen. Adoption analytics (issue 13): a daily snapshot of devices per version, per organization,
// label and OS, kept like the counters: per day for the current month, one row per month (the
// month's last snapshot) for earlier months.
//
// A device that serves several organizations (reported labels of several) would count several
// times if only per-label rows were kept, so each snapshot holds three levels, told apart by the
// key columns: organization_id = '' and label = '' is every device; organization_id set and
// label = '' is the devices that serve that organization (each once); label set is the devices
// that reported that label (organization_id its organization, '' for a label DS does not know).
// A report reads exactly one level, so no sum counts a device twice.

export async function up(db: Kysely<any>): Promise<void> {
  for (const [table, period] of [
    ['adoption_daily', 'day'],
    ['adoption_monthly', 'month'],
  ] as const) {
    await db.schema
      .createTable(table)
      .addColumn(period, 'text', (c) => c.notNull())
      .addColumn('organization_id', 'text', (c) => c.notNull())
      .addColumn('label', 'text', (c) => c.notNull())
      .addColumn('os', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('devices', 'bigint', (c) => c.notNull())
      // Of those, the ones whose last reported status was ERROR.
      .addColumn('errors', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, [period, 'organization_id', 'label', 'os', 'version'])
      .execute();
  }
  // Which periods have a snapshot (a day with no devices has no rows but was taken); one row per
  // day, replaced by one per month when the month is flattened. Its primary key is what makes a
  // snapshot happen once when several DS processes try at the same moment.
  await db.schema
    .createTable('adoption_snapshots')
    .addColumn('period', 'text', (c) => c.primaryKey())
    .addColumn('taken_at', 'text', (c) => c.notNull())
    .addColumn('devices', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
