import { describe, expect, it } from 'vitest';
import { parseErrorEnvelope, readJson, unreachableReason } from './error-envelope.js';

describe('parseErrorEnvelope', () => {
  it.each([
    {
      name: 'a DS error envelope',
      body: { success: false, code: 'UNKNOWN_DEVICE', description: 'No such device', requestId: 'req-1', details: { id: 'x' } },
      expected: { code: 'UNKNOWN_DEVICE', description: 'No such device', requestId: 'req-1', details: { id: 'x' } },
    },
    { name: 'a code DS does not define', body: { code: 'TEAPOT', description: 'short and stout' }, expected: { code: 'BAD_RESPONSE', description: 'short and stout', requestId: null } },
    { name: 'a description that is not text', body: { code: 'CONFLICT', description: 42 }, expected: { code: 'CONFLICT', description: 'DS answered HTTP 502', requestId: null } },
    { name: 'no JSON', body: undefined, expected: { code: 'BAD_RESPONSE', description: 'DS answered HTTP 502', requestId: null } },
    { name: 'JSON null', body: null, expected: { code: 'BAD_RESPONSE', description: 'DS answered HTTP 502', requestId: null } },
    { name: 'a JSON string', body: 'Bad gateway', expected: { code: 'BAD_RESPONSE', description: 'DS answered HTTP 502', requestId: null } },
  ])('reads $name', ({ body, expected }) => {
    expect(parseErrorEnvelope(502, body)).toEqual(expected);
  });
});

describe('readJson', () => {
  it.each([
    ['{"code":"CONFLICT"}', { code: 'CONFLICT' }],
    ['<html>Bad gateway</html>', undefined],
    ['', undefined],
  ])('reads %j', async (text, expected) => {
    expect(await readJson(new Response(text))).toEqual(expected);
  });
});

describe('unreachableReason', () => {
  it('names the cause fetch wraps, else the error', () => {
    expect(unreachableReason(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:3000') }))).toBe('connect ECONNREFUSED 127.0.0.1:3000');
    expect(unreachableReason(new Error('The operation was aborted due to timeout'))).toBe('The operation was aborted due to timeout');
    expect(unreachableReason('down')).toBe('down');
  });
});
