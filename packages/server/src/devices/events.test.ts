import { afterEach, describe, expect, it } from 'vitest';
import { verifyAudit } from '../audit/audit.service.js';
import { CounterScheduler } from '../counters/scheduler.js';
import { deviceMessageWindow } from '../lib/rate-limit.js';
import { createTestContext, type TestContext } from '../test/harness.js';
import { registeredDevice, seed } from '../test/devices.js';
import { recordPendingDeviceEvents } from './events.js';

// device.rejected is written with the sync that causes it (pending_device_events) and moved into
// the audit log by a transaction of its own: recorded once, and not lost when DS stops between.

let ctx: TestContext;
afterEach(async () => ctx?.close());

const LIMIT = '5';

async function setup() {
  ctx = await createTestContext({ configOverrides: { DS_DEVICE_DAILY_TRANSACTION_LIMIT: LIMIT } });
  const admin = await ctx.login();
  const { installationKey } = await seed(ctx, admin);
  return registeredDevice(ctx, installationKey);
}

const rejectedEvents = () =>
  ctx.database.db.selectFrom('auditLog').select(['resourceId', 'organizationName', 'after', 'actorType']).where('action', '=', 'device.rejected').orderBy('seq').execute();
const pending = () => ctx.database.db.selectFrom('pendingDeviceEvents').selectAll().execute();

/** A sync's commit without what follows it: what a DS process that stopped right after leaves. */
async function commitOnly(deviceId: string, jti: string, day: string, rejectedEntries: number) {
  const receivedAt = ctx.clock.now().toISOString();
  await ctx.app.services.syncStore.recordMessage({
    deviceId,
    jti,
    kind: 'sync',
    receivedAt,
    window: deviceMessageWindow(ctx.clock.now()),
    decide: () => ({
      response: '{}',
      writes: { event: { action: 'device.rejected', day, payload: JSON.stringify({ reason: 'DAILY_LIMIT', rejectedEntries, limit: 5, day, version: '3.8.1' }) } },
    }),
  });
}

describe('device.rejected', () => {
  it('a sync over the daily limit records one event, with its organization; a second the same day none; the next day one again', async () => {
    const device = await setup();
    device.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 9 });
    expect((await device.sync()).rejected?.[0]?.code).toBe('DAILY_LIMIT');
    const day = ctx.clock.now().toISOString().slice(0, 10);
    expect(await rejectedEvents()).toEqual([
      {
        resourceId: device.deviceId,
        organizationName: 'acme',
        after: JSON.stringify({ day, limit: 5, reason: 'DAILY_LIMIT', rejectedEntries: 1, version: '3.8.1' }),
        actorType: 'system',
      },
    ]);
    expect(await pending()).toEqual([]);

    device.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 9 });
    expect((await device.sync()).rejected?.[0]?.code).toBe('DAILY_LIMIT');
    expect(await rejectedEvents()).toHaveLength(1);

    ctx.clock.advance(86_400_000);
    device.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 9 });
    expect((await device.sync()).rejected?.[0]?.code).toBe('DAILY_LIMIT');
    expect(await rejectedEvents()).toHaveLength(2);
    expect(await pending()).toEqual([]);
  });

  it('a sync that counts within the limit leaves nothing pending and records nothing', async () => {
    const device = await setup();
    device.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 5 });
    expect((await device.sync()).rejected).toBeUndefined();
    expect(await pending()).toEqual([]);
    expect(await rejectedEvents()).toEqual([]);
  });

  it('left pending by a DS that stopped after the sync committed, it is recorded by the scheduler, once', async () => {
    const device = await setup();
    const day = ctx.clock.now().toISOString().slice(0, 10);
    await commitOnly(device.deviceId!, 'jti-stopped', day, 3);
    expect(await pending()).toHaveLength(1);
    expect(await rejectedEvents()).toEqual([]);

    const scheduler = new CounterScheduler(ctx.app.services);
    await scheduler.tick();
    expect(await rejectedEvents()).toMatchObject([{ resourceId: device.deviceId, after: JSON.stringify({ day, limit: 5, reason: 'DAILY_LIMIT', rejectedEntries: 3, version: '3.8.1' }) }]);
    expect(await pending()).toEqual([]);
    await scheduler.tick();
    expect(await rejectedEvents()).toHaveLength(1);
    // The audit chain still verifies with the event in it.
    expect(await verifyAudit(ctx.app.services)).toMatchObject({ ok: true });
  });

  it('drained by several processes at once, each event is recorded exactly once', async () => {
    const device = await setup();
    const days = ['2026-03-10', '2026-03-11', '2026-03-12', '2026-03-13', '2026-03-14'];
    for (const [i, day] of days.entries()) await commitOnly(device.deviceId!, `jti-${i}`, day, i + 1);
    // The same event a second time (a twin of the same day) is one pending row.
    await commitOnly(device.deviceId!, 'jti-twin', days[0]!, 9);
    expect(await pending()).toHaveLength(days.length);

    const counts = await Promise.all(Array.from({ length: 4 }, () => recordPendingDeviceEvents(ctx.app.services)));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(days.length);
    const events = await rejectedEvents();
    expect(events.map((e) => (JSON.parse(e.after!) as { day: string }).day).sort()).toEqual(days);
    expect((JSON.parse(events.find((e) => e.after!.includes(days[0]!))!.after!) as { rejectedEntries: number }).rejectedEntries).toBe(1);
    expect(await pending()).toEqual([]);
  });

  it('a retry of the sync (same jti) writes no second pending event', async () => {
    const device = await setup();
    const day = ctx.clock.now().toISOString().slice(0, 10);
    await commitOnly(device.deviceId!, 'jti-once', day, 2);
    await recordPendingDeviceEvents(ctx.app.services);
    await commitOnly(device.deviceId!, 'jti-once', day, 2);
    expect(await pending()).toEqual([]);
    expect(await rejectedEvents()).toHaveLength(1);
  });
});
