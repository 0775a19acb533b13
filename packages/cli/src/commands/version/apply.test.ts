import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../../../server/src/test/harness.js';
import { removeTempDirs, runDs, tempDir, type RunOptions } from '../../test/harness.js';

// `ds version apply` and `ds version update` against a real DS in this process (fresh database,
// fake clock): the ETag, If-Match and 412 are the server's own (issue 12, item 5).

const URL = 'https://ds.example.test';
const ARM = 'https://cdn.example.test/t1c/3.9.0/t1c-arm64.pkg';
let ds: TestContext;
let admin: string;
let win64: { uri: string; sha256: string };

beforeEach(async () => {
  ds = await createTestContext();
  admin = await ds.login();
  const path = join(ds.installerRoot, 't1c-win64.exe');
  writeFileSync(path, 'the windows installer');
  win64 = { uri: pathToFileURL(path).href, sha256: createHash('sha256').update('the windows installer').digest('hex') };
});
afterEach(async () => {
  await ds.close();
  await removeTempDirs();
});

/** A fetch into the app; `before` runs before each request is answered (another operator, meanwhile). */
function appFetch(before?: (method: string, path: string) => Promise<void>): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const { signal: _signal, ...rest } = init ?? {};
    const url = new globalThis.URL(String(input));
    await before?.(rest.method ?? 'GET', url.pathname);
    return ds.app.request(String(input), rest);
  }) as typeof fetch;
}

/** What the CLI sent DS. */
interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

/** Runs `ds` against the app; `requests` are what it sent (whatever `fetch` then did with them). */
async function ds_(args: string[], options: RunOptions & { fetch?: typeof fetch } = {}) {
  const requests: Sent[] = [];
  const inner = options.fetch ?? appFetch();
  const recording = (async (input: string | URL | Request, init?: RequestInit) => {
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    requests.push({ method: init?.method ?? 'GET', path: new globalThis.URL(String(input)).pathname, headers: Object.fromEntries(new Headers(init?.headers)), body });
    return inner(input, init);
  }) as typeof fetch;
  const r = await runDs(['--url', URL, ...args], {
    ...options,
    env: { DS_TOKEN: admin, ...options.env },
    overrides: { fetch: recording, clock: ds.clock, ...options.overrides },
  });
  return { ...r, requests };
}

const stored = async (id = '3.9.0') => (await ds.request('GET', `/v3_5/admin/versions/${id}`, { token: admin })).body.data;
const byOs = (version: { installers: { os: string; uri: string }[] }) => Object.fromEntries(version.installers.map((i) => [i.os, i.uri]));

describe('ds version apply', () => {
  it('creates the version, prints every change and the installation key, and a second run changes nothing', async () => {
    const args = ['version', 'apply', '3.9.0', '--recommended', '--installer', `win64=${win64.uri}`, '--installer', `macosarm=${ARM}`, '--release-notes', 'Faster PIN entry'];
    const first = await ds_(args);
    expect(first.code, first.stderr).toBe(0);
    const key = /^installation API key: (ds_ins_\S+)$/m.exec(first.stdout)?.[1];
    expect(key).toMatch(/^ds_ins_[A-Za-z0-9_-]{32}$/);
    expect(first.stdout).toBe(
      [
        '+ version 3.9.0',
        '+ recommended: true',
        '+ release notes: "Faster PIN entry"',
        `+ installer win64: ${win64.uri}`,
        `+ installer macosarm: ${ARM}`,
        `installation API key: ${key}`,
        '',
      ].join('\n'),
    );
    expect(first.stderr).toContain('created version 3.9.0\n');
    expect(first.stderr).toMatch(/warning: store the installation API key now/);
    // Create only: a version someone created meanwhile would not be updated.
    expect(first.requests.find((q) => q.method === 'PUT')!.headers['if-none-match']).toBe('*');
    const version = await stored();
    expect(version).toMatchObject({ recommended: true, releaseNotes: 'Faster PIN entry' });
    expect(version.installers).toContainEqual({ os: 'WIN64', uri: win64.uri, sha256: win64.sha256, size: 21 });

    const again = await ds_(args);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe('version 3.9.0 is up to date: nothing to change\n');
    expect(again.requests.map((q) => q.method)).toEqual(['GET']);
    expect(await stored()).toEqual(version);
  });

  it('never drops an installer it was not told to: one --installer replaces only its own OS (the issue: macosarm vanished)', async () => {
    await ds_(['version', 'apply', '3.9.0', '--installer', `win64=${win64.uri}`, '--installer', `macosarm=${ARM}`]);
    const other = join(ds.installerRoot, 't1c-win64-b.exe');
    writeFileSync(other, 'a rebuilt windows installer');
    const r = await ds_(['version', 'apply', '3.9.0', '--installer', `win64=${pathToFileURL(other).href}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`~ installer win64: ${win64.uri} → ${pathToFileURL(other).href}\n`);
    expect(r.stderr).toBe('updated version 3.9.0\n');
    expect(byOs(await stored())).toEqual({ WIN64: pathToFileURL(other).href, MACOSARM: ARM });
  });

  it('removes an installer only when told: --remove-installer (absent already: no change), or --exact', async () => {
    await ds_(['version', 'apply', '3.9.0', '--installer', `win64=${win64.uri}`, '--installer', `macosarm=${ARM}`]);
    const removed = await ds_(['version', 'apply', '3.9.0', '--remove-installer', 'macosarm']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe(`- installer macosarm: ${ARM}\n`);
    expect(byOs(await stored())).toEqual({ WIN64: win64.uri });
    // The recorded checksum of the installer it kept was sent back (a changed file would be refused, not re-recorded).
    expect((removed.requests.find((q) => q.method === 'PUT')!.body as { installers: unknown[] }).installers).toEqual([{ os: 'WIN64', uri: win64.uri, sha256: win64.sha256 }]);

    const again = await ds_(['version', 'apply', '3.9.0', '--remove-installer', 'macosarm']);
    expect(again.stderr).toBe('version 3.9.0 is up to date: nothing to change\n');

    await ds_(['version', 'apply', '3.9.0', '--installer', `macosarm=${ARM}`]);
    const exact = await ds_(['version', 'apply', '3.9.0', '--exact', '--installer', `macosarm=${ARM}`, '--mandatory']);
    expect(exact.code, exact.stderr).toBe(0);
    expect(exact.stdout).toBe(`~ mandatory: false → true\n- installer win64: ${win64.uri}\n`);
    expect(byOs(await stored())).toEqual({ MACOSARM: ARM });
  });

  it('sends the ETag it read as If-Match: a change saved by someone else in between makes it fail (412), and a re-run keeps that change', async () => {
    await ds_(['version', 'apply', '3.9.0', '--installer', `win64=${win64.uri}`]);
    // Another operator adds macosarm after this apply read the version and before it writes.
    let interfered = false;
    const meanwhile = appFetch(async (method, path) => {
      if (method === 'PUT' && path === '/v3_5/admin/versions/3.9.0' && !interfered) {
        interfered = true;
        const res = await ds.request('PUT', path, { token: admin, body: { installers: [{ os: 'win64', uri: win64.uri }, { os: 'macosarm', uri: ARM }] } });
        expect(res.status).toBe(200);
      }
    });
    const r = await ds_(['version', 'apply', '3.9.0', '--recommended', '--installer', 'unix=https://cdn.example.test/t1c.sh'], { fetch: meanwhile });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: PRECONDITION_FAILED: version 3\.9\.0 changed after `ds version apply 3\.9\.0` read it \(someone else saved it in between\); nothing was written/);
    expect(r.stderr).toMatch(/\nhint: run `ds version apply 3\.9\.0` again: it reads the version anew and changes only what still differs\n$/);
    const put = r.requests.find((q) => q.method === 'PUT')!;
    expect(put.headers['if-match']).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect((await stored()).recommended).toBe(false); // nothing of this apply was written

    const rerun = await ds_(['version', 'apply', '3.9.0', '--recommended', '--installer', 'unix=https://cdn.example.test/t1c.sh']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(byOs(await stored())).toEqual({ WIN64: win64.uri, MACOSARM: ARM, UNIX: 'https://cdn.example.test/t1c.sh' });
  });

  it('--json prints the resulting version (the changes go to stderr); unchanged, the version as it is', async () => {
    const r = await ds_(['version', 'apply', '3.9.0', '--allowed', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout);
    expect(printed).toMatchObject({ id: '3.9.0', allowed: true, installationApiKey: expect.stringMatching(/^ds_ins_/) });
    expect(r.stderr).toContain('+ allowed: true\n');
    const again = await ds_(['version', 'apply', '3.9.0', '--allowed', '--json']);
    expect(JSON.parse(again.stdout)).toEqual(await stored());
  });

  it('reads the version from a JSON file (or stdin), flags over the file, configs included', async () => {
    const dir = await tempDir();
    const file = join(dir, 'version.json');
    writeFileSync(
      file,
      JSON.stringify({
        id: '3.9.0',
        recommended: true,
        mandatory: true,
        installers: [{ os: 'win64', uri: win64.uri }],
        contextConfig: { corsAllowlist: ['https://*.acme.com'], syncIntervalSeconds: 1800 },
      }),
    );
    const r = await ds_(['version', 'apply', '3.9.0', '--file', file, '--no-mandatory']);
    expect(r.code, r.stderr).toBe(0);
    expect(await stored()).toMatchObject({ recommended: true, mandatory: false, contextConfig: { own: { corsAllowlist: ['https://*.acme.com'], syncIntervalSeconds: 1800 } } });
    expect(r.stdout).toContain('+ context config: {"corsAllowlist":["https://*.acme.com"],"syncIntervalSeconds":1800}\n');

    // The same from stdin, with the keys in another order: nothing to change.
    const fromStdin = await ds_(['version', 'apply', '3.9.0', '--file', '-', '--no-mandatory'], {
      stdin: JSON.stringify({ contextConfig: { syncIntervalSeconds: 1800, corsAllowlist: ['https://*.acme.com'] }, installers: [{ os: 'WIN64', uri: win64.uri }], recommended: true }),
    });
    expect(fromStdin.stderr).toBe('version 3.9.0 is up to date: nothing to change\n');
  });

  it.each([
    ['not JSON', '{"recommended": tru', /^error: --file: .*version\.json is not JSON/],
    ['a bad field, named', '{"installers": [{"os": "beos", "uri": "https://x"}]}', /^error: --file: .*version\.json: installers\.0\.os: must be one of WIN32, WIN64/],
    ['an unknown field, named', '{"recommend": true}', /^error: --file: .*version\.json: \(the whole file\): Unrecognized key: "recommend"|^error: --file: .*recommend/],
    ['another version', '{"id": "3.8.1"}', /^error: --file: .*version\.json is for version "3\.8\.1", not 3\.9\.0/],
    ['an OS twice', '{"installers": [{"os": "win64", "uri": "https://a"}, {"os": "WIN64", "uri": "https://b"}]}', /installers\.1\.os: win64 is given twice/],
  ])('refuses a file with %s before sending anything', async (_, text, message) => {
    const dir = await tempDir();
    writeFileSync(join(dir, 'version.json'), text);
    const r = await ds_(['version', 'apply', '3.9.0', '--file', join(dir, 'version.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.requests).toEqual([]);
  });

  it('refuses an OS both given and to be removed', async () => {
    const r = await ds_(['version', 'apply', '3.9.0', '--installer', `win64=${win64.uri}`, '--remove-installer', 'win64']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the win64 installer is both given and to be removed');
    expect(r.requests.filter((q) => q.method !== 'GET')).toEqual([]);
  });
});

describe('ds version update', () => {
  beforeEach(async () => {
    const res = await ds.request('PUT', '/v3_5/admin/versions/3.9.0', { token: admin, body: { installers: [{ os: 'win64', uri: win64.uri }, { os: 'macosarm', uri: ARM }] } });
    expect(res.status).toBe(201);
  });

  it('says what --installer removes and, not interactive, removes nothing without --yes', async () => {
    const r = await ds_(['version', 'update', '3.9.0', '--installer', `win64=${win64.uri}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--installer replaces the whole set of installers: this removes macosarm (`ds version apply` keeps the installers it is not given)');
    expect(r.stderr).toContain(`refusing to remove the installer macosarm ${ARM} of version 3.9.0 without confirmation: pass --yes`);
    expect(r.requests.map((q) => q.method)).toEqual(['GET']);
    expect(byOs(await stored())).toEqual({ WIN64: win64.uri, MACOSARM: ARM });
  });

  it('asks on a terminal, and with --yes removes it and says so', async () => {
    const asked = await ds_(['version', 'update', '3.9.0', '--installer', `win64=${win64.uri}`], { terminal: true, answers: [false] });
    expect(asked.code).toBe(2);
    expect(asked.prompts.map((p) => p.message)).toEqual([`Remove the installer macosarm ${ARM} of version 3.9.0?`]);
    const r = await ds_(['version', 'update', '3.9.0', '--installer', `win64=${win64.uri}`, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`- installer macosarm: ${ARM}\nupdated version 3.9.0\n`);
    expect(byOs(await stored())).toEqual({ WIN64: win64.uri });
  });

  it('uses the ETag of its read: a change saved in between is refused (412), not overwritten', async () => {
    const meanwhile = appFetch(async (method, path) => {
      if (method === 'PUT' && path === '/v3_5/admin/versions/3.9.0') await ds.request('PUT', path, { token: admin, body: { releaseNotes: 'theirs' } });
    });
    const r = await ds_(['version', 'update', '3.9.0', '--mandatory'], { fetch: meanwhile });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: PRECONDITION_FAILED: version 3\.9\.0 changed after `ds version update 3\.9\.0` read it/);
    expect(await stored()).toMatchObject({ releaseNotes: 'theirs', mandatory: false });
  });

  it('prints what it changed, on stderr beside the version', async () => {
    const r = await ds_(['version', 'update', '3.9.0', '--recommended', '--release-notes', 'two\nlines']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('~ recommended: false → true\n~ release notes: (none) → "two\\nlines"\nupdated version 3.9.0\n');
  });
});

describe('ds version create', () => {
  it('on an existing version is CONFLICT and points to apply', async () => {
    await ds.request('PUT', '/v3_5/admin/versions/3.9.0', { token: admin, body: {} });
    const r = await ds_(['version', 'create', '3.9.0', '--recommended']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CONFLICT: version 3.9.0 already exists');
    expect(r.stderr).toContain('`ds version apply 3.9.0 ...` (creates or updates)');
  });

  it('created by someone else between its check and its write: CONFLICT, the other version untouched', async () => {
    const meanwhile = appFetch(async (method, path) => {
      if (method === 'PUT' && path === '/v3_5/admin/versions/3.9.0') await ds.request('PUT', path, { token: admin, body: { releaseNotes: 'theirs' } });
    });
    const r = await ds_(['version', 'create', '3.9.0', '--recommended'], { fetch: meanwhile });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CONFLICT: version 3.9.0 already exists');
    expect(await stored()).toMatchObject({ releaseNotes: 'theirs', recommended: false });
  });
});

describe('read-modify-write commands send If-Match', () => {
  beforeEach(async () => {
    await ds.request('PUT', '/v3_5/admin/versions/3.9.0', { token: admin, body: { installers: [{ os: 'win64', uri: win64.uri }] } });
  });
  const change = () => ds.request('PUT', '/v3_5/admin/versions/3.9.0', { token: admin, body: { releaseNotes: 'theirs' } });
  it.each([
    ['installer add', ['version', 'installer', 'add', '3.9.0', `macosarm=${ARM}`], '/v3_5/admin/versions/3.9.0'],
    ['installer remove', ['version', 'installer', 'remove', '3.9.0', 'win64', '--yes'], '/v3_5/admin/versions/3.9.0'],
    ['config set', ['version', 'config', 'set', '3.9.0', '--sync-interval', '900'], '/v3_5/admin/versions/3.9.0/context-config'],
  ])('ds version %s', async (_, args, written) => {
    let done = false;
    const meanwhile = appFetch(async (method, path) => {
      if (method === 'PUT' && path === written && !done) {
        done = true;
        await change();
      }
    });
    const before = await stored();
    const r = await ds_(args, { fetch: meanwhile });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PRECONDITION_FAILED: version 3.9.0 changed after');
    const after = await stored();
    expect(after.installers).toEqual(before.installers);
    expect(after.contextConfig).toEqual(before.contextConfig);
    expect(after.releaseNotes).toBe('theirs');
    expect((await ds_(args)).code).toBe(0); // again, from the new state
  });
});
