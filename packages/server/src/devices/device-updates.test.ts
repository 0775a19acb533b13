import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { downloadInstaller, type UpdateOffer } from '@ds/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminContext, type TestContext } from '../test/harness.js';
import { appFetch, device } from '../test/devices.js';

// The device client as a T1C that updates itself (DeviceClient's installUpdate with
// downloadInstaller), against the real app: the installer comes from DS's download URL, and the new
// version is what the next sync reports.

let ctx: TestContext;
let admin: string;
let installationApiKey: string;

beforeEach(async () => {
  ({ ctx, admin } = await adminContext());
  ({ installationApiKey } = await putVersion('3.8.1', { recommended: true }));
});
afterEach(async () => ctx.close());

async function putVersion(id: string, body: Record<string, unknown>) {
  const bytes = randomBytes(3000);
  const path = join(ctx.installerRoot, `t1c-${id}.exe`);
  await writeFile(path, bytes);
  const installers = [{ os: 'win64', uri: pathToFileURL(path).href, sha256: createHash('sha256').update(bytes).digest('hex') }];
  const r = await ctx.request('PUT', `/v3_5/admin/versions/${id}`, { token: admin, body: { installers, ...body } });
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  return r.body.data;
}

const reported = async (id: string) => (await ctx.database.db.selectFrom('devices').select('version').where('id', '=', id).executeTakeFirstOrThrow()).version;

describe('a device client that installs updates', () => {
  it('installs at start, checks its version before every sync of its loop, and reports the version it installed', async () => {
    const installed: UpdateOffer[] = [];
    const timers: (() => void)[] = [];
    const installUpdate = async (offer: UpdateOffer) => {
      const file = await downloadInstaller(offer.downloadUri, { fetch: appFetch(ctx) });
      expect(file.size).toBe(3000);
      installed.push(offer);
      return true;
    };
    await putVersion('3.9.0', { recommended: true });
    const d = await device(ctx, installationApiKey, { version: '3.8.1', installUpdate, setTimer: (fn) => timers.push(fn) });
    await d.start();
    // The check at start offered 3.9.0: installed before the first sync.
    expect(installed.map((o) => o.version)).toEqual(['3.9.0']);
    expect(d.version).toBe('3.9.0');
    expect(timers).toHaveLength(1);

    await d.tick();
    expect(await reported(d.deviceId!)).toBe('3.9.0');

    // A mandatory 3.10.0: the loop's next check installs it, and the same sync reports it; the device keeps running.
    await putVersion('3.10.0', { mandatory: true });
    await d.tick();
    expect(installed.map((o) => [o.version, o.mandatory])).toEqual([
      ['3.9.0', false],
      ['3.10.0', true],
    ]);
    expect(await reported(d.deviceId!)).toBe('3.10.0');
    expect(d.isStopped).toBe(false);
  });

  it('a mandatory update it could not install stops it, as without installUpdate', async () => {
    let reason = '';
    await putVersion('3.9.0', { mandatory: true });
    const d = await device(ctx, installationApiKey, { version: '3.8.1', installUpdate: async () => false, onStop: (r) => (reason = r), setTimer: () => undefined });
    await d.start();
    expect(d.isStopped).toBe(true);
    expect(reason).toMatch(/3\.9\.0 is mandatory/);
    expect(d.version).toBe('3.8.1');
  });
});
