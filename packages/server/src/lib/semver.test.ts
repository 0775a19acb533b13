import { describe, expect, it } from 'vitest';
import { semverSortKey } from './semver.js';

// semverSortKey must turn semver.org §11 precedence into plain string order (the database sorts
// by it). Each case is checked through the key only; `cmp` compares keys the way SQLite (BINARY)
// and PostgreSQL with the C collation do: by code unit.
const cmp = (a: string, b: string) => {
  const ka = semverSortKey(a);
  const kb = semverSortKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

/** An independent reading of §11, used to check the keys of many generated versions. */
function precedence(a: string, b: string): number {
  const parse = (v: string) => {
    const [main = '', pre] = v.split('+')[0]!.split(/-(.*)/s);
    return { core: main.split('.').map(BigInt), pre: pre === undefined ? [] : pre.split('.') };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return x.core[i]! < y.core[i]! ? -1 : 1;
  if (x.pre.length === 0 || y.pre.length === 0) return x.pre.length === y.pre.length ? 0 : x.pre.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) {
      if (BigInt(p) !== BigInt(q)) return BigInt(p) < BigInt(q) ? -1 : 1;
    } else if (pn !== qn) {
      return pn ? -1 : 1;
    } else if (p !== q) {
      return p < q ? -1 : 1; // ASCII order
    }
  }
  return 0;
}

describe('semverSortKey', () => {
  it('orders the example chain of semver.org §11', () => {
    const chain = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0'];
    const shuffled = [chain[4], chain[7], chain[0], chain[6], chain[2], chain[5], chain[1], chain[3]] as string[];
    expect(shuffled.map((v) => ({ v, k: semverSortKey(v) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)).map((x) => x.v)).toEqual(chain);
  });

  // [lower, higher]
  it.each([
    ['1.0.0', '2.0.0'],
    ['2.0.0', '2.1.0'],
    ['2.1.0', '2.1.1'],
    ['1.9.0', '1.10.0'],
    ['1.10.0', '10.0.0'],
    ['0.0.9', '0.1.0'],
    ['1.2.3', '1.2.10'],
    ['1.0.0-alpha', '1.0.0-alpha.1'],
    ['1.0.0-alpha.1', '1.0.0-alpha.beta'],
    ['1.0.0-alpha.beta', '1.0.0-beta'],
    ['1.0.0-beta', '1.0.0-beta.2'],
    ['1.0.0-beta.2', '1.0.0-beta.11'],
    ['1.0.0-beta.11', '1.0.0-rc.1'],
    ['1.0.0-rc.1', '1.0.0'],
    ['1.9.0-rc.2', '1.9.0-rc.10'],
    ['1.9.0-rc.10', '1.9.0'],
    ['1.9.0', '1.10.0-alpha'],
    ['1.0.0-0', '1.0.0-1'],
    ['1.0.0-9', '1.0.0-10'],
    ['1.0.0-99', '1.0.0-a'], // numeric identifiers are lower than alphanumeric ones
    ['1.0.0-999999', '1.0.0-0a'], // "0a" is alphanumeric
    ['1.0.0-Z', '1.0.0-a'], // ASCII: upper case before lower case
    ['1.0.0-a', '1.0.0-a.0'], // more identifiers win when the others are equal
    ['1.0.0-a.b', '1.0.0-a-b'], // "a" < "a-b": the first identifier decides
    ['1.0.0-a.z.z', '1.0.0-a-'],
    ['1.0.0-a-', '1.0.0-a0'], // "-" is below the digits
    ['1.0.0-a-b', '1.0.0-aa'], // "a-b" < "aa"
    ['1.0.0-x.1', '1.0.0-x.1.1'],
    ['1.0.0-rc.1', '1.0.0-rc.1.0'],
    ['9999999999.0.0', '10000000000.0.0'], // numbers longer than the padding still compare numerically
    ['1.0.0-9999999999', '1.0.0-10000000000'],
    ['1.0.0-10000000000', '1.0.0-a'],
    ['1.0.0-10000000000', '1.0.0-10000000001'],
    ['10000000000.0.0', '100000000000.0.0'],
  ])('%s < %s', (lower, higher) => {
    expect(precedence(lower, higher)).toBe(-1); // the table itself agrees with §11
    expect(cmp(lower, higher)).toBe(-1);
    expect(cmp(higher, lower)).toBe(1);
  });

  it.each([
    ['1.0.0+build.1', '1.0.0+build.2'],
    ['1.0.0', '1.0.0+exp.sha.5114f85'],
    ['1.0.0-rc.1+a', '1.0.0-rc.1+b'],
  ])('ignores build metadata: %s = %s', (a, b) => {
    expect(semverSortKey(a)).toBe(semverSortKey(b));
  });

  it('gives different versions different keys', () => {
    const versions = ['1.0.0', '1.0.0-0', '1.0.0-00a', '1.0.0-a', '1.0.0-a.b', '1.0.0-a-b', '1.0.0-a--b', '1.0.0-1.0', '1.0.0-1-0'];
    const keys = new Set(versions.map(semverSortKey));
    expect(keys.size).toBe(new Set(versions).size);
  });

  it('agrees with §11 for every pair of many generated versions', () => {
    const cores = ['0.0.0', '0.0.1', '0.1.0', '1.0.0', '1.2.3', '1.10.0', '2.0.0', '12345678901.0.0'];
    const pres = ['', '0', '1', '2', '10', '11', 'a', 'a.1', 'a.b', 'a-b', 'a-', 'a0', 'A', 'alpha', 'alpha.1', 'alpha.beta', 'beta.2', 'beta.11', 'rc.1', 'rc.1.1', '-', '--', '0a', '12345678901'];
    const versions = cores.flatMap((c) => pres.map((p) => (p ? `${c}-${p}` : c)));
    let checked = 0;
    for (const a of versions) {
      for (const b of versions) {
        expect([a, b, cmp(a, b)]).toEqual([a, b, precedence(a, b)]);
        checked++;
      }
    }
    expect(checked).toBe(versions.length ** 2);
  });

  it.each(['v1.2.3', '1.2', 'latest', '01.2.3', '1.2.3-01', '1.2.3-', ''])('refuses %j', (v) => {
    expect(() => semverSortKey(v)).toThrow(/not a semantic version/);
  });
});
