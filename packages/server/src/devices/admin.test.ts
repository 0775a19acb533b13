import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../test/harness.js';
import { registeredDevice, seed } from '../test/devices.js';

// One desktop serves many organizations' web apps: users limited to one organization see only
// its part of a shared device, and cannot delete what the others count on.

let ctx: TestContext;
let admin: string;
let installationKey: string;

beforeEach(async () => {
  ctx = await createTestContext();
  admin = await ctx.login();
  ({ installationKey } = await seed(ctx, admin));
  await ctx.request('PUT', '/v3_5/admin/organizations/globex', { token: admin, body: {} });
  await ctx.request('PUT', '/v3_5/admin/labels/globex-web', { token: admin, body: { organization: 'globex' } });
});
afterEach(async () => ctx.close());

async function deviceServing(...labels: string[]) {
  const d = await registeredDevice(ctx, installationKey);
  for (const label of labels) d.recordTransaction({ label, module: 'beid', useCase: 'sign', count: 3 });
  await d.sync();
  return d.deviceId!;
}

describe('a device shared by two organizations', () => {
  it('shows a limited user only its organization’s labels and counters; an unrestricted admin all', async () => {
    const id = await deviceServing('acme-web', 'globex-web');
    const acmeViewer = await ctx.userToken('acme-viewer', 'viewer', 'acme');
    const one = await ctx.request('GET', `/v3_5/admin/devices/${id}`, { token: acmeViewer });
    expect(one.status).toBe(200);
    expect(one.body.data.labels).toEqual(['acme-web']);
    expect(one.body.data.counters.map((c: { label: string }) => c.label)).toEqual(['acme-web']);
    expect(JSON.stringify(one.body.data)).not.toContain('globex');
    const list = await ctx.request('GET', '/v3_5/admin/devices', { token: acmeViewer });
    expect(list.body.data.map((d: { id: string; labels: string[] }) => [d.id, d.labels])).toEqual([[id, ['acme-web']]]);
    const all = await ctx.request('GET', `/v3_5/admin/devices/${id}`, { token: admin });
    expect(all.body.data.labels).toEqual(['acme-web', 'globex-web']);
    expect(all.body.data.counters).toHaveLength(2);
  });

  it('refuses a limited admin’s delete (403 saying why) and changes nothing; an unrestricted admin may', async () => {
    const id = await deviceServing('acme-web', 'globex-web');
    const acmeAdmin = await ctx.userToken('acme-admin', 'admin', 'acme');
    const before = await ctx.database.db.selectFrom('deviceCounters').selectAll().where('deviceId', '=', id).execute();
    const res = await ctx.request('DELETE', `/v3_5/admin/devices/${id}`, { token: acmeAdmin });
    expect(res.status).toBe(403);
    expect(res.body.description).toMatch(/also serves labels outside acme/);
    expect(await ctx.database.db.selectFrom('deviceCounters').selectAll().where('deviceId', '=', id).execute()).toEqual(before);
    expect((await ctx.request('DELETE', `/v3_5/admin/devices/${id}`, { token: admin })).status).toBe(200);
  });

  it('lets a limited admin delete a device that served only its organization', async () => {
    const id = await deviceServing('acme-web');
    const acmeAdmin = await ctx.userToken('acme-admin', 'admin', 'acme');
    const res = await ctx.request('DELETE', `/v3_5/admin/devices/${id}`, { token: acmeAdmin });
    expect(res.status).toBe(200);
    expect(res.body.data.removed.deviceCounters).toBe(1);
  });
});
