import { describe, expect, it } from 'vitest';
import { createLogger, type LogFormat, type LogLevel } from './logger.js';

const at = new Date('2026-03-04T05:06:07.890Z');

function capture(level: LogLevel, format: LogFormat) {
  const lines: string[] = [];
  return { lines, logger: createLogger(level, (line) => lines.push(line), format, () => at) };
}

describe('createLogger', () => {
  it('writes JSON lines by default: time, level, pid, message and fields', () => {
    const lines: string[] = [];
    createLogger('info', (line) => lines.push(line), undefined, () => at).info('request', { method: 'GET', status: 200 });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0]!)).toEqual({ time: at.toISOString(), level: 'info', pid: process.pid, msg: 'request', method: 'GET', status: 200 });
  });

  it('writes one short line per event in text: time of day, level, message, key=value', () => {
    const { lines, logger } = capture('debug', 'text');
    logger.warn('password check failed', { username: 'admin', address: '127.0.0.1' });
    logger.error('housekeeping failed', { error: 'database is locked', kids: ['a', 'b'], count: 3 });
    expect(lines).toEqual([
      '05:06:07 warn  password check failed username=admin address=127.0.0.1\n',
      '05:06:07 error housekeeping failed error="database is locked" kids=["a","b"] count=3\n',
    ]);
  });

  it.each<[LogFormat]>([['json'], ['text']])('%s: a value from a client can neither break the line nor act on the terminal', (format) => {
    const { lines, logger } = capture('info', format);
    logger.info('request', { path: '/v3_5/\u001b]0;owned\u0007\nfake line\u009b2J\u202e' });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
  });

  it.each<[LogLevel, string[]]>([
    ['debug', ['debug', 'info', 'warn', 'error']],
    ['info', ['info', 'warn', 'error']],
    ['warn', ['warn', 'error']],
    ['error', ['error']],
  ])('at %s writes %j', (level, expected) => {
    const { lines, logger } = capture(level, 'text');
    for (const l of ['debug', 'info', 'warn', 'error'] as const) logger[l](l);
    expect(lines.map((line) => line.split(/\s+/)[1])).toEqual(expected);
  });
});
