import { OS_VALUES } from '@ds/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { fail, ok, parseCsv, removeTempDirs, runDs, version, type Seen } from '../../../test/harness.js';

afterEach(removeTempDirs);

const WIN = 'aa'.repeat(32);
const DEB = 'bb'.repeat(32);
const NEW = 'cc'.repeat(32);
const COMPUTED = 'dd'.repeat(32);

const current = version('3.8.1', {
  installers: [
    { os: 'WIN64', uri: 'file:///srv/t1c/win64.exe', sha256: WIN, size: 3_145_728 },
    { os: 'LINUX64', uri: 'file:///srv/t1c/linux64.deb', sha256: DEB, size: 20 },
    { os: 'MACOS', uri: 'https://cdn.example/t1c.dmg', sha256: null, size: null },
  ],
});

/** A DS that stores what it is sent, computing a checksum for file: installers given none. */
function ds(start: object = current) {
  let stored: object = start;
  return {
    'GET /admin/versions/3.8.1': () => ok(stored),
    'PUT /admin/versions/3.8.1': (r: Seen) => {
      const body = r.body as { installers: { os: string; uri: string; sha256?: string }[] };
      stored = {
        ...stored,
        installers: body.installers.map((i) => ({
          os: i.os,
          uri: i.uri,
          sha256: i.sha256 ?? (i.uri.startsWith('file:') ? COMPUTED : null),
          size: i.uri.startsWith('file:') ? 100 : null,
        })),
      };
      return ok(stored);
    },
  };
}

const absent = { 'GET /admin/versions/9.9.9': () => fail(404, 'NOT_FOUND', 'version 9.9.9 does not exist') };

describe('ds version installer list', () => {
  it('shows os, uri, the whole sha256 and the size', async () => {
    const r = await runDs(['version', 'installer', 'ls', '3.8.1'], { routes: ds() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/win64\s+│ file:\/\/\/srv\/t1c\/win64\.exe\s+│ a{64}\s+│ 3\.0 MiB \(3145728 bytes\)/);
    expect(r.stdout).toMatch(/linux64\s+│ file:\/\/\/srv\/t1c\/linux64\.deb\s+│ b{64}\s+│ 20 B/);
    expect(r.stdout).toMatch(/macos\s+│ https:\/\/cdn\.example\/t1c\.dmg\s+│\s+│\s+│/);
  });

  it('--json prints exactly the installer objects, --csv one row each', async () => {
    const asJson = await runDs(['version', 'installer', 'list', '3.8.1', '--json'], { routes: ds() });
    expect(JSON.parse(asJson.stdout)).toEqual(current.installers);
    const csv = parseCsv((await runDs(['version', 'installer', 'list', '3.8.1', '--csv'], { routes: ds() })).stdout);
    expect(csv).toEqual([
      ['os', 'uri', 'sha256', 'size'],
      ['WIN64', 'file:///srv/t1c/win64.exe', WIN, '3145728'],
      ['LINUX64', 'file:///srv/t1c/linux64.deb', DEB, '20'],
      ['MACOS', 'https://cdn.example/t1c.dmg', '', ''],
    ]);
  });

  it('says so when there are none (and --csv still has its header)', async () => {
    const routes = ds(version('3.8.1'));
    const table = await runDs(['version', 'installer', 'list', '3.8.1'], { routes });
    expect(table.stdout).toBe('');
    expect(table.stderr).toBe('version 3.8.1 has no installers\n');
    expect((await runDs(['version', 'installer', 'list', '3.8.1', '--csv'], { routes })).stdout).toBe('os,uri,sha256,size\r\n');
  });

  it('fails on an unknown version', async () => {
    const r = await runDs(['version', 'installer', 'list', '9.9.9'], { routes: absent });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('NOT_FOUND: version 9.9.9 does not exist');
  });
});

describe('ds version installer add', () => {
  it('appends a new OS and keeps every other installer with its URI and checksum', async () => {
    const r = await runDs(['version', 'installer', 'add', '3.8.1', 'UNIX=file:///srv/t1c/t1c.sh?x=1'], { routes: ds() });
    expect(r.code).toBe(0);
    expect(r.prompts).toEqual([]);
    expect(r.find('PUT', '/admin/versions/3.8.1').map((q) => q.body)).toEqual([
      {
        installers: [
          { os: 'WIN64', uri: 'file:///srv/t1c/win64.exe', sha256: WIN },
          { os: 'LINUX64', uri: 'file:///srv/t1c/linux64.deb', sha256: DEB },
          { os: 'MACOS', uri: 'https://cdn.example/t1c.dmg' },
          { os: 'UNIX', uri: 'file:///srv/t1c/t1c.sh?x=1' },
        ],
      },
    ]);
    expect(r.stderr).toBe('added the unix installer of version 3.8.1\n');
    expect(r.stdout).toMatch(/unix\s+│ file:\/\/\/srv\/t1c\/t1c\.sh\?x=1\s+│ d{64}/);
  });

  it('sends --sha256 in lower case and prints the resulting set with --json', async () => {
    const r = await runDs(['version', 'installer', 'add', '3.8.1', 'win32=https://cdn.example/t1c-32.exe', '--sha256', NEW.toUpperCase(), '--json'], {
      routes: ds(),
    });
    expect(r.code).toBe(0);
    const body = r.find('PUT', '/admin/versions/3.8.1')[0]!.body as { installers: unknown[] };
    expect(body.installers.at(-1)).toEqual({ os: 'WIN32', uri: 'https://cdn.example/t1c-32.exe', sha256: NEW });
    expect(JSON.parse(r.stdout).map((i: { os: string }) => i.os)).toEqual(['WIN64', 'LINUX64', 'MACOS', 'WIN32']);
    expect(JSON.parse(r.stdout).at(-1)).toEqual({ os: 'WIN32', uri: 'https://cdn.example/t1c-32.exe', sha256: NEW, size: null });
  });

  it('replaces an OS in place after a yes on the terminal, dropping only its old checksum', async () => {
    const r = await runDs(['version', 'installer', 'add', '3.8.1', 'linux64=file:///srv/t1c/3.8.1b/linux64.deb'], { routes: ds(), terminal: true, answers: [true] });
    expect(r.code).toBe(0);
    expect(r.prompts.map((p) => p.message)).toEqual([
      'Replace the linux64 installer of version 3.8.1 (file:///srv/t1c/linux64.deb → file:///srv/t1c/3.8.1b/linux64.deb)?',
    ]);
    expect(r.find('PUT', '/admin/versions/3.8.1')[0]!.body).toEqual({
      installers: [
        { os: 'WIN64', uri: 'file:///srv/t1c/win64.exe', sha256: WIN },
        { os: 'LINUX64', uri: 'file:///srv/t1c/3.8.1b/linux64.deb' },
        { os: 'MACOS', uri: 'https://cdn.example/t1c.dmg' },
      ],
    });
    expect(r.stderr).toBe('replaced the linux64 installer of version 3.8.1\n');
  });

  it('says when a replacement only records the checksum again', async () => {
    const r = await runDs(['version', 'installer', 'add', '3.8.1', 'win64=file:///srv/t1c/win64.exe'], { routes: ds(), terminal: true, answers: [true] });
    expect(r.prompts[0]!.message).toBe('Replace the win64 installer of version 3.8.1 (same URI; its checksum is recorded again)?');
    expect((r.find('PUT', '/admin/versions/3.8.1')[0]!.body as { installers: unknown[] }).installers[0]).toEqual({
      os: 'WIN64',
      uri: 'file:///srv/t1c/win64.exe',
    });
  });

  describe.each([
    { name: 'declined on the terminal', argv: [], terminal: true, env: {}, answers: [false], code: 2, asked: 1, put: 0, stderr: /error: cancelled/ },
    { name: 'not interactive without --yes', argv: [], terminal: false, env: {}, answers: [], code: 1, asked: 0, put: 0, stderr: /pass --yes \(no prompt: not interactive\)/ },
    { name: 'in CI without --yes, even on a terminal', argv: [], terminal: true, env: { CI: 'true' }, answers: [], code: 1, asked: 0, put: 0, stderr: /pass --yes/ },
    { name: 'not interactive with --yes', argv: ['--yes'], terminal: false, env: {}, answers: [], code: 0, asked: 0, put: 1, stderr: /^replaced/ },
    { name: 'on a terminal with -y', argv: ['-y'], terminal: true, env: {}, answers: [], code: 0, asked: 0, put: 1, stderr: /^replaced/ },
  ])('replacing, $name', ({ argv, terminal, env, answers, code, asked, put, stderr }) => {
    it(`exits ${code} after ${asked} question(s) and ${put} PUT(s)`, async () => {
      const r = await runDs(['version', 'installer', 'add', '3.8.1', 'macos=https://cdn2.example/t1c.dmg', ...argv], { routes: ds(), terminal, env, answers });
      expect(r.code).toBe(code);
      expect(r.prompts).toHaveLength(asked);
      expect(r.find('PUT', '/admin/versions/3.8.1')).toHaveLength(put);
      expect(r.stderr).toMatch(stderr);
    });
  });

  it('adding a new OS never asks, even on a terminal', async () => {
    const r = await runDs(['version', 'installer', 'add', '3.8.1', 'macosarm=https://cdn.example/arm.dmg'], { routes: ds(), terminal: true });
    expect(r.code).toBe(0);
    expect(r.prompts).toEqual([]);
  });

  it.each([
    ['beos=file:///x', new RegExp(`unknown OS "beos": use one of ${OS_VALUES.join(', ')}`)],
    ['win64', /expected <os>=<uri>/],
    ['=file:///x', /expected <os>=<uri>/],
    ['win64=', /the URI is empty/],
  ])('rejects %j before sending anything', async (argument, message) => {
    const r = await runDs(['version', 'installer', 'add', '3.8.1', argument], { routes: ds() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.requests).toEqual([]);
  });

  it('rejects a malformed --sha256 before sending anything', async () => {
    const r = await runDs(['version', 'installer', 'add', '3.8.1', 'win64=file:///x', '--sha256', 'abc'], { routes: ds() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--sha256 abc: the checksum must be 64 hexadecimal characters');
    expect(r.requests).toEqual([]);
  });

  it('does not create a version that does not exist', async () => {
    const r = await runDs(['version', 'installer', 'add', '9.9.9', 'win64=file:///x'], { routes: absent });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('NOT_FOUND: version 9.9.9 does not exist');
    expect(r.requests.map((q) => q.method)).toEqual(['GET']);
  });

  it("names the OS of a refused URI and keeps DS's description", async () => {
    const description = 'installers[3].uri: /etc/passwd resolves outside the installer root /srv/t1c (DS_INSTALLER_ROOT)';
    const r = await runDs(['version', 'installer', 'add', '3.8.1', 'unix=file:///srv/t1c/../../etc/passwd'], {
      routes: { ...ds(), 'PUT /admin/versions/3.8.1': () => fail(400, 'INVALID_INSTALLER_URI', description, 'req-9') },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `error: INVALID_INSTALLER_URI: DS refused the unix installer: ${description} (request req-9)\n` +
        'hint: an installer is a file: URI inside the DS installer root (DS_INSTALLER_ROOT), or an http(s): URL\n',
    );
  });

  it('says when DS refuses an installer that was only kept because its file changed', async () => {
    const description = `installers[1].sha256: the file's SHA-256 is ${NEW}, not ${DEB}`;
    const r = await runDs(['version', 'installer', 'add', '3.8.1', 'unix=file:///srv/t1c/t1c.sh'], {
      routes: { ...ds(), 'PUT /admin/versions/3.8.1': () => fail(400, 'VALIDATION_ERROR', description) },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: VALIDATION_ERROR: DS refused the linux64 installer: ${description}`);
    expect(r.stderr).toContain('hint: the linux64 installer was only kept, but its file changed since its checksum was recorded: `ds version verify 3.8.1`');
  });

  it('passes other errors through unchanged', async () => {
    const r = await runDs(['version', 'installer', 'add', '3.8.1', 'unix=file:///srv/t1c/t1c.sh'], {
      routes: { ...ds(), 'PUT /admin/versions/3.8.1': () => fail(403, 'FORBIDDEN', 'the token lacks versions:write') },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: FORBIDDEN: the token lacks versions:write (request req-1)\n');
  });
});

describe('ds version installer remove', () => {
  it('PUTs the set without it, the others keeping their checksums', async () => {
    const r = await runDs(['version', 'installer', 'rm', '3.8.1', 'LinUX64', '--yes'], { routes: ds() });
    expect(r.code).toBe(0);
    expect(r.find('PUT', '/admin/versions/3.8.1').map((q) => q.body)).toEqual([
      {
        installers: [
          { os: 'WIN64', uri: 'file:///srv/t1c/win64.exe', sha256: WIN },
          { os: 'MACOS', uri: 'https://cdn.example/t1c.dmg' },
        ],
      },
    ]);
    expect(r.stderr).toBe('removed the linux64 installer of version 3.8.1\n');
    expect(r.stdout).not.toContain('linux64');
    expect(r.stdout).toMatch(/win64\s+│ file:\/\/\/srv\/t1c\/win64\.exe\s+│ a{64}/);
  });

  it('removing the last one sends an empty set', async () => {
    const one = version('3.8.1', { installers: [current.installers[0]] });
    const r = await runDs(['version', 'installer', 'remove', '3.8.1', 'win64', '--yes', '--json'], { routes: ds(one) });
    expect(r.find('PUT', '/admin/versions/3.8.1')[0]!.body).toEqual({ installers: [] });
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it('asks on a terminal, and a no sends nothing', async () => {
    const yes = await runDs(['version', 'installer', 'remove', '3.8.1', 'macos'], { routes: ds(), terminal: true, answers: [true] });
    expect(yes.prompts.map((p) => p.message)).toEqual(['Remove the macos installer of version 3.8.1 (https://cdn.example/t1c.dmg)?']);
    expect(yes.find('PUT', '/admin/versions/3.8.1')).toHaveLength(1);
    const no = await runDs(['version', 'installer', 'remove', '3.8.1', 'macos'], { routes: ds(), terminal: true, answers: [false] });
    expect(no.code).toBe(2);
    expect(no.find('PUT', '/admin/versions/3.8.1')).toEqual([]);
  });

  it('needs --yes when not interactive', async () => {
    const r = await runDs(['version', 'installer', 'remove', '3.8.1', 'macos'], { routes: ds() });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: refusing to remove the macos installer of version 3.8.1 (https://cdn.example/t1c.dmg) without confirmation: pass --yes (no prompt: not interactive)\n');
    expect(r.find('PUT', '/admin/versions/3.8.1')).toEqual([]);
  });

  it('fails, without asking, when the version has no installer for that OS', async () => {
    const r = await runDs(['version', 'installer', 'remove', '3.8.1', 'unix'], { routes: ds(), terminal: true });
    expect(r.code).toBe(1);
    expect(r.prompts).toEqual([]);
    expect(r.stderr).toBe('error: version 3.8.1 has no unix installer (it has win64, linux64, macos)\nhint: `ds version installer list 3.8.1` shows them\n');
    expect(r.find('PUT', '/admin/versions/3.8.1')).toEqual([]);
  });

  it('rejects an unknown OS before sending anything', async () => {
    const r = await runDs(['version', 'installer', 'remove', '3.8.1', 'amiga', '--yes'], { routes: ds() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown OS "amiga": use one of win32, win64/);
    expect(r.requests).toEqual([]);
  });
});
