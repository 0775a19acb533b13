import type { Kysely } from 'kysely';

// Frozen. Staged rollouts of versions (their state, history and the devices offered each version)
// and organizations' update policies (issue 13).

export async function up(db: Kysely<any>): Promise<void> {
  // One rollout per version; gone with its version.
  await db.schema
    .createTable('rollouts')
    .addColumn('version_id', 'text', (c) => c.primaryKey().references('versions.id').onDelete('cascade'))
    .addColumn('state', 'text', (c) => c.notNull())
    // JSON arrays: the wave percentages, and when each wave began (null until it does).
    .addColumn('waves', 'text', (c) => c.notNull())
    .addColumn('wave_started', 'text', (c) => c.notNull())
    .addColumn('wave_index', 'integer', (c) => c.notNull())
    .addColumn('wave_hold_seconds', 'integer', (c) => c.notNull())
    // The failure limit in parts per 10 000 (2 % is 200): an integer on both dialects.
    .addColumn('max_failure_bp', 'integer', (c) => c.notNull())
    .addColumn('min_sample', 'integer', (c) => c.notNull())
    .addColumn('stuck_after', 'integer', (c) => c.notNull())
    // The health gate counts devices offered since then: the start, or the last resume.
    .addColumn('gate_since', 'text', (c) => c.notNull())
    .addColumn('paused_reason', 'text')
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('completed_at', 'text')
    .execute();
  await db.schema.createIndex('rollouts_state_idx').on('rollouts').column('state').execute();

  // Every change of a rollout, with who or what made it.
  await db.schema
    .createTable('rollout_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('version_id', 'text', (c) => c.notNull().references('versions.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('actor_kind', 'text', (c) => c.notNull())
    .addColumn('from_percent', 'integer')
    .addColumn('to_percent', 'integer')
    .addColumn('numbers', 'text')
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('rollout_events_version_seq_idx').unique().on('rollout_events').columns(['version_id', 'seq']).execute();

  // The devices a version in rollout was offered to (first offer only), for its health gate.
  await db.schema
    .createTable('rollout_offers')
    .addColumn('version_id', 'text', (c) => c.notNull().references('versions.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('offered_at', 'text', (c) => c.notNull())
    .addColumn('from_version', 'text', (c) => c.notNull())
    .addColumn('wave_index', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('rollout_offers_pk', ['version_id', 'device_id'])
    .execute();
  await db.schema.createIndex('rollout_offers_device_idx').on('rollout_offers').column('device_id').execute();

  // An organization's update policy; gone with its organization.
  await db.schema
    .createTable('organization_policies')
    .addColumn('organization_id', 'text', (c) => c.primaryKey().references('organizations.id').onDelete('cascade'))
    .addColumn('hold', 'text')
    .addColumn('window', 'text')
    .addColumn('prereleases', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text')
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
