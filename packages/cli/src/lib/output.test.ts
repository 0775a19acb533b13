import { describe, expect, it } from 'vitest';
import { parseCsv } from '../test/harness.js';
import { csvField, fitTwoColumns, flatten, toCsv } from './output.js';

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
      ['name', 'note', 'text', 'nested', 'none', 'flag'],
      ['a,b', 'he said "no"', 'line 1\r\nline 2', '{"x":[1,"y,z"]}', '', 'true'],
      ['plain', '', 'lf\nonly', '[]', '', 'false'],
    ]);
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
