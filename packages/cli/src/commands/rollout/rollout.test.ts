import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../../../server/src/test/harness.js';
import { removeTempDirs, runDs, type RunOptions } from '../../test/harness.js';

// `ds rollout` and `ds org policy` against a real DS in this process (fresh database, fake clock).

const URL = 'https://ds.example.test';
let ds: TestContext;
let admin: string;

beforeEach(async () => {
  ds = await createTestContext();
  admin = await ds.login();
  const installers = [{ os: 'win64', uri: 'https://cdn.example.test/t1c-win64.exe' }];
  await ds.request('PUT', '/v3_5/admin/versions/3.9.0', { token: admin, body: { recommended: true, installers } });
  await ds.request('PUT', '/v3_5/admin/versions/3.10.0', { token: admin, body: { installers } });
  await ds.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} });
});
afterEach(async () => {
  await ds.close();
  await removeTempDirs();
});

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

async function run(args: string[], options: RunOptions = {}) {
  const requests: Sent[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const { signal: _signal, ...rest } = init ?? {};
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    requests.push({ method: init?.method ?? 'GET', path: new globalThis.URL(String(input)).pathname, headers: Object.fromEntries(new Headers(init?.headers)), body });
    return ds.app.request(String(input), rest);
  }) as typeof globalThis.fetch;
  const r = await runDs(['--url', URL, ...args], { ...options, env: { DS_TOKEN: admin, ...options.env }, overrides: { fetch, clock: ds.clock, ...options.overrides } });
  return { ...r, requests };
}

const rollout = async () => (await ds.request('GET', '/v3_5/admin/versions/3.10.0/rollout', { token: admin })).body;

describe('ds rollout', () => {
  it('start sends the waves, hold and gate as DS takes them, and shows the rollout', async () => {
    const r = await run(['rollout', 'start', '3.10.0', '--waves', '5,25,100', '--wave-hold', '12h', '--max-failure-rate', '2.5%', '--min-sample', '30', '--stuck-after', '4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.requests.at(-1)).toMatchObject({
      method: 'PUT',
      path: '/v3_5/admin/versions/3.10.0/rollout',
      body: { waves: [5, 25, 100], waveHoldSeconds: 43200, maxFailureRate: 0.025, minSample: 30, stuckAfter: 4 },
    });
    expect(r.stderr).toContain('started the rollout of 3.10.0: 5% of devices are offered it now');
    expect(r.stdout).toMatch(/wave\s+│\s+1 of 3 \(\[5%\] 25% 100%\)/);
    expect((await rollout()).data).toMatchObject({ state: 'active', waves: [5, 25, 100], waveHoldSeconds: 43200, maxFailureRate: 0.025 });
    // A second start is refused: the rollout is changed with `update`.
    const again = await run(['rollout', 'start', '3.10.0']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('ds rollout update 3.10.0');
  });

  it.each([
    [['--waves', '5,3,100'], 'strictly increasing'],
    [['--waves', '5,25'], 'must end with 100'],
    [['--waves', 'five'], 'whole percentages'],
    [['--max-failure-rate', 'lots'], 'a percentage such as 2%'],
    [['--max-failure-rate', '0.001%'], 'at most two decimals'],
    [['--wave-hold', 'soon'], 'duration'],
  ])('start %j is refused before anything is sent', async (flags, message) => {
    const r = await run(['rollout', 'start', '3.10.0', ...flags]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.requests).toEqual([]);
  });

  it('status --json prints exactly the API object; history lists who did what', async () => {
    await run(['rollout', 'start', '3.10.0']);
    const status = await run(['rollout', 'status', '3.10.0', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual((await rollout()).data);
    const promoted = await run(['rollout', 'promote', '3.10.0', '--note', 'looks good']);
    expect(promoted.code, promoted.stderr).toBe(0);
    // The promote carried the ETag read just before it.
    const post = promoted.requests.find((q) => q.method === 'POST')!;
    expect(post.headers['if-match']).toMatch(/^"3\.10\.0\.r1"$/);
    expect(promoted.stderr).toContain('promoted the rollout of 3.10.0: active, offered to 5% of devices');
    const history = await run(['rollout', 'history', '3.10.0', '--json']);
    expect(JSON.parse(history.stdout).map((e: { kind: string; actor: string; detail: string | null }) => [e.kind, e.actor])).toEqual([
      ['started', 'admin'],
      ['promoted', 'admin'],
    ]);
    const table = await run(['rollout', 'history', '3.10.0']);
    expect(table.stdout).toContain('1% -> 5%');
    expect(table.stdout).toContain('looks good');
  });

  it('pause, resume, and abort only with --yes when not interactive', async () => {
    await run(['rollout', 'start', '3.10.0']);
    expect((await run(['rollout', 'pause', '3.10.0'])).code).toBe(0);
    expect((await rollout()).data.state).toBe('paused');
    expect((await run(['rollout', 'resume', '3.10.0'])).code).toBe(0);
    const refused = await run(['rollout', 'abort', '3.10.0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--yes');
    expect((await rollout()).data.state).toBe('active');
    expect((await run(['rollout', 'abort', '3.10.0', '--yes'])).code).toBe(0);
    expect((await rollout()).data).toMatchObject({ state: 'aborted', percent: 0 });
  });

  it('says how to start a rollout when there is none', async () => {
    const r = await run(['rollout', 'status', '3.10.0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ds rollout start 3.10.0');
  });
});

describe('ds org policy', () => {
  it('set, show and clear', async () => {
    const set = await run(['org', 'policy', 'set', 'acme', '--hold', '<3.10', '--window', 'Sat 02:00-06:00 Europe/Brussels', '--json']);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ organization: 'acme', hold: '<3.10', window: 'Sat 02:00-06:00 Europe/Brussels', prereleases: false });
    const noHold = await run(['org', 'policy', 'set', 'acme', '--no-hold', '--prereleases']);
    expect(noHold.code).toBe(0);
    expect(noHold.requests.at(-1)!.body).toEqual({ hold: null, prereleases: true });
    const show = await run(['org', 'policy', 'show', 'acme']);
    expect(show.stdout).toMatch(/window\s+│\s+Sat 02:00-06:00 Europe\/Brussels/);
    expect(show.stdout).toMatch(/hold\s+│\s+-/);
    expect((await run(['org', 'policy', 'clear', 'acme', '--yes'])).code).toBe(0);
    expect((await ds.request('GET', '/v3_5/admin/organizations/acme/policy', { token: admin })).body.data).toMatchObject({ hold: null, window: null, prereleases: false });
  });

  it('a wrong time zone is named', async () => {
    const r = await run(['org', 'policy', 'set', 'acme', '--window', 'Sat 02:00-06:00 Europe/Bruxelles']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"Europe/Bruxelles" is not a time zone');
  });

  it('set with nothing to set is refused before anything is sent', async () => {
    const r = await run(['org', 'policy', 'set', 'acme']);
    expect(r.code).toBe(1);
    expect(r.requests).toEqual([]);
  });
});
