import { describe, expect, it } from 'vitest';
import { csvColumns, toCsv } from './csv.js';

describe('toCsv', () => {
  it('writes RFC 4180: a header, CRLF line ends, quotes doubled inside quoted fields', () => {
    expect(toCsv([{ a: 'x,y', b: 'say "hi"', c: 'two\nlines', d: 3 }], ['a', 'b', 'c', 'd'])).toBe('a,b,c,d\r\n"x,y","say ""hi""","two\nlines",3\r\n');
  });

  it('writes nothing for no columns, empty fields for null and missing values, JSON for objects', () => {
    expect(toCsv([{ a: 1 }], [])).toBe('');
    expect(toCsv([{ a: null, c: { k: [1] } }], ['a', 'b', 'c'])).toBe('a,b,c\r\n,,"{""k"":[1]}"\r\n');
  });

  it('defuses text a spreadsheet would run as a formula, and leaves numbers alone', () => {
    const rows = [{ v: '=HYPERLINK("http://evil")' }, { v: '+1' }, { v: '-sign' }, { v: '@SUM(A1)' }, { v: 'beid' }, { v: -5 }];
    expect(toCsv(rows, ['v']).split('\r\n').slice(1, -1)).toEqual(['"\'=HYPERLINK(""http://evil"")"', "'+1", "'-sign", "'@SUM(A1)", 'beid', '-5']);
  });

  it('puts the known columns first, then any other field the rows carry', () => {
    expect(csvColumns([{ b: 1, z: 2 }, { a: 1, y: 3 }], ['a', 'b'])).toEqual(['a', 'b', 'z', 'y']);
  });
});
