import type { InstallerCheck } from '@ds/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { fail, ok, parseCsv, removeTempDirs, runDs } from '../../test/harness.js';

afterEach(removeTempDirs);

const A = 'a1'.repeat(32);
const B = 'b2'.repeat(32);

const okCheck: InstallerCheck = {
  os: 'WIN64',
  uri: 'file:///srv/t1c/win64.exe',
  recorded: { sha256: A, size: 2048 },
  actual: { sha256: A, size: 2048 },
  status: 'ok',
  detail: null,
};
const okLinux: InstallerCheck = { ...okCheck, os: 'LINUX64', uri: 'file:///srv/t1c/linux64.deb' };
const changed: InstallerCheck = {
  os: 'MACOS',
  uri: 'file:///srv/t1c/t1c.dmg',
  recorded: { sha256: A, size: 2048 },
  actual: { sha256: B, size: 2049 },
  status: 'changed',
  detail: 'the file changed after its checksum was recorded',
};
const missing: InstallerCheck = {
  os: 'UNIX',
  uri: 'file:///srv/t1c/t1c.sh',
  recorded: { sha256: A, size: 10 },
  actual: null,
  status: 'missing',
  detail: 'ENOENT',
};
const unchecked: InstallerCheck = {
  os: 'WIN32',
  uri: 'https://cdn.example/t1c-32.exe',
  recorded: { sha256: null, size: null },
  actual: null,
  status: 'unchecked',
  detail: 'http(s) installers are not fetched',
};

const routesFor = (checks: InstallerCheck[]) => ({ 'GET /admin/versions/3.8.1/verify': () => ok(checks) });

describe('ds version verify exit codes', () => {
  describe.each([
    { name: 'all ok', checks: [okCheck, okLinux], code: 0, summary: '2 installers: 2 ok' },
    { name: 'ok and unchecked', checks: [okCheck, unchecked], code: 0, summary: '2 installers: 1 ok, 1 unchecked' },
    { name: 'no installers', checks: [], code: 0, summary: '0 installers' },
    { name: 'one changed', checks: [okCheck, okLinux, changed], code: 1, summary: '3 installers: 2 ok, 1 changed' },
    { name: 'one missing', checks: [missing, okCheck], code: 1, summary: '2 installers: 1 ok, 1 missing' },
    { name: 'every status', checks: [unchecked, missing, changed, okCheck], code: 1, summary: '4 installers: 1 ok, 1 changed, 1 missing, 1 unchecked' },
  ])('$name', ({ checks, code, summary }) => {
    it.each([[[]], [['--json']], [['--csv']]])(`exits ${code} with the summary on stderr (%j)`, async (format) => {
      const r = await runDs(['version', 'verify', '3.8.1', ...format], { routes: routesFor(checks) });
      expect(r.code).toBe(code);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      if (code === 0) expect(lines.at(-1)).toBe(summary);
      // --json: the error envelope, one line.
      else if (format.includes('--json')) expect(JSON.parse(lines.at(-1)!)).toMatchObject({ success: false, code: 'FAILED', description: summary });
      else expect(lines[0]).toBe(`error: ${summary}`);
      expect(lines.filter((l) => l.includes(summary))).toHaveLength(1);
    });
  });
});

describe('ds version verify output', () => {
  const checks = [okCheck, changed, missing, unchecked];

  it('--json prints exactly the check objects, even when it fails', async () => {
    const r = await runDs(['version', 'verify', '3.8.1', '--json'], { routes: routesFor(checks) });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual(checks);
  });

  it('the table shows short checksums, both sizes when they differ, and the detail', async () => {
    const r = await runDs(['version', 'verify', '3.8.1'], { routes: routesFor(checks) });
    const header = r.stdout.split('\n')[1]!;
    expect(header.split('│').map((s) => s.trim()).filter(Boolean)).toEqual(['os', 'status', 'recorded sha256', 'actual sha256', 'size', 'detail']);
    expect(r.stdout).toMatch(/win64\s+│ ok\s+│ a1a1a1a1a1a1\s+│ a1a1a1a1a1a1\s+│ 2\.0 KiB \(2048 bytes\)\s+│\s+│/);
    expect(r.stdout).toMatch(
      /macos\s+│ changed\s+│ a1a1a1a1a1a1\s+│ b2b2b2b2b2b2\s+│ 2\.0 KiB \(2048 bytes\) → 2\.0 KiB \(2049 bytes\)\s+│ the file changed after its checksum was recorded/,
    );
    expect(r.stdout).toMatch(/unix\s+│ missing\s+│ a1a1a1a1a1a1\s+│\s+│ 10 B\s+│ ENOENT/);
    expect(r.stdout).toMatch(/win32\s+│ unchecked\s+│\s+│\s+│\s+│ http\(s\) installers are not fetched/);
    expect(r.stdout).not.toContain(A);
  });

  it('--csv has one dotted column per field', async () => {
    const r = await runDs(['version', 'verify', '3.8.1', '--csv'], { routes: routesFor(checks) });
    expect(parseCsv(r.stdout)).toEqual([
      ['os', 'uri', 'status', 'recorded.sha256', 'recorded.size', 'actual.sha256', 'actual.size', 'detail'],
      ['WIN64', 'file:///srv/t1c/win64.exe', 'ok', A, '2048', A, '2048', ''],
      ['MACOS', 'file:///srv/t1c/t1c.dmg', 'changed', A, '2048', B, '2049', 'the file changed after its checksum was recorded'],
      ['UNIX', 'file:///srv/t1c/t1c.sh', 'missing', A, '10', '', '', 'ENOENT'],
      ['WIN32', 'https://cdn.example/t1c-32.exe', 'unchecked', '', '', '', '', 'http(s) installers are not fetched'],
    ]);
  });

  it('names the failing installers and what to do in the hint', async () => {
    const r = await runDs(['version', 'verify', '3.8.1'], { routes: routesFor(checks) });
    expect(r.stderr).toContain('hint: macos changed, unix missing: downloads of a changed installer are refused (409 INSTALLER_CHANGED)');
    expect(r.stderr).toContain('`ds version installer add 3.8.1 <os>=<uri>`');
  });

  it('fails on an unknown version, and says so when DS has no verify route', async () => {
    const absent = await runDs(['version', 'verify', '9.9.9'], {
      routes: { 'GET /admin/versions/9.9.9/verify': () => fail(404, 'NOT_FOUND', 'version 9.9.9 does not exist') },
    });
    expect(absent.code).toBe(1);
    expect(absent.stderr).toBe('error: NOT_FOUND: version 9.9.9 does not exist (request req-1)\n');
    const old = await runDs(['version', 'verify', '3.8.1'], { routes: {} });
    expect(old.code).toBe(1);
    expect(old.stderr).toBe('error: DS at http://127.0.0.1:3000 cannot verify installers: it is older than this ds\n');
  });
});
