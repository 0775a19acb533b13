import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { collectList, parseDuration } from './parse.js';

describe('parseDuration', () => {
  it.each([
    ['3600', 3600],
    ['90s', 90],
    ['30m', 1800],
    ['1h', 3600],
    ['7d', 604800],
    ['2w', 1209600],
    ['1d12h', 129600],
    [' 1H ', 3600],
  ])('%j is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', '1x', 'h', '1h and more', '-5', '1.5h'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(InvalidArgumentError);
  });
});

describe('collectList', () => {
  it('accepts repeated and comma separated values', () => {
    expect(collectList('b, c', collectList('a', undefined))).toEqual(['a', 'b', 'c']);
  });
});
