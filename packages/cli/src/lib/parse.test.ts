import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { collectList, parseDuration, parseLifetime, parseSince, sinceTime } from './parse.js';

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

describe('parseLifetime', () => {
  it.each([
    ['90d', 7776000],
    ['12h', 43200],
    ['30m', 1800],
    ['3600s', 3600],
    ['1d12h', 129600],
  ])('%j is %d seconds', (text, seconds) => {
    expect(parseLifetime(text)).toBe(seconds);
  });

  it('refuses a bare number, naming the spellings that would do', () => {
    expect(() => parseLifetime('90')).toThrow('a lifetime needs a unit: 90d (days), 90h (hours), 90m (minutes) or 90s (seconds)');
  });

  it.each(['', 'd', '90 days', '-5d'])('rejects %j', (text) => {
    expect(() => parseLifetime(text)).toThrow(InvalidArgumentError);
  });
});

describe('collectList', () => {
  it('accepts repeated and comma separated values', () => {
    expect(collectList('b, c', collectList('a', undefined))).toEqual(['a', 'b', 'c']);
  });
});

describe('parseSince', () => {
  const now = new Date('2026-03-15T10:00:00.000Z');
  it.each([
    ['24h', '2026-03-14T10:00:00.000Z'],
    ['7d', '2026-03-08T10:00:00.000Z'],
    ['90', '2026-03-15T09:58:30.000Z'],
    ['2026-03-01', '2026-03-01T00:00:00.000Z'],
    ['2026-03-01T12:00:00Z', '2026-03-01T12:00:00.000Z'],
    ['2026-03-01T12:00:00+02:00', '2026-03-01T10:00:00.000Z'],
  ])('%j is %s', (text, expected) => {
    expect(sinceTime(parseSince(text), now)).toBe(expected);
  });

  it.each(['yesterday', '2026-13-45', '2026-03-01Tnoon', ''])('rejects %j', (text) => {
    expect(() => parseSince(text)).toThrow(InvalidArgumentError);
  });
});
