import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, configDigest } from './digest.js';

/** A double from its IEEE 754 bits (the way RFC 8785 Appendix B lists its number examples). */
const double = (hex: string) => Buffer.from(hex, 'hex').readDoubleBE(0);

/** base64url(SHA-256(text)), computed here and not by the module under test. */
const sha256b64url = (text: string) => createHash('sha256').update(Buffer.from(text, 'utf8')).digest('base64url');

describe('canonicalJson (RFC 8785)', () => {
  it('serialises the example of RFC 8785 §3.2.2 exactly', () => {
    // The input text of the RFC, parsed as JSON (so 1E30, 4.50, "\u000F" and "\/" are as written there).
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
  });

  it('sorts keys by UTF-16 code units (RFC 8785 §3.2.3)', () => {
    const input = JSON.parse(String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`);
    // The emoji (U+1F600, surrogates D83D DE00) sorts before U+FB33 although its code point is higher.
    // (Compared as text: Object.keys would put the integer-like key "1" first.)
    const expected =
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
      '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
    expect(canonicalJson(input)).toBe(expected);
    expect(canonicalJson({ b: 1, a: 2, A: 3, aa: 4, _: 5 })).toBe('{"A":3,"_":5,"a":2,"aa":4,"b":1}');
  });

  it('sorts nested objects but keeps array order', () => {
    expect(canonicalJson({ z: [{ y: 1, x: 2 }, 3, 'c', 'a'], a: { d: null, c: { f: true, e: false } } })).toBe(
      '{"a":{"c":{"e":false,"f":true},"d":null},"z":[{"x":2,"y":1},3,"c","a"]}',
    );
  });

  it('writes no whitespace', () => {
    expect(canonicalJson({ a: [1, 2, { b: ' x ' }] })).toBe('{"a":[1,2,{"b":" x "}]}');
  });

  // RFC 8785 Appendix B: IEEE 754 bits -> canonical text.
  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'], // -0
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('writes the double %s as %s', (bits, text) => {
    expect(canonicalJson(double(bits))).toBe(text);
    expect(canonicalJson([double(bits)])).toBe(`[${text}]`);
  });

  it.each([
    ['1e21', 1e21, '1e+21'],
    ['1E30', 1e30, '1e+30'],
    ['-0', -0, '0'],
    ['4.50', 4.5, '4.5'],
    ['2e-3', 2e-3, '0.002'],
    ['1e-7', 1e-7, '1e-7'],
    ['100', 100, '100'],
    ['1e20', 1e20, '100000000000000000000'],
  ])('writes the number %s as %s', (_, value, text) => {
    expect(canonicalJson({ n: value })).toBe(`{"n":${text}}`);
  });

  it.each([
    ['a control character', '\u0001', '"\\u0001"'],
    ['U+001F', '\u001f', '"\\u001f"'],
    ['the short escapes', '\b\t\n\f\r', '"\\b\\t\\n\\f\\r"'],
    ['quote and backslash', '"\\', '"\\"\\\\"'],
    ['DEL (not escaped)', '\u007f', '"\u007f"'],
    ['a slash (not escaped)', '/', '"/"'],
    ['non-ASCII (as is, not \\u)', 'é€😀', '"é€😀"'],
    ['U+2028 (as is)', '\u2028', '"\u2028"'],
  ])('escapes strings as RFC 8785 says: %s', (_, value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['undefined', undefined],
  ])('refuses %s', (_, value) => {
    expect(() => canonicalJson(value)).toThrow();
  });
});

describe('configDigest', () => {
  it.each([
    // Hand-written canonical texts: sorted keys, no whitespace.
    [{ syncIntervalSeconds: 3600, corsAllowlist: [], syncFailureLimit: 10 }, '{"corsAllowlist":[],"syncFailureLimit":10,"syncIntervalSeconds":3600}'],
    [{ b: 'x', a: { d: 1e21, c: -0 } }, '{"a":{"c":0,"d":1e+21},"b":"x"}'],
    [{ corsAllowlist: ['https://*.example.com', 'http://localhost:*'], custom: 'é' }, '{"corsAllowlist":["https://*.example.com","http://localhost:*"],"custom":"é"}'],
    [{ uri: 'https://keys.example.com/ks.p12', sha256: 'ab'.repeat(32) }, `{"sha256":"${'ab'.repeat(32)}","uri":"https://keys.example.com/ks.p12"}`],
  ])('is base64url(SHA-256) of the canonical JSON of %j', (value, canonical) => {
    expect(canonicalJson(value)).toBe(canonical);
    const digest = configDigest(value);
    expect(digest).toBe(sha256b64url(canonical));
    expect(digest).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 bytes, base64url without padding
  });

  it('matches a fixed known answer', () => {
    // sha256('{"a":1}') = 015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862
    const hex = '015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862';
    expect(createHash('sha256').update('{"a":1}').digest('hex')).toBe(hex);
    expect(configDigest({ a: 1 })).toBe(Buffer.from(hex, 'hex').toString('base64url'));
  });

  it('does not depend on key order, and does on values', () => {
    expect(configDigest({ a: 1, b: [1, 2] })).toBe(configDigest({ b: [1, 2], a: 1 }));
    expect(configDigest({ a: 1, b: [1, 2] })).not.toBe(configDigest({ a: 1, b: [2, 1] }));
    expect(configDigest({ a: 1 })).not.toBe(configDigest({ a: '1' }));
  });
});
