import { describe, expect, it } from 'vitest';
import { parseCsv } from '../test/harness.js';
import { cell, csvField, displayWidth, fitTwoColumns, flatten, lines, Table, terminalText, toCsv, tsv, tsvField } from './output.js';

describe('CSV', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\ronly', '"cr\ronly"'],
    ['', ''],
  ])('quotes %j as %j', (input, expected) => {
    expect(csvField(input)).toBe(expected);
  });

  it('round-trips awkward values through an RFC 4180 parser', () => {
    const rows = [
      { name: 'a,b', note: 'he said "no"', text: 'line 1\r\nline 2', nested: { x: [1, 'y,z'] }, none: null, flag: true },
      { name: 'plain', note: '', text: 'lf\nonly', nested: [], none: undefined, flag: false },
    ];
    const csv = toCsv(rows, ['name', 'note', 'text', 'nested', 'none', 'flag']);
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(parseCsv(csv)).toEqual([
      ['name', 'note', 'text', 'nested.x', 'none', 'flag'],
      ['a,b', 'he said "no"', 'line 1\r\nline 2', '1;y,z', '', 'true'],
      ['plain', '', 'lf\nonly', '', '', 'false'],
    ]);
  });
});

describe('plain lines (TSV)', () => {
  /** Undoes the escapes of a plain cell, as the README tells scripts to. */
  const unescape = (field: string) =>
    field.replace(/\\(\\|t|n|r|x[0-9a-f]{2}|u[0-9a-f]{4})/g, (_, e: string) =>
      e === '\\' ? '\\' : e === 't' ? '\t' : e === 'n' ? '\n' : e === 'r' ? '\r' : String.fromCharCode(parseInt(e.slice(1), 16)),
    );

  it.each([
    ['plain', 'plain'],
    ['a\tb', 'a\\tb'],
    ['two\nlines', 'two\\nlines'],
    ['cr\r', 'cr\\r'],
    ['C:\\path\\tab', 'C:\\\\path\\\\tab'],
    ['already \\t escaped-looking', 'already \\\\t escaped-looking'],
    ['\u001b[2J', '\\x1b[2J'],
    ['bidi \u202e', 'bidi \\u202e'],
    ['Café 東京 👩\u200d💻', 'Café 東京 👩\u200d💻'],
    ['', ''],
  ])('writes %j as %j: one field of one line, read back exactly', (text, field) => {
    expect(tsvField(text)).toBe(field);
    expect(field).not.toMatch(/[\t\n\r\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(unescape(field)).toBe(text);
  });

  it('writes a cell as the table shows it: yes/no, empty for none, lists joined, parts of a multi-line cell as \\n', () => {
    expect(tsv([['a', 'b', 'c', 'd', 'e'], [true, null, ['x', 'y'], lines('uri', 'sha256 ab'), 3]])).toBe('a\tb\tc\td\te\nyes\t\tx, y\turi\\nsha256 ab\t3\n');
  });
});

describe('flatten', () => {
  it('names nested fields with dots and indexes arrays of objects', () => {
    expect(flatten({ a: { b: 1, c: { d: 'x' } }, list: [1, 2], objects: [{ os: 'WIN64' }], empty: {}, none: null })).toEqual([
      ['a.b', 1],
      ['a.c.d', 'x'],
      ['list', [1, 2]],
      ['objects[0].os', 'WIN64'],
      ['empty', {}],
      ['none', null],
    ]);
  });
});

describe('fitTwoColumns', () => {
  it('leaves tables that fit alone and wraps the value column of those that do not', () => {
    const rows = [
      ['scopes', 'a'.repeat(30)],
      ['id', 'x'],
    ] as const;
    expect(fitTwoColumns(rows, undefined)).toEqual({});
    expect(fitTwoColumns(rows, 80)).toEqual({});
    expect(fitTwoColumns(rows, 30)).toEqual({ colWidths: [8, 19], wordWrap: true, wrapOnWordBoundary: true });
  });
});

describe('terminalText', () => {
  it.each([
    ['ESC and BEL of an OSC title', 'pc\u001b]0;pwned\u0007', 'pc\\x1b]0;pwned\\x07'],
    ['a CSI that clears the screen', '\u001b[2J', '\\x1b[2J'],
    ['an OSC 8 link', '\u001b]8;;http://evil\u0007click\u001b]8;;\u0007', '\\x1b]8;;http://evil\\x07click\\x1b]8;;\\x07'],
    ['a carriage return over the line', 'ok\rFAKE', 'ok\\rFAKE'],
    ['NUL, backspace, vertical tab, form feed', '\u0000\b\v\f', '\\x00\\x08\\x0b\\x0c'],
    ['DEL', 'a\u007fb', 'a\\x7fb'],
    ['C1 controls (CSI, OSC, NEL)', '\u009b31m\u009d0;x\u0085', '\\x9b31m\\x9d0;x\\x85'],
    ['bidi overrides and isolates', 'abc\u202eexe.txt\u202c \u2066x\u2069 \u061c', 'abc\\u202eexe.txt\\u202c \\u2066x\\u2069 \\u061c'],
    ['zero width and format characters', 'a\u200bb\u200cc\u200ed\u200fe\ufeff\u2060\u2028', 'a\\u200bb\\u200cc\\u200ed\\u200fe\\ufeff\\u2060\\u2028'],
    ['a joiner between letters', 'pay\u200dpal', 'pay\\u200dpal'],
    ['ordinary text of every script, as it is', 'Café Zürich 東京 서울 ñ e\u0301 🎉 👩\u200d💻 👍🏽 C:\\tmp', 'Café Zürich 東京 서울 ñ e\u0301 🎉 👩\u200d💻 👍🏽 C:\\tmp'],
  ])('shows %s visibly', (_what, input, shown) => {
    expect(terminalText(input)).toBe(shown);
  });

  it('keeps line feeds and tabs only for lines of text; a table cell gets neither', () => {
    expect(terminalText('one\ntwo\tthree\r\n', { multiline: true })).toBe('one\ntwo\tthree\\r\n');
    expect(terminalText('one\ntwo\tthree')).toBe('one\\ntwo\\tthree');
  });

  it('is idempotent: escaped text has nothing left to escape', () => {
    const once = terminalText('\u001b]0;x\u0007\u202e\u009b\n');
    expect(terminalText(once)).toBe(once);
  });
});

describe('tables', () => {
  it('draw every cell, header and row name escaped; only lines() spans lines', () => {
    const table = new Table({ head: ['name\u001b[31m', 'value'] });
    table.push(['a\u001b]0;x\u0007', { content: 'b\nc', hAlign: 'right' }], [lines('first', 'second\u202e'), null]);
    const drawn = table.toString();
    expect(drawn).not.toMatch(/[\u001b\u0007\u202e]/);
    expect(drawn).toContain('name\\x1b[31m');
    expect(drawn).toContain('a\\x1b]0;x\\x07');
    expect(drawn).toContain('b\\nc');
    expect(drawn).toMatch(/│ first\s+│/);
    expect(drawn).toMatch(/│ second\\u202e\s+│/);
    const named = new Table();
    named.push({ 'counter \u001b[2J': 3 });
    expect(named.toString()).toContain('counter \\x1b[2J');
  });

  it('cell: null is empty, booleans yes/no, lists joined, lines() one line a part', () => {
    expect([cell(null), cell(true), cell(['a\n', 'b']), cell(lines('x\ny', 1))]).toEqual(['', 'yes', 'a\\n, b', 'x\\ny\n1']);
  });

  it('measure wide characters as two columns and marks as none', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('東京')).toBe(4);
    expect(displayWidth('e\u0301')).toBe(1);
    expect(displayWidth('🎉👩\u200d💻')).toBe(4);
  });
});
