import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CounterScheduler } from '../counters/scheduler.js';
import { TestFleet } from '../test/fleet.js';
import { seedOrganizations } from '../test/devices.js';
import { createTestContext, type TestContext } from '../test/harness.js';

// The Versions page through app.request() with the session cookie a dashboard login sets: the
// adoption over time (chart data and the table beside it), today's picture, and the rollouts with
// their waves and health, for an admin and for a user limited to one organization.

const installers = [{ os: 'win64', uri: 'https://cdn.example.test/t1c-win64.exe' }];
let ds: TestContext;
let admin: string;
let fleet: TestFleet;

beforeEach(async () => {
  ds = await createTestContext();
  admin = await ds.login();
  await seedOrganizations(ds, admin);
  await ds.request('PUT', '/v3_5/admin/versions/3.8.1', { token: admin, body: { installers } });
  await ds.request('PUT', '/v3_5/admin/versions/3.9.0', { token: admin, body: { installers, recommended: true } });
  await ds.request('PUT', '/v3_5/admin/versions/3.10.0', { token: admin, body: { installers } });
  fleet = new TestFleet(ds);
  // 2026-03-15: 3 acme devices on 3.8.1, 2 on 3.9.0 serving both, 4 globex-only on 3.9.0.
  await fleet.add(3, '3.8.1', ['acme-web']);
  await fleet.add(2, '3.9.0', ['acme-web', 'globex-web']);
  await fleet.add(4, '3.9.0', ['globex-web']);
  // The next day one acme device updates: the snapshot of the 15th and today differ.
  ds.clock.advance(86_400_000);
  await new CounterScheduler(ds.app.services).tick();
  await fleet.sync(fleet.ids[0]!, { version: '3.9.0' });
  admin = await ds.login();
});

afterEach(async () => {
  await ds.close();
});

async function page(token: string, query = '') {
  const res = await ds.app.request(`/dashboard/versions${query}`, { headers: { cookie: `ds_session=${token}` } });
  return { status: res.status, text: await res.text() };
}

function chartOf(text: string, id: string) {
  const match = new RegExp(`id="${id}"[^>]*data-chart="([^"]+)"`).exec(text);
  if (!match?.[1]) throw new Error(`no chart ${id}`);
  return JSON.parse(match[1].replaceAll('&quot;', '"').replaceAll('&amp;', '&')) as { type: string; labels: string[]; datasets: { label: string; data: number[] }[]; stacked?: boolean };
}

/** The cells of a table's body rows, tags stripped. */
function rowsOf(text: string, marker: string): string[][] {
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`no ${marker}`);
  const body = text.slice(text.indexOf('<tbody>', at), text.indexOf('</tbody>', at));
  return [...body.matchAll(/<tr[^>]*>(.*?)<\/tr>/gs)].map((row) => [...row[1]!.matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/gs)].map((cell) => cell[1]!.replace(/<[^>]+>/g, '').trim()));
}

describe('the Versions page', () => {
  it('shows adoption per day as a stacked chart with the same numbers in a table, and today per version', async () => {
    const res = await page(admin);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<a href="/dashboard/versions" aria-current="page">Versions</a>');
    const chart = chartOf(res.text, 'chart-adoption');
    expect(chart).toMatchObject({ type: 'bar', stacked: true, labels: ['2026-03-15', '2026-03-16'] });
    expect(chart.datasets).toEqual([
      { label: '3.8.1', data: [3, 2] },
      { label: '3.9.0', data: [6, 7] },
    ]);
    // The table beside it: newest first, a column per version.
    expect(rowsOf(res.text, 'Devices per version over time</caption>')).toEqual([
      ['2026-03-16', '2', '7'],
      ['2026-03-15', '3', '6'],
    ]);
    expect(rowsOf(res.text, 'id="adoption-now"')).toEqual([
      ['3.9.0', '7', '77.8 %', '0'],
      ['3.8.1', '2', '22.2 %', '0'],
    ]);
    expect(res.text).toContain('No rollout in progress');
  });

  it('shows each rollout with its waves and the health gate numbers, paused ones with their reason', async () => {
    const started = await ds.request('PUT', '/v3_5/admin/versions/3.10.0/rollout', { token: admin, body: { waves: [50, 100], minSample: 1 } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    // Enough devices that the 50 % wave surely holds some (each is in it with probability 1/2).
    await fleet.add(30, '3.9.0');
    const offered = await fleet.checkAll('3.10.0');
    expect(offered.length).toBeGreaterThan(0);
    await fleet.sync(offered[0]!, { version: '3.10.0' });

    const res = await page(admin);
    expect(res.text).toContain('data-rollout="3.10.0" data-state="active"');
    expect(res.text).toContain('3.10.0: in progress, offered to 50 % of devices');
    expect(rowsOf(res.text, 'Waves of 3.10.0</caption>')).toEqual([
      ['1: 50 %', 'current', '2026-03-16T10:00:00.000Z', String(offered.length), '1', '0', '0', '0.0 %'],
      ['2: 100 %', 'pending', '–', '0', '0', '0', '0', '–'],
    ]);
    expect(res.text).toMatch(new RegExp(`data-stat="rollout-3_10_0-offered" data-value="${offered.length}"`));

    // One failure among one updated device trips the gate (2 % limit, from 1 updated): paused by itself.
    await fleet.sync(offered[0]!, { version: '3.10.0', status: 'ERROR' });
    const paused = await page(admin);
    expect(paused.text).toContain('data-rollout="3.10.0" data-state="paused"');
    expect(paused.text).toMatch(/data-paused-reason="">Paused by the health gate: 1 of 1 updated devices failed/);
  });

  it('shows a user limited to an organization only the devices that serve it', async () => {
    await ds.userToken('acme-viewer', 'viewer', 'acme');
    const viewer = await ds.login('acme-viewer', 'acme-viewer-password-123');
    const res = await page(viewer);
    expect(res.status).toBe(200);
    expect(res.text).toContain('Organization: <strong>acme</strong>');
    expect(chartOf(res.text, 'chart-adoption').datasets).toEqual([
      { label: '3.8.1', data: [3, 2] },
      { label: '3.9.0', data: [2, 3] },
    ]);
    expect(rowsOf(res.text, 'id="adoption-now"')).toEqual([
      ['3.9.0', '3', '60.0 %', '0'],
      ['3.8.1', '2', '40.0 %', '0'],
    ]);
    // Asking for another organization is refused, not answered with its devices.
    const other = await page(viewer, '?organization=globex');
    expect(other.status).toBe(403);
    expect(other.text).not.toContain('chart-adoption');
  });

  it("shows a user limited to an organization the rollout numbers of its own devices, and no operator's name", async () => {
    expect((await ds.request('PUT', '/v3_5/admin/versions/3.10.0/rollout', { token: admin, body: { waves: [100 - 1, 100] } })).status).toBe(201);
    const offered = await fleet.checkAll('3.10.0');
    const acmeDevices = fleet.ids.slice(0, 5);
    const acmeOffered = offered.filter((id) => acmeDevices.includes(id));
    expect(offered.length).toBeGreaterThan(acmeOffered.length);
    expect((await ds.request('POST', '/v3_5/admin/versions/3.10.0/rollout/pause', { token: admin, body: {} })).status).toBe(200);
    const all = await page(admin);
    expect(all.text).toMatch(new RegExp(`data-stat="rollout-3_10_0-offered" data-value="${offered.length}"`));
    expect(all.text).toContain('data-paused-reason="">Paused by admin<');

    await ds.userToken('acme-viewer', 'viewer', 'acme');
    const viewer = await ds.login('acme-viewer', 'acme-viewer-password-123');
    const res = await page(viewer);
    expect(res.text).toMatch(new RegExp(`data-stat="rollout-3_10_0-offered" data-value="${acmeOffered.length}"`));
    expect(res.text).toContain('Rollout numbers count the devices of acme');
    expect(res.text).toContain('data-paused-reason="">Paused by an operator<');
  });

  it('an admin can choose one organization', async () => {
    const res = await page(admin, '?organization=globex');
    expect(rowsOf(res.text, 'id="adoption-now"')).toEqual([['3.9.0', '6', '100.0 %', '0']]);
  });
});
