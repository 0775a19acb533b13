import { SqliteAdapter, sql, type Kysely } from 'kysely';

// Frozen. Counters are bound to the organization they were counted for, the per-device daily
// totals the daily transaction limit is checked against, and the per-device message rate limit.
//
// Every counter table gets `organization_id` as the first column of its key (after `device_id`
// for the per-device rows): reports then read whose transactions they are from the row instead of
// joining labels by name, so deleting a label and creating its name in another organization (or
// moving a label) never moves history. '' is the reserved id of unattributed transactions (a label
// DS did not know when they were counted): a key column cannot be NULL, and organization ids are
// UUIDs. Existing rows take the organization their label has now; rows of labels that no longer
// exist become unattributed.
//
// A new primary key means a new table: on SQLite the tables are clustered by their key (WITHOUT
// ROWID, 0004), so each is rebuilt (create, copy with the organization joined in, drop, rename)
// and its indexes made after the copy; PostgreSQL does the same so the copy writes each row once
// (an UPDATE of every row would leave a dead copy of each behind) and the key is built after it.
// Measured on the 10-million-row installation of bench:reports (SQLite, 2 cores): see README.

interface CounterTable {
  name: string;
  /** Column definitions after organization_id, in order (SQL). */
  columns: string;
  /** The columns copied from the old table, in order. */
  copy: string[];
  key: string[];
  indexes: { name: string; columns: string[] }[];
}

const TABLES: CounterTable[] = [
  {
    name: 'label_daily_counters',
    columns: 'label text not null, module text not null, use_case text not null, day text not null, counter bigint not null',
    copy: ['label', 'module', 'use_case', 'day', 'counter'],
    key: ['organization_id', 'label', 'module', 'use_case', 'day'],
    // Reports over all organizations read a period's rows from this index alone (it covers the counter).
    indexes: [{ name: 'label_daily_counters_period_idx', columns: ['day', 'organization_id', 'label', 'module', 'use_case', 'counter'] }],
  },
  {
    name: 'label_monthly_counters',
    columns: 'label text not null, module text not null, use_case text not null, month text not null, counter bigint not null',
    copy: ['label', 'module', 'use_case', 'month', 'counter'],
    key: ['organization_id', 'label', 'module', 'use_case', 'month'],
    indexes: [{ name: 'label_monthly_counters_month_idx', columns: ['month', 'organization_id', 'label', 'module', 'use_case', 'counter'] }],
  },
  {
    name: 'label_daily_totals',
    columns: 'label text not null, day text not null, counter bigint not null',
    copy: ['label', 'day', 'counter'],
    key: ['organization_id', 'label', 'day'],
    indexes: [],
  },
  {
    name: 'label_monthly_totals',
    columns: 'label text not null, month text not null, counter bigint not null',
    copy: ['label', 'month', 'counter'],
    key: ['organization_id', 'label', 'month'],
    indexes: [{ name: 'label_monthly_totals_month_idx', columns: ['month', 'organization_id', 'label', 'counter'] }],
  },
  {
    name: 'device_counters',
    columns: 'label text not null, module text not null, use_case text not null, month text not null, counter bigint not null, updated_at text not null',
    copy: ['label', 'module', 'use_case', 'month', 'counter', 'updated_at'],
    key: ['device_id', 'organization_id', 'label', 'module', 'use_case'],
    // Reports of one organization (and of one of its labels) read the current month's per-device rows.
    indexes: [{ name: 'device_counters_organization_idx', columns: ['organization_id', 'label', 'month'] }],
  },
];

const list = (columns: string[]) => sql.raw(columns.join(', '));

export async function up(db: Kysely<any>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  // SQLite's default page cache (2 MB) makes the copy spill to the WAL again and again; 256 MB for
  // the length of the migration halved it (142 s to 71 s for 10.5 M rows), and is given back after.
  // (The row's one column, whatever a plugin names it.)
  const cacheSize = sqlite ? Object.values((await sql<Record<string, number>>`pragma cache_size`.execute(db)).rows[0] ?? {})[0] : undefined;
  if (sqlite) await sql`pragma cache_size = -262144`.execute(db);

  for (const t of TABLES) {
    const next = `${t.name}_0007`;
    const deviceColumn = t.name === 'device_counters' ? 'device_id text not null, ' : '';
    const copied = t.name === 'device_counters' ? ['device_id', ...t.copy] : t.copy;
    const definition = `${deviceColumn}organization_id text not null default '', ${t.columns}`;
    // SQLite: the key at creation (a WITHOUT ROWID table needs it); PostgreSQL: after the copy.
    await sql
      .raw(
        sqlite
          ? `create table ${next} (${definition}, constraint ${t.name}_pk primary key (${t.key.join(', ')})) without rowid`
          : `create table ${next} (${definition})`,
      )
      .execute(db);
    await sql`insert into ${sql.table(next)} (organization_id, ${list(copied)})
      select coalesce(l.organization_id, ''), ${list(copied.map((c) => `c.${c}`))}
      from ${sql.table(t.name)} c left join labels l on l.name = c.label`.execute(db);
    await sql`drop table ${sql.table(t.name)}`.execute(db);
    await sql`alter table ${sql.table(next)} rename to ${sql.table(t.name)}`.execute(db);
    if (!sqlite) await sql.raw(`alter table ${t.name} add constraint ${t.name}_pk primary key (${t.key.join(', ')})`).execute(db);
    for (const index of t.indexes) await db.schema.createIndex(index.name).on(t.name).columns(index.columns).execute();
  }

  // Transactions counted per device and transaction day, over all its labels: the per-device daily
  // limit is checked against them. Not derived from older counters (those are per month).
  const dailyTotals = db.schema
    .createTable('device_daily_totals')
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('counter', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('device_daily_totals_pk', ['device_id', 'day']);
  await (sqlite ? dailyTotals.modifyEnd(sql`without rowid`) : dailyTotals).execute();
  // Pruned by day once DS no longer accepts transactions for it.
  await db.schema.createIndex('device_daily_totals_day_idx').on('device_daily_totals').column('day').execute();

  // When a sync last had entries refused by the daily limit; the device's message rate limit.
  await db.schema.alterTable('devices').addColumn('daily_limit_reached_at', 'text').execute();
  await db.schema.alterTable('devices').addColumn('message_window', 'text').execute();
  await db.schema.alterTable('devices').addColumn('message_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.createIndex('devices_daily_limit_idx').on('devices').column('daily_limit_reached_at').execute();
  if (cacheSize !== undefined) await sql.raw(`pragma cache_size = ${Number(cacheSize)}`).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
