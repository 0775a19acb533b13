import { SqliteAdapter, sql, type CreateTableBuilder, type Kysely } from 'kysely';

// Frozen. Archived monthly label counters, per-label totals, the record of month rollovers, and
// the lock rows of jobs that exactly one DS process may run at a time; on SQLite the counter
// tables become clustered by their keys.
export async function up(db: Kysely<any>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  // On SQLite the counter tables are clustered by their primary key (WITHOUT ROWID): the rollover
  // walks a month in key order, which then reads and deletes neighbouring rows instead of rows
  // scattered over the file in the order syncs happened to write them, and an upsert updates one
  // b-tree instead of two. PostgreSQL keeps its heap tables.
  const clustered = <T extends string, C extends string>(table: CreateTableBuilder<T, C>) => (sqlite ? table.modifyEnd(sql`without rowid`) : table);

  // Per label, per (module, useCase, month), for months that have ended (API.md section 4).
  await clustered(
    db.schema
      .createTable('label_monthly_counters')
      .addColumn('label', 'text', (c) => c.notNull())
      .addColumn('module', 'text', (c) => c.notNull())
      .addColumn('use_case', 'text', (c) => c.notNull())
      .addColumn('month', 'text', (c) => c.notNull())
      .addColumn('counter', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('label_monthly_counters_pk', ['label', 'module', 'use_case', 'month']),
  ).execute();
  // Reports over all labels read a period's rows from these indexes alone (they cover the counter).
  await db.schema
    .createIndex('label_monthly_counters_month_idx')
    .on('label_monthly_counters')
    .columns(['month', 'label', 'module', 'use_case', 'counter'])
    .execute();

  if (sqlite) {
    await rebuildClustered(db, 'label_daily_counters', (t) =>
      t
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('module', 'text', (c) => c.notNull())
        .addColumn('use_case', 'text', (c) => c.notNull())
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('counter', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('label_daily_counters_pk', ['label', 'module', 'use_case', 'day']),
    );
    await rebuildClustered(db, 'device_counters', (t) =>
      t
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('module', 'text', (c) => c.notNull())
        .addColumn('use_case', 'text', (c) => c.notNull())
        .addColumn('month', 'text', (c) => c.notNull())
        .addColumn('counter', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('device_counters_pk', ['device_id', 'label', 'module', 'use_case']),
    );
  } else {
    await db.schema.dropIndex('label_daily_counters_day_idx').execute();
  }
  // Replaces the (day, label) index of 0002 (a prefix of it); covers the reports over all labels.
  await db.schema
    .createIndex('label_daily_counters_period_idx')
    .on('label_daily_counters')
    .columns(['day', 'label', 'module', 'use_case', 'counter'])
    .execute();
  // Per label only (all modules and use cases), per day of the current month and per closed
  // month: written with the rows above, in the same transactions, so reports that do not split by
  // module or use case read a few rows per label instead of every one.
  await clustered(
    db.schema
      .createTable('label_daily_totals')
      .addColumn('label', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('counter', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('label_daily_totals_pk', ['label', 'day']),
  ).execute();
  await clustered(
    db.schema
      .createTable('label_monthly_totals')
      .addColumn('label', 'text', (c) => c.notNull())
      .addColumn('month', 'text', (c) => c.notNull())
      .addColumn('counter', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('label_monthly_totals_pk', ['label', 'month']),
  ).execute();
  await db.schema.createIndex('label_monthly_totals_month_idx').on('label_monthly_totals').columns(['month', 'label', 'counter']).execute();
  // Totals of what the counters of 0002 hold already.
  await sql`insert into label_daily_totals (label, day, counter) select label, day, sum(counter) from label_daily_counters group by label, day`.execute(db);

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

/** SQLite: the same table again, WITHOUT ROWID, with its rows (its old indexes go with the old table). */
async function rebuildClustered(db: Kysely<any>, table: string, columns: (t: CreateTableBuilder<string, never>) => CreateTableBuilder<string, string>): Promise<void> {
  const next = `${table}_clustered`;
  await columns(db.schema.createTable(next)).modifyEnd(sql`without rowid`).execute();
  await sql`insert into ${sql.table(next)} select * from ${sql.table(table)}`.execute(db);
  await db.schema.dropTable(table).execute();
  await db.schema.alterTable(next).renameTo(table).execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
