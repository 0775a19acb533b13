import type { Kysely } from 'kysely';

// Frozen. Events a device message causes for the audit log and webhooks (`device.rejected`),
// written in the message's own transaction and moved into the audit log by a second one that
// deletes the row it records: so an event is recorded once, even when DS stops between the two
// (the scheduler drains what is left). One row per device, action and day.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('pending_device_events')
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    // The event's `after`, as JSON.
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('pending_device_events_pk', ['device_id', 'action', 'day'])
    .execute();
}
