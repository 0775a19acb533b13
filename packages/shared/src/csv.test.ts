import { describe, expect, it } from 'vitest';
import { csvColumns, toCsv } from './csv.js';

describe('toCsv', () => {
  it('writes RFC 4180: a header, CRLF line ends, quotes doubled inside quoted fields', () => {
    expect(toCsv([{ a: 'x,y', b: 'say "hi"', c: 'two\nlines', d: 3 }], ['a', 'b', 'c', 'd'])).toBe('a,b,c,d\r\n"x,y","say ""hi""","two\nlines",3\r\n');
  });

  it('writes nothing for no columns, empty fields for null and missing values', () => {
    expect(toCsv([{ a: 1 }], [])).toBe('');
    expect(toCsv([{ a: null }], ['a', 'b'])).toBe('a,b\r\n,\r\n');
  });

  describe('never writes JSON into a cell: nested values are flattened', () => {
    it.each([
      ['an object: a column per field, dotted', [{ id: 'd1', os: { name: 'Windows', version: '11', architecture: 'x64' } }], 'id,os.name,os.version,os.architecture\r\nd1,Windows,11,x64\r\n'],
      ['a list of values: one cell, ;-joined', [{ labels: ['acme-web', 'acme-app'] }, { labels: [] }], 'labels\r\nacme-web;acme-app\r\n\r\n'],
      [
        'installers: one column per OS holding the URI, blank where a row has none',
        [
          { id: '3.9.0', installers: [{ os: 'WIN64', uri: 'file:///w.exe', sha256: 'aa', size: 1 }, { os: 'MACOSARM', uri: 'https://c/m.pkg', sha256: null, size: null }] },
          { id: '3.8.1', installers: [{ os: 'LINUX64', uri: 'https://c/l.deb', sha256: null, size: null }] },
          { id: '3.0.0', installers: [] },
        ],
        'id,installers.win64,installers.macosarm,installers.linux64\r\n3.9.0,file:///w.exe,https://c/m.pkg,\r\n3.8.1,,,https://c/l.deb\r\n3.0.0,,,\r\n',
      ],
      [
        'API keys: prefix (status), ;-joined',
        [{ keys: [{ id: 'k1', prefix: 'ds_lbl_ab…', status: 'active' }, { id: 'k2', prefix: 'ds_lbl_cd…', status: 'grace' }] }],
        'keys\r\nds_lbl_ab… (active);ds_lbl_cd… (grace)\r\n',
      ],
      ['other lists of objects: numbered columns', [{ counters: [{ label: 'a', counter: 1 }, { label: 'b', counter: 2 }] }], 'counters.1.label,counters.1.counter,counters.2.label,counters.2.counter\r\na,1,b,2\r\n'],
      ['a config: nested fields, lists joined', [{ contextConfig: { own: null, effective: { corsAllowlist: ['https://a', 'https://b'], syncIntervalSeconds: 60 }, digest: 'x' } }], 'contextConfig.own,contextConfig.effective.corsAllowlist,contextConfig.effective.syncIntervalSeconds,contextConfig.digest\r\n,https://a;https://b,60,x\r\n'],
    ])('%s', (_, rows, csv) => {
      expect(toCsv(rows, Object.keys(rows[0]!))).toBe(csv);
      expect(csv).not.toMatch(/[{[]/);
    });

    it('a field null in one row and an object in another: only the nested columns', () => {
      const rows = [{ id: 'a', config: { own: null, digest: 'x' } }, { id: 'b', config: { own: { sync: 60 }, digest: 'y' } }];
      expect(toCsv(rows, ['id', 'config'])).toBe('id,config.digest,config.own.sync\r\na,x,\r\nb,y,60\r\n');
    });

    it('defuses a formula in a flattened cell too', () => {
      expect(toCsv([{ os: { name: '=cmd' }, labels: ['@x', 'y'] }], ['os', 'labels'])).toBe("os.name,labels\r\n'=cmd,'@x;y\r\n");
    });
  });

  it('defuses text a spreadsheet would run as a formula, and leaves numbers alone', () => {
    const rows = [{ v: '=HYPERLINK("http://evil")' }, { v: '+1' }, { v: '-sign' }, { v: '@SUM(A1)' }, { v: 'beid' }, { v: -5 }];
    expect(toCsv(rows, ['v']).split('\r\n').slice(1, -1)).toEqual(['"\'=HYPERLINK(""http://evil"")"', "'+1", "'-sign", "'@SUM(A1)", 'beid', '-5']);
  });

  it('puts the known columns first, then any other field the rows carry', () => {
    expect(csvColumns([{ b: 1, z: 2 }, { a: 1, y: 3 }], ['a', 'b'])).toEqual(['a', 'b', 'z', 'y']);
  });
});
