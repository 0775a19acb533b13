import { configDigest } from '@ds/shared';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { verifyApiKey } from '../apikeys/api-keys.service.js';
import { systemResolver } from '../lib/outbound.js';
import { adminContext, createTestContext, type TestContext, type TestResponse } from '../test/harness.js';

let ctx: TestContext;
let admin: string;

beforeEach(async () => ({ ctx, admin } = await adminContext()));
afterEach(async () => ctx.close());

const V = '/v3_5/admin/versions';
const put = (id: string, body: unknown) => ctx.request('PUT', `${V}/${id}`, { token: admin, body });
const get = (id: string) => ctx.request('GET', `${V}/${id}`, { token: admin });
const del = (id: string, query = '') => ctx.request('DELETE', `${V}/${id}${query}`, { token: admin });
const rotate = (id: string, body: unknown = {}) => ctx.request('POST', `${V}/${id}/rotate-key`, { token: admin, body });
const verify = (key: string) => verifyApiKey(ctx.database.db, 'installation', key, ctx.clock.now());
const sha256Hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const fileUri = (path: string) => pathToFileURL(path).href;
const HEX_A = 'a'.repeat(64);
const HEX_B = '0123456789abcdef'.repeat(4);

/** A version as GET answers it, for before/after comparisons. */
async function snapshot(id: string): Promise<TestResponse['body']> {
  const res = await get(id);
  return { status: res.status, body: res.body.data ?? res.body.code };
}

function expectError(res: TestResponse, status: number, code: string, field?: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.success).toBe(false);
  expect(res.body.code).toBe(code);
  if (field !== undefined) expect(res.body.description).toContain(field);
}

// ---------------------------------------------------------------------------------- create/update

describe('PUT /versions/{id}', () => {
  it('creates with 201 and answers the installation API key only then', async () => {
    const created = await put('3.8.1', { releaseNotes: 'first' });
    expect(created.status).toBe(201);
    const data = created.body.data;
    expect(data).toMatchObject({ id: '3.8.1', recommended: false, mandatory: false, allowed: true, releaseNotes: 'first', installers: [] });
    const key: string = data.installationApiKey;
    expect(key).toMatch(/^ds_ins_[A-Za-z0-9_-]{32}$/);
    expect(data.installationKeys).toHaveLength(1);
    expect(data.installationKeys[0]).toMatchObject({ status: 'active', revokedAt: null, expiresAt: null });
    expect(key.startsWith(data.installationKeys[0].prefix.replace('…', ''))).toBe(true);
    expect(data.createdAt).toBe('2026-03-15T10:00:00.000Z');

    const fetched = await get('3.8.1');
    expect(fetched.status).toBe(200);
    expect(fetched.body.data).not.toHaveProperty('installationApiKey');
    const listed = await ctx.request('GET', V, { token: admin });
    expect(listed.body.data[0]).not.toHaveProperty('installationApiKey');

    ctx.clock.advance(60_000);
    const updated = await put('3.8.1', { recommended: true });
    expect(updated.status).toBe(200);
    expect(updated.body.data).not.toHaveProperty('installationApiKey');
    expect(updated.body.data.installationKeys).toHaveLength(1); // no new key on update
    expect(updated.body.data.updatedAt).toBe('2026-03-15T10:01:00.000Z');
    expect(updated.body.data.createdAt).toBe('2026-03-15T10:00:00.000Z');

    // Only the digest is stored, and the key works.
    const rows = await ctx.database.db.selectFrom('apiKeys').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(key);
    expect(await verify(key)).toBe('3.8.1');
  });

  it('keeps omitted fields on update; null clears', async () => {
    const full = {
      recommended: true,
      mandatory: true,
      allowed: false,
      releaseNotes: 'notes',
      installers: [{ os: 'WIN64', uri: 'https://cdn.example.com/t1c-3.8.1.msi', sha256: HEX_A }],
      contextConfig: { syncIntervalSeconds: 120 },
      sslKeystoreConfig: { uri: 'https://keys.example.com/ks.p12', sha256: HEX_B },
    };
    expect((await put('3.8.1', full)).status).toBe(201);
    const before = (await get('3.8.1')).body.data;

    const res = await put('3.8.1', { releaseNotes: 'changed' });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      recommended: true,
      mandatory: true,
      allowed: false,
      releaseNotes: 'changed',
      installers: before.installers,
      contextConfig: before.contextConfig,
      sslKeystoreConfig: before.sslKeystoreConfig,
    });
    expect(before.contextConfig.own).toEqual({ syncIntervalSeconds: 120 });
    expect(before.sslKeystoreConfig.own).toEqual(full.sslKeystoreConfig);

    const flags = await put('3.8.1', { recommended: false, allowed: true });
    expect(flags.body.data).toMatchObject({ recommended: false, mandatory: true, allowed: true, releaseNotes: 'changed' });

    const cleared = await put('3.8.1', { releaseNotes: null, contextConfig: null, sslKeystoreConfig: null });
    expect(cleared.body.data.releaseNotes).toBeNull();
    expect(cleared.body.data.contextConfig.own).toBeNull();
    expect(cleared.body.data.contextConfig.effective.syncIntervalSeconds).toBe(3600);
    expect(cleared.body.data.sslKeystoreConfig).toEqual({ own: null, effective: null, digest: null });
    expect(cleared.body.data.installers).toHaveLength(1);
  });

  it('`installers` replaces the whole set', async () => {
    const a = { os: 'win64', uri: 'https://cdn.example.com/a.msi' };
    const b = { os: 'LINUX64', uri: 'https://cdn.example.com/b.deb' };
    const c = { os: 'macosarm', uri: 'https://cdn.example.com/c.pkg', sha256: HEX_A.toUpperCase() };
    await put('1.0.0', { installers: [a, b] });
    expect((await get('1.0.0')).body.data.installers.map((i: { os: string }) => i.os).sort()).toEqual(['LINUX64', 'WIN64']);

    const replaced = await put('1.0.0', { installers: [c] });
    expect(replaced.body.data.installers).toEqual([{ os: 'MACOSARM', uri: c.uri, sha256: HEX_A, size: null }]);

    await put('1.0.0', { mandatory: true });
    expect((await get('1.0.0')).body.data.installers).toHaveLength(1);

    const emptied = await put('1.0.0', { installers: [] });
    expect(emptied.body.data.installers).toEqual([]);
    expect(await ctx.database.db.selectFrom('installers').selectAll().execute()).toEqual([]);
  });

  it.each(['v1.2', '1.2', 'latest', '1.2.3.4', '01.2.3', '1.2.3-', '1.2.3-01', '1.2.3+'])('refuses the version id %j, naming it', async (id) => {
    const res = await put(encodeURIComponent(id), {});
    expectError(res, 400, 'VALIDATION_ERROR');
    expect(res.body.description).toMatch(/\bid\b/);
    expect(res.body.description).toContain('semantic version');
    expect(res.body.description).not.toContain('(body)');
    expect(await ctx.database.db.selectFrom('versions').selectAll().execute()).toEqual([]);
  });

  it('accepts pre-release and build metadata ids', async () => {
    expect((await put('1.0.0-rc.1', {})).status).toBe(201);
    expect((await put('1.0.1-beta-2.x-y.0+build.7', {})).status).toBe(201);
    expect((await get('1.0.1-beta-2.x-y.0+build.7')).body.data.id).toBe('1.0.1-beta-2.x-y.0+build.7');
  });

  it('refuses a second version that differs only in build metadata (409)', async () => {
    expect((await put('1.0.0+a', {})).status).toBe(201);
    const res = await put('1.0.0+b', { recommended: true });
    expectError(res, 409, 'CONFLICT', '1.0.0+a');
    expect((await get('1.0.0+b')).status).toBe(404);
    expect((await put('1.0.0', {})).status).toBe(409);
    // The same id again is an update, not a conflict.
    expect((await put('1.0.0+a', { recommended: true })).status).toBe(200);
    expect(await ctx.database.db.selectFrom('apiKeys').selectAll().execute()).toHaveLength(1);
  });

  const BAD_BODIES: { name: string; body: unknown; field: string }[] = [
    { name: 'an unknown field', body: { recommended: true, colour: 'blue' }, field: 'colour' },
    { name: 'an unknown installer field', body: { installers: [{ os: 'WIN64', uri: 'https://x.example.com/a.msi', arch: 'x64' }] }, field: 'arch' },
    { name: 'a bad os', body: { installers: [{ os: 'WIN128', uri: 'https://x.example.com/a.msi' }] }, field: 'installers[0].os' },
    { name: 'an os given twice', body: { installers: [{ os: 'WIN64', uri: 'https://x.example.com/a.msi' }, { os: 'win64', uri: 'https://x.example.com/b.msi' }] }, field: 'installers[1].os' },
    { name: 'an installer without uri', body: { installers: [{ os: 'WIN64' }] }, field: 'installers[0].uri' },
    { name: 'a bad installer sha256', body: { installers: [{ os: 'WIN64', uri: 'https://x.example.com/a.msi', sha256: 'abc' }] }, field: 'installers[0].sha256' },
    { name: 'a non-boolean flag', body: { mandatory: 'yes' }, field: 'mandatory' },
    { name: 'releaseNotes not a string', body: { releaseNotes: 42 }, field: 'releaseNotes' },
    { name: 'a short sync interval', body: { contextConfig: { syncIntervalSeconds: 59 } }, field: 'contextConfig.syncIntervalSeconds' },
    { name: 'a bad CORS pattern', body: { contextConfig: { corsAllowlist: ['https://ok.example.com', 'https://example.com/path'] } }, field: 'contextConfig.corsAllowlist[1]' },
    { name: 'an ftp keystore', body: { sslKeystoreConfig: { uri: 'ftp://keys.example.com/ks.p12', sha256: HEX_A } }, field: 'sslKeystoreConfig.uri' },
    { name: 'a keystore without sha256', body: { sslKeystoreConfig: { uri: 'https://keys.example.com/ks.p12' } }, field: 'sslKeystoreConfig.sha256' },
    { name: 'a body that is an array', body: [], field: '(body)' },
  ];

  describe.each(BAD_BODIES)('refuses $name', ({ body, field }) => {
    it('on creation (nothing is created)', async () => {
      expectError(await put('2.0.0', body), 400, 'VALIDATION_ERROR', field);
      expect((await get('2.0.0')).status).toBe(404);
    });
    it('on update (nothing changes)', async () => {
      await put('2.0.0', { releaseNotes: 'x', installers: [{ os: 'MACOS', uri: 'https://x.example.com/m.pkg' }], contextConfig: { syncIntervalSeconds: 90 } });
      const before = await snapshot('2.0.0');
      ctx.clock.advance(1000);
      expectError(await put('2.0.0', body), 400, 'VALIDATION_ERROR', field);
      expect(await snapshot('2.0.0')).toEqual(before);
    });
  });

  it('refuses a body that is not JSON', async () => {
    const res = await ctx.request('PUT', `${V}/2.0.0`, { token: admin, rawBody: '{"recommended": tru', headers: { 'content-type': 'application/json' } });
    expectError(res, 400, 'VALIDATION_ERROR');
    expect((await get('2.0.0')).status).toBe(404);
  });
});

// ---------------------------------------------------------------------------------- installers

describe('installers', () => {
  let outside: string;
  beforeAll(() => {
    outside = mkdtempSync(join(tmpdir(), 'ds-outside-'));
    writeFileSync(join(outside, 'evil.msi'), 'outside the root');
  });
  afterAll(() => rmSync(outside, { recursive: true, force: true }));

  function makeFile(relative: string, content: Buffer | string) {
    const path = join(ctx.installerRoot, relative);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
    return path;
  }

  it('records sha256 and size of a file inside the root', async () => {
    const content = randomBytes(300_000);
    const path = makeFile('3.8.1/t1c-win64.msi', content);
    const res = await put('3.8.1', { installers: [{ os: 'WIN64', uri: fileUri(path) }] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.data.installers).toEqual([{ os: 'WIN64', uri: fileUri(path), sha256: sha256Hex(content), size: 300_000 }]);
    expect((await get('3.8.1')).body.data.installers[0].size).toBe(300_000);

    // The right checksum may be given (in any case); it is checked, not trusted.
    const again = await put('3.8.1', { installers: [{ os: 'WIN64', uri: fileUri(path), sha256: sha256Hex(content).toUpperCase() }] });
    expect(again.status).toBe(200);
    expect(again.body.data.installers[0].sha256).toBe(sha256Hex(content));
  });

  it('accepts file://localhost/ and a symlink that stays inside the root', async () => {
    const path = makeFile('real/t1c.deb', 'debian package');
    symlinkSync(path, join(ctx.installerRoot, 'link.deb'));
    const res = await put('1.0.0', {
      installers: [
        { os: 'LINUX64', uri: fileUri(path).replace('file:///', 'file://localhost/') },
        { os: 'LINUX32', uri: fileUri(join(ctx.installerRoot, 'link.deb')) },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    for (const i of res.body.data.installers) expect(i).toMatchObject({ sha256: sha256Hex('debian package'), size: 14 });
  });

  it('notices a changed file on the next save', async () => {
    const path = makeFile('t1c.pkg', 'version one');
    await put('1.0.0', { installers: [{ os: 'MACOS', uri: fileUri(path) }] });
    writeFileSync(path, 'version two'); // same size
    utimesSync(path, new Date('2030-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
    const res = await put('1.0.0', { installers: [{ os: 'MACOS', uri: fileUri(path) }] });
    expect(res.body.data.installers[0].sha256).toBe(sha256Hex('version two'));
  });

  it('refuses a wrong sha256 for a file and writes nothing', async () => {
    const path = makeFile('t1c.msi', 'the real installer');
    await put('1.0.0', { installers: [{ os: 'WIN32', uri: 'https://cdn.example.com/old.msi' }] });
    const before = await snapshot('1.0.0');
    const res = await put('1.0.0', { installers: [{ os: 'WIN64', uri: fileUri(path), sha256: HEX_A }] });
    expectError(res, 400, 'VALIDATION_ERROR', 'installers[0].sha256');
    expect(res.body.description).toContain(sha256Hex('the real installer'));
    expect(await snapshot('1.0.0')).toEqual(before);
  });

  it('accepts https:// installers with or without a sha256, without reading them', async () => {
    const res = await put('1.0.0', {
      installers: [
        { os: 'WIN64', uri: 'https://cdn.example.com/t1c.msi', sha256: HEX_B },
        { os: 'MACOS', uri: 'https://cdn.example.com/t1c.pkg' },
      ],
    });
    expect(res.status).toBe(201);
    const byOs = Object.fromEntries(res.body.data.installers.map((i: { os: string }) => [i.os, i]));
    expect(byOs.WIN64).toEqual({ os: 'WIN64', uri: 'https://cdn.example.com/t1c.msi', sha256: HEX_B, size: null });
    expect(byOs.MACOS).toEqual({ os: 'MACOS', uri: 'https://cdn.example.com/t1c.pkg', sha256: null, size: null });
  });

  // Each refused URI is put second, behind a valid installer, so the error must name index 1.
  const REFUSED: { name: string; uri: () => string }[] = [
    { name: 'a file outside the root', uri: () => 'file:///etc/passwd' },
    { name: 'a file in another directory', uri: () => fileUri(join(outside, 'evil.msi')) },
    { name: '".." out of the root', uri: () => `${fileUri(ctx.installerRoot)}/../${basename(outside)}/evil.msi` },
    { name: '".." out of the root and back in', uri: () => `${fileUri(ctx.installerRoot)}/../${basename(ctx.installerRoot)}/inside.msi` },
    { name: 'a ".." between backslashes', uri: () => `${fileUri(ctx.installerRoot)}\\..\\${basename(ctx.installerRoot)}\\inside.msi` },
    { name: 'an encoded ".."', uri: () => `${fileUri(ctx.installerRoot)}/%2e%2e/${basename(outside)}/evil.msi` },
    { name: 'a symlink inside the root pointing outside', uri: () => fileUri(join(ctx.installerRoot, 'escape.msi')) },
    { name: 'a symlinked directory pointing outside', uri: () => fileUri(join(ctx.installerRoot, 'escape-dir', 'evil.msi')) },
    { name: 'a directory', uri: () => fileUri(join(ctx.installerRoot, 'a-directory')) },
    { name: 'the root itself', uri: () => fileUri(ctx.installerRoot) },
    { name: 'a missing file', uri: () => fileUri(join(ctx.installerRoot, 'missing.msi')) },
    { name: 'a file URI naming a host', uri: () => fileUri(join(ctx.installerRoot, 'inside.msi')).replace('file:///', 'file://evil.example.com/') },
    { name: 'ftp://', uri: () => 'ftp://ftp.example.com/t1c.msi' },
    { name: 'a relative path', uri: () => 'inside.msi' },
    { name: 'a dot-relative path', uri: () => './inside.msi' },
    { name: 'an absolute path without scheme', uri: () => join(ctx.installerRoot, 'inside.msi') },
    { name: 'javascript:', uri: () => 'javascript:alert(1)' },
    { name: 'data:', uri: () => 'data:application/octet-stream;base64,AAAA' },
    { name: 'a file URI with a query', uri: () => `${fileUri(join(ctx.installerRoot, 'inside.msi'))}?v=1` },
    { name: 'a file URI with a fragment', uri: () => `${fileUri(join(ctx.installerRoot, 'inside.msi'))}#x` },
    // Origins DS must not fetch from (DS_ALLOW_PRIVATE_ORIGINS is off): see 'installer origins' below.
    { name: 'a loopback origin', uri: () => 'http://127.0.0.1:8080/t1c.msi' },
    { name: 'the cloud metadata address', uri: () => 'http://169.254.169.254/latest/meta-data/' },
    { name: 'a decimal loopback host', uri: () => 'http://2130706433/t1c.msi' },
    { name: 'a hex loopback host', uri: () => 'http://0x7f.1/t1c.msi' },
    { name: 'localhost', uri: () => 'http://localhost:3000/t1c.msi' },
    { name: 'an IPv6 loopback origin', uri: () => 'http://[::1]/t1c.msi' },
    { name: 'an IPv4-mapped loopback origin', uri: () => 'http://[::ffff:127.0.0.1]/t1c.msi' },
    { name: 'a private origin', uri: () => 'https://10.0.0.8/t1c.msi' },
    { name: 'a unique-local origin', uri: () => 'https://[fd00::8]/t1c.msi' },
  ];

  it('says how to write a path as a URI', async () => {
    makeFile('inside.msi', 'inside');
    const path = join(ctx.installerRoot, 'inside.msi');
    const res = await ctx.request('PUT', '/v3_5/admin/versions/3.9.0', { token: admin, body: { installers: [{ os: 'WIN64', uri: path }] } });
    expect(res.status).toBe(400);
    expect(res.body.description).toContain(`${path} is a path, not a URI: write it as file://${path}`);
  });

  describe.each(REFUSED)('refuses $name', ({ uri }) => {
    beforeEach(() => {
      makeFile('inside.msi', 'inside');
      mkdirSync(join(ctx.installerRoot, 'a-directory'));
      symlinkSync(join(outside, 'evil.msi'), join(ctx.installerRoot, 'escape.msi'));
      symlinkSync(outside, join(ctx.installerRoot, 'escape-dir'));
    });
    const installers = () => [
      { os: 'WIN64', uri: 'https://cdn.example.com/ok.msi' },
      { os: 'LINUX64', uri: uri() },
    ];

    it('on creation (nothing is created)', async () => {
      const res = await put('4.0.0', { installers: installers() });
      expectError(res, 400, 'INVALID_INSTALLER_URI', 'installers[1].uri');
      expect(res.body.details.issues[0].path).toBe('installers[1].uri');
      expect((await get('4.0.0')).status).toBe(404);
      expect(await ctx.database.db.selectFrom('installers').selectAll().execute()).toEqual([]);
    });

    it('on update (the previous state stays)', async () => {
      await put('4.0.0', { installers: [{ os: 'MACOS', uri: fileUri(join(ctx.installerRoot, 'inside.msi')) }], releaseNotes: 'before' });
      const before = await snapshot('4.0.0');
      expect(before.body.installers).toHaveLength(1);
      ctx.clock.advance(1000);
      const res = await put('4.0.0', { installers: installers(), releaseNotes: 'after' });
      expectError(res, 400, 'INVALID_INSTALLER_URI', 'installers[1].uri');
      expect(await snapshot('4.0.0')).toEqual(before);
    });
  });
});

// ---------------------------------------------------------------------------------- origins

describe('installer origins on private addresses', () => {
  afterEach(() => vi.restoreAllMocks());
  const withOrigin = (uri: string) => ({ installers: [{ os: 'WIN64', uri }] });

  it.each([
    ['http://127.0.0.1:8080/t1c.msi', '127.0.0.1 is a loopback address'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is a link-local address'],
    ['http://2130706433/t1c.msi', '127.0.0.1 is a loopback address'],
    ['http://0x7f.1/t1c.msi', '127.0.0.1 is a loopback address'],
    ['http://192.168.1.20/t1c.msi', '192.168.1.20 is a private address'],
    ['http://100.64.0.1/t1c.msi', '100.64.0.1 is a shared (CGNAT) address'],
    ['http://[fe80::1]/t1c.msi', 'fe80::1 is a link-local address'],
    ['http://[fd00::8]/t1c.msi', 'fd00::8 is a unique-local address'],
    ['http://[::ffff:a9fe:a9fe]/t1c.msi', '::ffff:a9fe:a9fe is a link-local address'],
  ])('%s is refused, naming the address class and the setting that allows it', async (uri, why) => {
    const res = await put('4.0.0', withOrigin(uri));
    expectError(res, 400, 'INVALID_INSTALLER_URI', 'installers[0].uri');
    expect(res.body.description).toContain(why);
    expect(res.body.description).toContain('DS_ALLOW_PRIVATE_ORIGINS=true');
    expect((await get('4.0.0')).status).toBe(404);
  });

  it('refuses a name that resolves to a private address, and one with any private address among public ones', async () => {
    const resolve = vi.spyOn(systemResolver, 'resolve').mockResolvedValue([{ address: '10.20.30.40', family: 4 }]);
    const res = await put('4.0.0', withOrigin('https://mirror.example.com/t1c.msi'));
    expectError(res, 400, 'INVALID_INSTALLER_URI', 'installers[0].uri');
    expect(res.body.description).toContain('mirror.example.com resolves to 10.20.30.40, a private address');
    expect(resolve).toHaveBeenCalledWith('mirror.example.com');
    resolve.mockResolvedValue([{ address: '93.184.215.14', family: 4 }, { address: '::1', family: 6 }]);
    const mixed = await put('4.0.0', withOrigin('https://mirror.example.com/t1c.msi'));
    expectError(mixed, 400, 'INVALID_INSTALLER_URI', 'mirror.example.com resolves to ::1, a loopback address');
    resolve.mockResolvedValue([{ address: '93.184.215.14', family: 4 }]);
    expect((await put('4.0.0', withOrigin('https://mirror.example.com/t1c.msi'))).status).toBe(201);
  });

  it('accepts a name that does not resolve yet, and tells the operators log', async () => {
    vi.spyOn(systemResolver, 'resolve').mockRejectedValue(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    const warn = vi.spyOn(ctx.app.services.logger, 'warn');
    const res = await put('4.0.0', withOrigin('https://not-yet.example.com/t1c.msi'));
    expect(res.status).toBe(201);
    expect(warn).toHaveBeenCalledWith('installer origin not checked', {
      problem: 'installers[0].uri: not-yet.example.com does not resolve (ENOTFOUND); accepted, and checked again on every connection to it',
    });
  });

  it('accepts them all with DS_ALLOW_PRIVATE_ORIGINS=true (on-premises mirrors)', async () => {
    await ctx.close();
    ctx = await createTestContext({ configOverrides: { DS_ALLOW_PRIVATE_ORIGINS: 'true' } });
    admin = await ctx.login();
    vi.spyOn(systemResolver, 'resolve').mockResolvedValue([{ address: '10.20.30.40', family: 4 }]);
    for (const uri of ['http://127.0.0.1:8080/t1c.msi', 'http://169.254.169.254/t1c.msi', 'http://localhost/t1c.msi', 'http://[::1]/t1c.msi', 'https://mirror.internal/t1c.msi']) {
      const res = await put('4.0.0', withOrigin(uri));
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
      expect(res.body.data.installers[0].uri).toBe(uri);
    }
  });
});

// ---------------------------------------------------------------------------------- list

describe('GET /versions', () => {
  const INSERTED = ['1.9.0-rc.2', '1.10.0', '0.9.0', '1.9.0-rc.10', '1.9.0', '2.0.0-beta.1', '1.9.0-alpha', '1.9.1', '1.9.0-rc.2.1', '10.0.0'];
  const EXPECTED = ['10.0.0', '2.0.0-beta.1', '1.10.0', '1.9.1', '1.9.0', '1.9.0-rc.10', '1.9.0-rc.2.1', '1.9.0-rc.2', '1.9.0-alpha', '0.9.0'];

  beforeEach(async () => {
    for (const id of INSERTED) expect((await put(id, {})).status).toBe(201);
  });

  it('orders by semver precedence, newest first, not by insertion or text', async () => {
    const res = await ctx.request('GET', V, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.data.map((v: { id: string }) => v.id)).toEqual(EXPECTED);
    expect(res.body.page).toEqual({ next: null });
  });

  it('pages with ?limit and page.next, visiting every version once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const path: string = `${V}?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await ctx.request('GET', path, { token: admin });
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(3);
      expect(res.body.data.length).toBeGreaterThan(0);
      seen.push(...res.body.data.map((v: { id: string }) => v.id));
      cursor = res.body.page.next;
      pages++;
      expect(pages).toBeLessThan(10);
    } while (cursor);
    expect(seen).toEqual(EXPECTED);
    expect(pages).toBe(4);
  });

  it('pages with ?limit=2 exactly (no empty last page)', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const res: TestResponse = await ctx.request('GET', `${V}?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: admin });
      sizes.push(res.body.data.length);
      seen.push(...res.body.data.map((v: { id: string }) => v.id));
      cursor = res.body.page.next;
    } while (cursor && sizes.length < 10);
    expect(sizes).toEqual([2, 2, 2, 2, 2]);
    expect(seen).toEqual(EXPECTED);
  });

  it('a version added between pages shows up in its place', async () => {
    const first = await ctx.request('GET', `${V}?limit=4`, { token: admin });
    expect(first.body.data.map((v: { id: string }) => v.id)).toEqual(EXPECTED.slice(0, 4));
    await put('1.9.0-beta', {});
    await put('3.0.0', {}); // before the cursor: not on later pages
    const rest = await ctx.request('GET', `${V}?limit=100&cursor=${first.body.page.next}`, { token: admin });
    expect(rest.body.data.map((v: { id: string }) => v.id)).toEqual(['1.9.0', '1.9.0-rc.10', '1.9.0-rc.2.1', '1.9.0-rc.2', '1.9.0-beta', '1.9.0-alpha', '0.9.0']);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=two', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
    ['sort=asc', 'sort'],
  ])('refuses ?%s', async (query, field) => {
    expectError(await ctx.request('GET', `${V}?${query}`, { token: admin }), 400, 'VALIDATION_ERROR', field);
  });
});

// ---------------------------------------------------------------------------------- keys

describe('installation API keys', () => {
  const keysOf = async (id: string) => (await get(id)).body.data.installationKeys as { id: string; prefix: string; status: string; expiresAt: string | null; revokedAt: string | null }[];
  const keyInfo = async (id: string, key: string) => (await keysOf(id)).find((k) => key.startsWith(k.prefix.replace('…', '')))!;

  it('rotation with a grace period keeps the old key working until it ends', async () => {
    const old: string = (await put('3.8.1', {})).body.data.installationApiKey;
    ctx.clock.advance(10_000);
    const res = await rotate('3.8.1', { graceSeconds: 3600 });
    expect(res.status).toBe(200);
    const fresh: string = res.body.data.installationApiKey;
    expect(fresh).toMatch(/^ds_ins_/);
    expect(fresh).not.toBe(old);

    expect(await keysOf('3.8.1')).toHaveLength(2);
    expect(await keyInfo('3.8.1', old)).toMatchObject({ status: 'grace', expiresAt: '2026-03-15T11:00:10.000Z', revokedAt: null });
    expect(await keyInfo('3.8.1', fresh)).toMatchObject({ status: 'active', expiresAt: null });
    expect(await verify(old)).toBe('3.8.1');

    ctx.clock.advance(3599_000);
    expect((await keyInfo('3.8.1', old)).status).toBe('grace');
    expect(await verify(old)).toBe('3.8.1');
    ctx.clock.advance(1000); // exactly at the end
    expect((await keyInfo('3.8.1', old)).status).toBe('expired');
    expect(await verify(old)).toBeNull();
    ctx.clock.advance(86_400_000);
    admin = await ctx.login(); // the session did not outlive the day
    expect((await keyInfo('3.8.1', old)).status).toBe('expired');
    expect((await keyInfo('3.8.1', fresh)).status).toBe('active');
    expect(await verify(fresh)).toBe('3.8.1');
  });

  it('rotation without a grace period revokes the old key at once', async () => {
    const old: string = (await put('3.8.1', {})).body.data.installationApiKey;
    const fresh: string = (await rotate('3.8.1')).body.data.installationApiKey;
    expect(await keyInfo('3.8.1', old)).toMatchObject({ status: 'revoked', revokedAt: '2026-03-15T10:00:00.000Z' });
    expect(await verify(old)).toBeNull();
    expect(await verify(fresh)).toBe('3.8.1');
  });

  it('rotating again without grace ends an earlier grace period; with a longer grace it does not extend it', async () => {
    const first: string = (await put('3.8.1', {})).body.data.installationApiKey;
    const second: string = (await rotate('3.8.1', { graceSeconds: 600 })).body.data.installationApiKey;
    const third: string = (await rotate('3.8.1', { graceSeconds: 7200 })).body.data.installationApiKey;
    expect(await keyInfo('3.8.1', first)).toMatchObject({ status: 'grace', expiresAt: '2026-03-15T10:10:00.000Z' });
    expect(await keyInfo('3.8.1', second)).toMatchObject({ status: 'grace', expiresAt: '2026-03-15T12:00:00.000Z' });
    await rotate('3.8.1', { graceSeconds: 0 });
    for (const key of [first, second, third]) {
      expect((await keyInfo('3.8.1', key)).status).toBe('revoked');
      expect(await verify(key)).toBeNull();
    }
  });

  it('revoke-key revokes every key', async () => {
    const first: string = (await put('3.8.1', {})).body.data.installationApiKey;
    const second: string = (await rotate('3.8.1', { graceSeconds: 600 })).body.data.installationApiKey;
    ctx.clock.advance(5000);
    const res = await ctx.request('POST', `${V}/3.8.1/revoke-key`, { token: admin, body: {} });
    expect(res.status).toBe(200);
    expect(res.body.data.installationKeys.map((k: { status: string }) => k.status)).toEqual(['revoked', 'revoked']);
    expect(await verify(first)).toBeNull();
    expect(await verify(second)).toBeNull();
    // A new key can be made afterwards.
    const third: string = (await rotate('3.8.1')).body.data.installationApiKey;
    expect(await verify(third)).toBe('3.8.1');
  });

  it('keys of one version do not open another', async () => {
    const a: string = (await put('1.0.0', {})).body.data.installationApiKey;
    await put('2.0.0', {});
    await rotate('2.0.0');
    expect(await verify(a)).toBe('1.0.0');
    expect((await keyInfo('1.0.0', a)).status).toBe('active');
  });

  it.each([
    [{ graceSeconds: -1 }, 'graceSeconds'],
    [{ graceSeconds: 1.5 }, 'graceSeconds'],
    [{ graceSeconds: 91 * 86400 }, 'graceSeconds'],
    [{ graceSeconds: '60' }, 'graceSeconds'],
    [{ grace: 60 }, 'grace'],
  ])('refuses the rotation body %j', async (body, field) => {
    const key: string = (await put('3.8.1', {})).body.data.installationApiKey;
    expectError(await rotate('3.8.1', body), 400, 'VALIDATION_ERROR', field);
    expect(await keysOf('3.8.1')).toHaveLength(1);
    expect(await verify(key)).toBe('3.8.1');
  });

  it('answers 404 for a version that does not exist', async () => {
    expectError(await rotate('9.9.9'), 404, 'NOT_FOUND', '9.9.9');
    expectError(await ctx.request('POST', `${V}/9.9.9/revoke-key`, { token: admin, body: {} }), 404, 'NOT_FOUND');
  });
});

// ---------------------------------------------------------------------------------- delete

describe('DELETE /versions/{id}', () => {
  async function addDevice(id: string, version: string) {
    const now = ctx.clock.now().toISOString();
    await ctx.database.db
      .insertInto('devices')
      .values({
        id,
        certFingerprint: `fp-${id}`,
        certificate: 'cert',
        publicJwk: '{}',
        keyAlg: 'ES256',
        version,
        osName: null,
        osVersion: null,
        osArch: null,
        hostname: null,
        status: 'ACTIVE',
        registeredAt: now,
        lastSyncAt: null,
        updatedAt: now,
      })
      .execute();
  }

  it('deletes the version with its installers and keys and says how many', async () => {
    await put('3.8.1', { installers: [{ os: 'WIN64', uri: 'https://x.example.com/a.msi' }, { os: 'MACOS', uri: 'https://x.example.com/a.pkg' }] });
    await rotate('3.8.1', { graceSeconds: 60 });
    await put('3.8.2', { installers: [{ os: 'WIN64', uri: 'https://x.example.com/b.msi' }] });
    const res = await del('3.8.1');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ deleted: '3.8.1', removed: { installers: 2, installationKeys: 2 } });
    expect((await get('3.8.1')).status).toBe(404);
    const db = ctx.database.db;
    expect(await db.selectFrom('installers').select('versionId').execute()).toEqual([{ versionId: '3.8.2' }]);
    expect(await db.selectFrom('apiKeys').select('versionId').execute()).toEqual([{ versionId: '3.8.2' }]);
    expect((await get('3.8.2')).body.data.installers).toHaveLength(1);
    expectError(await del('3.8.1'), 404, 'NOT_FOUND');
  });

  it('refuses while devices run it (409 HAS_DEPENDANTS) unless forced', async () => {
    await put('3.8.1', { installers: [{ os: 'WIN64', uri: 'https://x.example.com/a.msi' }] });
    await addDevice('dev-1', '3.8.1');
    await addDevice('dev-2', '3.8.1');
    await addDevice('dev-3', '3.8.0');
    const before = await snapshot('3.8.1');

    for (const query of ['', '?force=false', '?force=0']) {
      const res = await del('3.8.1', query);
      expectError(res, 409, 'HAS_DEPENDANTS', '2 device');
      expect(res.body.details).toEqual({ dependants: { devices: 2 } });
    }
    expect(await snapshot('3.8.1')).toEqual(before);

    const forced = await del('3.8.1', '?force=true');
    expect(forced.status).toBe(200);
    expect(forced.body.data).toEqual({ deleted: '3.8.1', removed: { installers: 1, installationKeys: 1 } });
    expect((await get('3.8.1')).status).toBe(404);
    // The devices stay registered.
    expect((await ctx.database.db.selectFrom('devices').select('id').orderBy('id').execute()).map((d) => d.id)).toEqual(['dev-1', 'dev-2', 'dev-3']);
  });

  it('refuses a bad force value', async () => {
    await put('3.8.1', {});
    expectError(await del('3.8.1', '?force=yes'), 400, 'VALIDATION_ERROR', 'force');
    expect((await get('3.8.1')).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------- context config

describe('context config', () => {
  const BUILTIN = { corsAllowlist: [], syncIntervalSeconds: 3600, syncFailureLimit: 10 };
  const ctxPath = (id: string) => `${V}/${id}/context-config`;
  const DEFAULTS = '/v3_5/admin/defaults/context-config';
  const putCfg = (path: string, config: unknown) => ctx.request('PUT', path, { token: admin, body: { config } });
  const getCfg = (path: string) => ctx.request('GET', path, { token: admin });

  beforeEach(async () => {
    await put('3.8.1', {});
  });

  it('starts from the built-in defaults', async () => {
    const v = await getCfg(ctxPath('3.8.1'));
    expect(v.status).toBe(200);
    expect(v.body.data).toEqual({ own: null, effective: BUILTIN, digest: configDigest(BUILTIN) });
    const d = await getCfg(DEFAULTS);
    expect(d.body.data).toEqual({ own: null, effective: BUILTIN, digest: configDigest(BUILTIN) });
  });

  it('merges built-in < DS-wide defaults < version, key by key, keeping free keys', async () => {
    const defaults = await putCfg(DEFAULTS, { syncIntervalSeconds: 600, corsAllowlist: ['https://*.example.com'], motd: 'hello', shared: 'from defaults' });
    expect(defaults.status).toBe(200);
    expect(defaults.body.data.own).toEqual({ syncIntervalSeconds: 600, corsAllowlist: ['https://*.example.com'], motd: 'hello', shared: 'from defaults' });

    const own = { syncIntervalSeconds: 120, shared: 'from version', custom: { b: 1, a: [true, null] } };
    const res = await putCfg(ctxPath('3.8.1'), own);
    expect(res.status).toBe(200);
    const effective = {
      corsAllowlist: ['https://*.example.com'], // defaults
      syncIntervalSeconds: 120, // version
      syncFailureLimit: 10, // built-in
      motd: 'hello', // defaults, free key
      shared: 'from version', // version wins for free keys too
      custom: { b: 1, a: [true, null] }, // version, free key
    };
    expect(res.body.data.own).toEqual(own);
    expect(res.body.data.effective).toEqual(effective);
    expect(res.body.data.digest).toBe(configDigest(effective));
    // And independently: RFC 8785 text written by hand (sorted keys, no whitespace), hashed here.
    const canonical =
      '{"corsAllowlist":["https://*.example.com"],"custom":{"a":[true,null],"b":1},"motd":"hello","shared":"from version","syncFailureLimit":10,"syncIntervalSeconds":120}';
    expect(res.body.data.digest).toBe(createHash('sha256').update(canonical, 'utf8').digest('base64url'));

    // The version object and the config route agree.
    expect((await get('3.8.1')).body.data.contextConfig).toEqual(res.body.data);
    expect((await getCfg(ctxPath('3.8.1'))).body.data).toEqual(res.body.data);

    // Changing the defaults changes what the version hands out (nothing was copied).
    await putCfg(DEFAULTS, { syncFailureLimit: 3 });
    const after = (await getCfg(ctxPath('3.8.1'))).body.data;
    expect(after.effective).toEqual({ corsAllowlist: [], syncIntervalSeconds: 120, syncFailureLimit: 3, shared: 'from version', custom: { b: 1, a: [true, null] } });
    expect(after.digest).not.toBe(res.body.data.digest);
    expect(after.digest).toBe(configDigest(after.effective));

    // A version that sets nothing gets the defaults.
    await put('3.8.2', {});
    expect((await getCfg(ctxPath('3.8.2'))).body.data).toEqual({ own: null, effective: { ...BUILTIN, syncFailureLimit: 3 }, digest: configDigest({ ...BUILTIN, syncFailureLimit: 3 }) });

    const all = await ctx.request('GET', '/v3_5/admin/defaults', { token: admin });
    expect(all.body.data).toMatchObject({ contextConfig: { ...BUILTIN, syncFailureLimit: 3 }, contextConfigDigest: configDigest({ ...BUILTIN, syncFailureLimit: 3 }) });
  });

  it('a version can set an empty CORS list over a non-empty default', async () => {
    await putCfg(DEFAULTS, { corsAllowlist: ['*'] });
    const res = await putCfg(ctxPath('3.8.1'), { corsAllowlist: [] });
    expect(res.body.data.effective.corsAllowlist).toEqual([]);
  });

  it('null clears, at version and DS level', async () => {
    await putCfg(DEFAULTS, { syncIntervalSeconds: 900 });
    await putCfg(ctxPath('3.8.1'), { syncFailureLimit: 5 });
    const cleared = await putCfg(ctxPath('3.8.1'), null);
    expect(cleared.body.data).toEqual({ own: null, effective: { ...BUILTIN, syncIntervalSeconds: 900 }, digest: configDigest({ ...BUILTIN, syncIntervalSeconds: 900 }) });
    const defaults = await putCfg(DEFAULTS, null);
    expect(defaults.body.data).toEqual({ own: null, effective: BUILTIN, digest: configDigest(BUILTIN) });
    expect((await getCfg(ctxPath('3.8.1'))).body.data.effective).toEqual(BUILTIN);
  });

  it('the version PUT body sets the same config', async () => {
    await put('3.8.1', { contextConfig: { corsAllowlist: ['http://localhost:*'] } });
    expect((await getCfg(ctxPath('3.8.1'))).body.data.effective).toEqual({ ...BUILTIN, corsAllowlist: ['http://localhost:*'] });
  });

  it('answers 404 for a version that does not exist', async () => {
    expectError(await getCfg(ctxPath('9.9.9')), 404, 'NOT_FOUND');
    expectError(await putCfg(ctxPath('9.9.9'), { syncFailureLimit: 3 }), 404, 'NOT_FOUND');
    expect(await ctx.database.db.selectFrom('versions').select('id').execute()).toEqual([{ id: '3.8.1' }]);
  });

  it.each([['https://*.example.com'], ['http://localhost:*'], ['*'], ['https://example.com'], ['https://example.com:8443'], ['http://127.0.0.1:10080'], ['chrome-extension://abcdef']])(
    'accepts the CORS pattern %s',
    async (pattern) => {
      const res = await putCfg(ctxPath('3.8.1'), { corsAllowlist: [pattern] });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.data.effective.corsAllowlist).toEqual([pattern]);
    },
  );

  const BAD_CONFIGS: { name: string; config: unknown; field: string }[] = [
    { name: 'a CORS pattern with a path', config: { corsAllowlist: ['https://example.com/path'] }, field: 'corsAllowlist[0]' },
    { name: 'javascript: as CORS pattern', config: { corsAllowlist: ['https://ok.example.com', 'javascript:alert(1)'] }, field: 'corsAllowlist[1]' },
    { name: 'a CORS pattern without scheme', config: { corsAllowlist: ['example.com'] }, field: 'corsAllowlist[0]' },
    { name: 'a CORS pattern with a trailing slash', config: { corsAllowlist: ['https://example.com/'] }, field: 'corsAllowlist[0]' },
    { name: 'a CORS pattern with user info', config: { corsAllowlist: ['https://user@example.com'] }, field: 'corsAllowlist[0]' },
    { name: 'an empty CORS pattern', config: { corsAllowlist: [''] }, field: 'corsAllowlist[0]' },
    { name: 'a CORS list that is a string', config: { corsAllowlist: '*' }, field: 'corsAllowlist' },
    { name: 'syncIntervalSeconds 59', config: { syncIntervalSeconds: 59 }, field: 'syncIntervalSeconds' },
    { name: 'syncIntervalSeconds 0', config: { syncIntervalSeconds: 0 }, field: 'syncIntervalSeconds' },
    { name: 'syncIntervalSeconds not an integer', config: { syncIntervalSeconds: 60.5 }, field: 'syncIntervalSeconds' },
    { name: 'syncIntervalSeconds as text', config: { syncIntervalSeconds: '3600' }, field: 'syncIntervalSeconds' },
    { name: 'syncFailureLimit 0', config: { syncFailureLimit: 0 }, field: 'syncFailureLimit' },
    { name: 'a config that is an array', config: [], field: 'config' },
    { name: 'a config that is a string', config: 'x', field: 'config' },
  ];

  describe.each([
    ['a version', () => ctxPath('3.8.1')],
    ['the DS-wide defaults', () => DEFAULTS],
  ])('on %s', (_, path) => {
    it.each(BAD_CONFIGS)('refuses $name, naming the field, and keeps the config', async ({ config, field }) => {
      expect((await putCfg(path(), { syncIntervalSeconds: 300 })).status).toBe(200);
      const before = (await getCfg(path())).body.data;
      const res = await putCfg(path(), config);
      expectError(res, 400, 'VALIDATION_ERROR', field);
      expect((await getCfg(path())).body.data).toEqual(before);
    });

    it('accepts syncIntervalSeconds 60', async () => {
      expect((await putCfg(path(), { syncIntervalSeconds: 60 })).body.data.effective.syncIntervalSeconds).toBe(60);
    });

    it.each([
      [{}, '(body)'],
      [{ config: {}, extra: 1 }, 'extra'],
    ])('refuses the body %j', async (body, field) => {
      expectError(await ctx.request('PUT', path(), { token: admin, body }), 400, 'VALIDATION_ERROR', field === '(body)' ? 'config' : field);
    });
  });
});

// ---------------------------------------------------------------------------------- SSL keystore config

describe('SSL keystore config', () => {
  const sslPath = (id: string) => `${V}/${id}/ssl-keystore-config`;
  const DEFAULTS = '/v3_5/admin/defaults/ssl-keystore-config';
  const putCfg = (path: string, config: unknown) => ctx.request('PUT', path, { token: admin, body: { config } });
  const getCfg = (path: string) => ctx.request('GET', path, { token: admin });
  const defaultKs = { uri: 'https://keys.example.com/default.p12', sha256: HEX_A, notAfter: '2027-01-01T00:00:00.000Z' };
  const versionKs = { uri: 'http://keys.internal/v3.8.1.p12', sha256: HEX_B };

  beforeEach(async () => {
    await put('3.8.1', {});
    await put('3.8.2', {});
  });

  it('is none until set', async () => {
    expect((await getCfg(sslPath('3.8.1'))).body.data).toEqual({ own: null, effective: null, digest: null });
    expect((await getCfg(DEFAULTS)).body.data).toEqual({ own: null, effective: null, digest: null });
  });

  it('a version config replaces the default as a whole; null falls back', async () => {
    const d = await putCfg(DEFAULTS, defaultKs);
    expect(d.status).toBe(200);
    expect(d.body.data).toEqual({ own: defaultKs, effective: defaultKs, digest: configDigest(defaultKs) });

    const v = await putCfg(sslPath('3.8.1'), { ...versionKs, sha256: versionKs.sha256.toUpperCase() });
    expect(v.status).toBe(200);
    // No notAfter inherited from the default: the keystore config is one unit.
    expect(v.body.data).toEqual({ own: versionKs, effective: versionKs, digest: configDigest(versionKs) });
    const canonical = `{"sha256":"${HEX_B}","uri":"http://keys.internal/v3.8.1.p12"}`;
    expect(v.body.data.digest).toBe(createHash('sha256').update(canonical).digest('base64url'));
    expect((await get('3.8.1')).body.data.sslKeystoreConfig).toEqual(v.body.data);

    expect((await getCfg(sslPath('3.8.2'))).body.data).toEqual({ own: null, effective: defaultKs, digest: configDigest(defaultKs) });

    const cleared = await putCfg(sslPath('3.8.1'), null);
    expect(cleared.body.data).toEqual({ own: null, effective: defaultKs, digest: configDigest(defaultKs) });
    await putCfg(DEFAULTS, null);
    expect((await getCfg(sslPath('3.8.1'))).body.data).toEqual({ own: null, effective: null, digest: null });
    const all = await ctx.request('GET', '/v3_5/admin/defaults', { token: admin });
    expect(all.body.data).toMatchObject({ sslKeystoreConfig: null, sslKeystoreConfigDigest: null });
  });

  const BAD: { name: string; config: unknown; field: string }[] = [
    { name: 'no uri', config: { sha256: HEX_A }, field: 'uri' },
    { name: 'an ftp uri', config: { uri: 'ftp://keys.example.com/ks.p12', sha256: HEX_A }, field: 'uri' },
    { name: 'a file uri', config: { uri: 'file:///etc/ks.p12', sha256: HEX_A }, field: 'uri' },
    { name: 'a relative uri', config: { uri: 'ks.p12', sha256: HEX_A }, field: 'uri' },
    { name: 'no sha256', config: { uri: 'https://keys.example.com/ks.p12' }, field: 'sha256' },
    { name: 'a 63-hex sha256', config: { uri: 'https://keys.example.com/ks.p12', sha256: HEX_A.slice(1) }, field: 'sha256' },
    { name: 'a 65-hex sha256', config: { uri: 'https://keys.example.com/ks.p12', sha256: `${HEX_A}a` }, field: 'sha256' },
    { name: 'a non-hex sha256', config: { uri: 'https://keys.example.com/ks.p12', sha256: 'g'.repeat(64) }, field: 'sha256' },
    { name: 'a base64 sha256', config: { uri: 'https://keys.example.com/ks.p12', sha256: createHash('sha256').update('x').digest('base64') }, field: 'sha256' },
    { name: 'a bad notAfter', config: { uri: 'https://keys.example.com/ks.p12', sha256: HEX_A, notAfter: 'tomorrow' }, field: 'notAfter' },
    { name: 'an unknown key', config: { uri: 'https://keys.example.com/ks.p12', sha256: HEX_A, password: 'secret' }, field: 'password' },
  ];

  describe.each([
    ['a version', () => sslPath('3.8.1')],
    ['the DS-wide defaults', () => DEFAULTS],
  ])('on %s', (_, path) => {
    it.each(BAD)('refuses $name, naming the field, and keeps the config', async ({ config, field }) => {
      expect((await putCfg(path(), versionKs)).status).toBe(200);
      const before = (await getCfg(path())).body.data;
      expectError(await putCfg(path(), config), 400, 'VALIDATION_ERROR', field);
      expect((await getCfg(path())).body.data).toEqual(before);
    });
  });
});
