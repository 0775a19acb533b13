import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fail, ok, page, parseCsv, removeTempDirs, runDs, T, tempDir, version, type Seen } from '../../test/harness.js';

afterEach(removeTempDirs);

const SHA = 'ab'.repeat(32);
const absent = () => fail(404, 'NOT_FOUND', 'version does not exist');
/** The version a PUT body becomes, as DS answers it (installers with their recorded checksum and size). */
const stored = (body: unknown) => {
  const { installers, ...rest } = body as { installers?: { os: string; uri: string; sha256?: string }[] };
  return { ...rest, ...(installers ? { installers: installers.map((i) => ({ sha256: null, size: null, ...i })) } : {}) };
};
const echoPut = (r: Seen) => ok(version('3.8.1', { installationApiKey: 'ds_ins_secret', ...stored(r.body) }), 201);

describe('ds version create', () => {
  it('sends only the flags given, with installers and checksums', async () => {
    const r = await runDs(
      [
        'version',
        'create',
        '3.8.1',
        '--recommended',
        '--no-allowed',
        '--release-notes',
        'fixes',
        '--installer',
        'WIN64=file:///srv/t1c/3.8.1/t1c-win64.exe',
        '--installer',
        'macos=https://cdn.example/t1c.dmg',
        '--installer-sha256',
        `win64=${SHA.toUpperCase()}`,
      ],
      { routes: { 'GET /admin/versions/3.8.1': absent, 'PUT /admin/versions/3.8.1': echoPut } },
    );
    expect(r.code).toBe(0);
    expect(r.find('PUT', '/admin/versions/3.8.1')[0]!.body).toEqual({
      recommended: true,
      allowed: false,
      releaseNotes: 'fixes',
      installers: [
        { os: 'WIN64', uri: 'file:///srv/t1c/3.8.1/t1c-win64.exe', sha256: SHA },
        { os: 'MACOS', uri: 'https://cdn.example/t1c.dmg' },
      ],
    });
    expect(r.stdout).toContain('ds_ins_secret');
    expect(r.stderr).toMatch(/warning: .*installation API key/);
  });

  it('reads release notes from a file', async () => {
    const dir = await tempDir();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'notes.md'), '# 3.8.1\n- fixed, "quoted"\n');
    const r = await runDs(['version', 'create', '3.8.1', '--release-notes-file', join(dir, 'notes.md'), '--json'], {
      routes: { 'GET /admin/versions/3.8.1': absent, 'PUT /admin/versions/3.8.1': echoPut },
    });
    expect(r.code).toBe(0);
    expect(r.find('PUT', '/admin/versions/3.8.1')[0]!.body).toEqual({ releaseNotes: '# 3.8.1\n- fixed, "quoted"\n' });
    expect(JSON.parse(r.stdout).installationApiKey).toBe('ds_ins_secret');
  });

  it.each([
    [['--installer', 'beos=file:///x'], /unknown OS/],
    [['--installer', 'win64'], /expected os=uri/],
    [['--installer', 'win64=a', '--installer', 'WIN64=b'], /given twice/],
    [['--installer-sha256', `linux64=${SHA}`], /needs an --installer/],
    [['--installer', 'win64=a', '--installer-sha256', 'win64=xyz'], /64 hexadecimal/],
    [['--release-notes', 'a', '--release-notes-file', 'b'], /cannot be used with/],
  ])('rejects %j before sending anything', async (flags, message) => {
    const r = await runDs(['version', 'create', '3.8.1', ...flags], { routes: { 'GET /admin/versions/3.8.1': absent } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.find('PUT', '/admin/versions/3.8.1')).toEqual([]);
  });

  it('refuses an existing version', async () => {
    const r = await runDs(['version', 'create', '3.8.1'], { routes: { 'GET /admin/versions/3.8.1': () => ok(version('3.8.1')) } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CONFLICT: version 3.8.1 already exists');
  });
});

describe('ds version update', () => {
  const current = version('3.8.1', {
    installers: [
      { os: 'WIN64', uri: 'file:///a.exe', sha256: null, size: 10 },
      { os: 'LINUX64', uri: 'file:///a.deb', sha256: SHA, size: 20 },
    ],
  });
  const routes = { 'GET /admin/versions/3.8.1': () => ok(current), 'PUT /admin/versions/3.8.1': (r: Seen) => ok({ ...current, ...stored(r.body) }) };

  it('omits flags that were not given so the server keeps them', async () => {
    const r = await runDs(['version', 'update', '3.8.1', '--no-recommended', '--mandatory'], { routes });
    expect(r.code).toBe(0);
    expect(r.find('PUT', '/admin/versions/3.8.1')[0]!.body).toEqual({ recommended: false, mandatory: true });
  });

  it('replaces the installer set when --installer is given, saying what that removes (--yes when not interactive)', async () => {
    const refused = await runDs(['version', 'update', '3.8.1', '--installer', 'unix=file:///t1c.sh'], { routes });
    expect(refused.code).toBe(1);
    expect(refused.find('PUT', '/admin/versions/3.8.1')).toEqual([]);
    expect(refused.stderr).toContain('this removes win64, linux64');
    const r = await runDs(['version', 'update', '3.8.1', '--installer', 'unix=file:///t1c.sh', '--yes'], { routes });
    expect(r.code).toBe(0);
    expect(r.find('PUT', '/admin/versions/3.8.1')[0]!.body).toEqual({ installers: [{ os: 'UNIX', uri: 'file:///t1c.sh' }] });
    expect(r.find('PUT', '/admin/versions/3.8.1')[0]!.headers['if-match']).toBe('*'); // this fake DS sends no ETag
    expect(r.stderr).toContain('- installer win64: file:///a.exe\n- installer linux64: file:///a.deb\n+ installer unix: file:///t1c.sh\nupdated version 3.8.1\n');
  });

  it('sets a checksum on an existing installer without changing the others', async () => {
    const other = 'cd'.repeat(32);
    const r = await runDs(['version', 'update', '3.8.1', '--installer-sha256', `win64=${other}`], { routes });
    expect(r.code).toBe(0);
    expect(r.find('PUT', '/admin/versions/3.8.1')[0]!.body).toEqual({
      installers: [
        { os: 'WIN64', uri: 'file:///a.exe', sha256: other },
        { os: 'LINUX64', uri: 'file:///a.deb', sha256: SHA },
      ],
    });
  });

  it('fails when there is nothing to update, and when the version does not exist', async () => {
    const nothing = await runDs(['version', 'update', '3.8.1'], { routes });
    expect(nothing.code).toBe(1);
    expect(nothing.find('PUT', '/admin/versions/3.8.1')).toEqual([]);
    const missing = await runDs(['version', 'update', '9.9.9', '--allowed'], { routes: { 'GET /admin/versions/9.9.9': absent } });
    expect(missing.code).toBe(1);
    expect(missing.requests.map((q) => q.method)).toEqual(['GET']);
  });
});

describe('ds version get', () => {
  it('shows each installer with its URI, SHA-256 and size', async () => {
    const v = version('3.8.1', {
      installers: [
        { os: 'WIN64', uri: 'file:///srv/t1c/win64.exe', sha256: SHA, size: 3_145_728 },
        { os: 'MACOS', uri: 'https://cdn.example/t1c.dmg', sha256: null, size: null },
      ],
    });
    const r = await runDs(['version', 'get', '3.8.1'], { routes: { 'GET /admin/versions/3.8.1': () => ok(v) } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/installer win64\s+│ file:\/\/\/srv\/t1c\/win64\.exe\s+│\n.*│ sha256 (ab){32}\s+│\n.*│ 3\.0 MiB \(3145728 bytes\)\s+│/);
    expect(r.stdout).toMatch(/installer macos\s+│ https:\/\/cdn\.example\/t1c\.dmg\s+│\n.*│ no checksum\s+│/);
  });
});

describe('plain lines for pipes', () => {
  const v = version('3.8.1', {
    recommended: true,
    releaseNotes: 'Line one\nline\ttwo',
    installers: [{ os: 'WIN64', uri: 'file:///srv/t1c/win64.exe', sha256: SHA, size: 3_145_728 }],
  });
  const routes = { 'GET /admin/versions': () => page([v, version('3.8.0')]), 'GET /admin/versions/3.8.1': () => ok(v) };

  it('a list is a header line and one tab-separated line per item, without box drawing, when stdout is not a terminal', async () => {
    const r = await runDs(['version', 'list'], { routes, stdoutTerminal: false });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`id\trecommended\tmandatory\tallowed\tinstallers\tpublished\n3.8.1\tyes\tno\tyes\twin64\t${T}\n3.8.0\tno\tno\tyes\t\t${T}\n`);
    expect(r.stdout.split('\n').map((line) => line.split('\t').length)).toEqual([6, 6, 6, 1]);
  });

  it('--plain gives the same on a terminal; a drawn table otherwise', async () => {
    const plain = await runDs(['version', 'list', '--plain'], { routes });
    expect(plain.stdout).toBe((await runDs(['version', 'list'], { routes, stdoutTerminal: false })).stdout);
    const table = await runDs(['version', 'list'], { routes });
    expect(table.stdout).toMatch(/^┌/);
    expect((await runDs(['version', 'list', '--plain', '--json'], { routes })).code).toBe(1);
  });

  it('one object is a name<TAB>value line per field, line breaks and tabs inside a value escaped', async () => {
    const r = await runDs(['version', 'get', '3.8.1'], { routes, stdoutTerminal: false });
    expect(r.code).toBe(0);
    const fields = Object.fromEntries(r.stdout.trimEnd().split('\n').map((line) => line.split('\t') as [string, string]));
    expect(r.stdout.trimEnd().split('\n').every((line) => line.split('\t').length === 2)).toBe(true);
    expect(fields['release notes']).toBe('Line one\\nline\\ttwo');
    expect(fields['installer win64']).toBe(`file:///srv/t1c/win64.exe\\nsha256 ${SHA}\\n3.0 MiB (3145728 bytes)`);
    expect(fields.recommended).toBe('yes');
    expect(r.stdout).not.toMatch(/[│─┌]/);
  });
});

describe('ds version list', () => {
  it('shows the installer OS list; --csv has one column per installer OS and no JSON', async () => {
    const v = version('3.8.1', {
      recommended: true,
      installers: [
        { os: 'WIN64', uri: 'file:///a,b.exe', sha256: null, size: null },
        { os: 'MACOSARM', uri: 'https://cdn.example/t1c.pkg', sha256: 'ab'.repeat(32), size: 9 },
      ],
      installationKeys: [{ id: 'k1', prefix: 'ds_ins_Ab1…', status: 'active', createdAt: '2025-01-02T03:04:05.000Z', expiresAt: null, revokedAt: null, lastUsedAt: null }],
    });
    const routes = { 'GET /admin/versions': () => page([v, version('3.8.0')]) };
    const table = await runDs(['version', 'ls'], { routes });
    expect(table.stdout).toMatch(/3\.8\.1\s+│\s+yes\s+│\s+no\s+│\s+yes\s+│\s+win64, macosarm/);
    const [header, row, other] = parseCsv((await runDs(['version', 'list', '--csv'], { routes })).stdout);
    const field = (name: string, of = row!) => of[header!.indexOf(name)];
    expect(header).toContain('installers.win64');
    expect(header).not.toContain('installers');
    expect(field('installers.win64')).toBe('file:///a,b.exe');
    expect(field('installers.macosarm')).toBe('https://cdn.example/t1c.pkg');
    expect(field('installers.win64', other)).toBe('');
    expect(field('installationKeys')).toBe('ds_ins_Ab1… (active)');
    expect(header).toContain('contextConfig.digest');
    expect([...header!, ...row!, ...other!].join()).not.toMatch(/[{[]/);
    expect(header).not.toContain('installationApiKey');
  });
});

describe('ds version config set', () => {
  const own = { corsAllowlist: ['https://a.example'], syncIntervalSeconds: 600, custom: { x: 1 } };
  const routes = {
    'GET /admin/versions/3.8.1/context-config': () => ok({ own, effective: own, digest: 'd1' }),
    'PUT /admin/versions/3.8.1/context-config': (r: Seen) => ok({ own: (r.body as { config: unknown }).config, effective: null, digest: 'd2' }),
    'PUT /admin/defaults/context-config': (r: Seen) => ok({ own: (r.body as { config: unknown }).config, effective: null, digest: 'd3' }),
  };

  it('merges the flags into the current own config', async () => {
    const r = await runDs(
      ['version', 'config', 'set', '3.8.1', '--cors', 'https://*.b.example', '--cors', 'http://localhost:*', '--sync-failure-limit', '5', '--set', 'mode=fast', '--set', 'n=3', '--unset', 'custom'],
      { routes },
    );
    expect(r.code).toBe(0);
    expect(r.find('PUT', '/admin/versions/3.8.1/context-config')[0]!.body).toEqual({
      config: { corsAllowlist: ['https://*.b.example', 'http://localhost:*'], syncIntervalSeconds: 600, syncFailureLimit: 5, mode: 'fast', n: 3 },
    });
  });

  it('--clear alone removes the config; with flags it starts from nothing', async () => {
    const alone = await runDs(['version', 'config', 'set', '3.8.1', '--clear'], { routes });
    expect(alone.find('PUT', '/admin/versions/3.8.1/context-config')[0]!.body).toEqual({ config: null });
    expect(alone.find('GET', '/admin/versions/3.8.1/context-config')).toEqual([]);
    const fresh = await runDs(['version', 'config', 'set', '3.8.1', '--clear', '--sync-interval', '1h'], { routes });
    expect(fresh.find('PUT', '/admin/versions/3.8.1/context-config')[0]!.body).toEqual({ config: { syncIntervalSeconds: 3600 } });
  });

  it('"default" targets the DS-wide defaults and --file replaces the base', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'c.json'), JSON.stringify({ syncFailureLimit: 2, extra: true }));
    const r = await runDs(['version', 'config', 'set', 'default', '--file', join(dir, 'c.json'), '--sync-interval', '300'], { routes });
    expect(r.code).toBe(0);
    expect(r.find('PUT', '/admin/defaults/context-config')[0]!.body).toEqual({ config: { syncFailureLimit: 2, extra: true, syncIntervalSeconds: 300 } });
  });

  it('needs at least one change', async () => {
    const r = await runDs(['version', 'config', 'set', '3.8.1'], { routes });
    expect(r.code).toBe(1);
    expect(r.requests).toEqual([]);
  });
});

describe('ds version keystore', () => {
  it('set sends uri, sha256 and notAfter; missing flags are named when not interactive', async () => {
    const routes = { 'PUT /admin/versions/3.8.1/ssl-keystore-config': (r: Seen) => ok({ own: (r.body as { config: unknown }).config, effective: null, digest: 'k' }) };
    const r = await runDs(
      ['version', 'keystore', 'set', '3.8.1', '--uri', 'https://k.example/ks.p12', '--sha256', SHA, '--not-after', '2026-01-01T00:00:00Z', '--json'],
      { routes },
    );
    expect(r.code).toBe(0);
    expect(r.requests[0]!.body).toEqual({ config: { uri: 'https://k.example/ks.p12', sha256: SHA, notAfter: '2026-01-01T00:00:00.000Z' } });
    const missing = await runDs(['version', 'keystore', 'set', '3.8.1', '--uri', 'https://k.example/ks.p12'], { routes });
    expect(missing.stderr).toBe('error: missing --sha256 (no prompt: not interactive)\n');
  });

  it('clear sends null', async () => {
    const r = await runDs(['version', 'keystore', 'clear', 'default'], {
      routes: { 'PUT /admin/defaults/ssl-keystore-config': () => ok({ own: null, effective: null, digest: null }) },
    });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.body).toEqual({ config: null });
  });
});

describe('ds version delete / rotate-key', () => {
  it('rotate-key with --yes sends the grace period and prints the key', async () => {
    const r = await runDs(['version', 'rotate-key', '3.8.1', '--grace', '1d', '--yes'], {
      routes: { 'POST /admin/versions/3.8.1/rotate-key': () => ok({ installationApiKey: 'ds_ins_new' }) },
    });
    expect(r.requests[0]!.body).toEqual({ graceSeconds: 86400 });
    expect(r.stdout).toContain('ds_ins_new');
  });

  it('delete needs --yes when not interactive', async () => {
    const r = await runDs(['version', 'delete', '3.8.1'], { env: { CI: '1' }, terminal: true });
    expect(r.code).toBe(1);
    expect(r.prompts).toEqual([]);
    expect(r.requests).toEqual([]);
  });
});
