import { afterEach, describe, expect, it } from 'vitest';
import { fail, ok, removeTempDirs, runDs, T, type Seen } from '../../test/harness.js';

afterEach(removeTempDirs);

const current = (kid: string, use: 'sig' | 'enc', alg: string) => ({ kid, use, alg, status: 'current', createdAt: T, retiredAt: null, publishedUntil: null });
const retired = { kid: 'old-sig', use: 'sig', alg: 'RS256', status: 'retired', createdAt: T, retiredAt: '2026-03-15T10:00:00.000Z', publishedUntil: '2026-03-16T10:00:00.000Z' };
const keys = [current('k-sig', 'sig', 'ES256'), current('k-enc', 'enc', 'ECDH-ES+A256KW'), retired];

describe('ds keys list', () => {
  it('shows kid, use, alg, status, created, retired and published until', async () => {
    const r = await runDs(['keys', 'ls'], { routes: { 'GET /admin/keys': () => ok(keys) } });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toMatch(/kid\s+│ use │ alg\s+│ status\s+│ created\s+│ retired\s+│ published until/);
    expect(r.stdout).toMatch(/k-sig\s+│ sig │ ES256\s+│ current │ 2025-01-02T03:04:05\.000Z │\s+│ while current/);
    expect(r.stdout).toMatch(/old-sig\s+│ sig │ RS256\s+│ retired │ 2025-01-02T03:04:05\.000Z │ 2026-03-15T10:00:00\.000Z │ 2026-03-16T10:00:00\.000Z/);
  });

  it('--json prints the API objects', async () => {
    const r = await runDs(['keys', 'list', '--json'], { routes: { 'GET /admin/keys': () => ok(keys) } });
    expect(JSON.parse(r.stdout)).toEqual(keys);
  });

  it('maps a missing scope to the DS error', async () => {
    const r = await runDs(['keys', 'list'], { routes: { 'GET /admin/keys': () => fail(403, 'FORBIDDEN', 'the token lacks the scope keys:read') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('FORBIDDEN: the token lacks the scope keys:read');
  });
});

describe('ds keys rotate', () => {
  const routes = { 'POST /admin/keys/rotate': (q: Seen) => ok([current('new', 'sig', (q.body as { type?: string }).type === 'rsa' ? 'RS256' : 'ES256'), ...keys]) };

  it('refuses without --yes when not interactive', async () => {
    const r = await runDs(['keys', 'rotate'], { routes });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing to replace the DS signing and encryption key pairs .*pass --yes/);
    expect(r.requests).toEqual([]);
  });

  it('asks on a terminal; no is cancelled', async () => {
    const r = await runDs(['keys', 'rotate', '--use', 'enc'], { terminal: true, answers: [false], routes });
    expect(r.code).toBe(2);
    expect(r.prompts[0]!.message).toMatch(/^Replace the DS encryption key pair/);
    expect(r.requests).toEqual([]);
  });

  it('rotates both pairs by default and prints the keys after', async () => {
    const r = await runDs(['keys', 'rotate', '--yes'], { routes });
    expect(r.code).toBe(0);
    expect(r.find('POST', '/admin/keys/rotate')[0]!.body).toEqual({ use: 'both' });
    expect(r.stdout).toMatch(/new\s+│ sig │ ES256/);
    expect(r.stderr).toContain('stay in the JWKS');
  });

  it('passes --type and --use', async () => {
    const r = await runDs(['keys', 'rotate', '--type', 'rsa', '--use', 'sig', '--yes', '--json'], { routes });
    expect(r.find('POST', '/admin/keys/rotate')[0]!.body).toEqual({ use: 'sig', type: 'rsa' });
    expect(JSON.parse(r.stdout)[0]).toMatchObject({ kid: 'new', alg: 'RS256' });
  });

  it('rejects an unknown type or use', async () => {
    for (const args of [['--type', 'dsa'], ['--use', 'all']]) {
      const r = await runDs(['keys', 'rotate', '--yes', ...args], { routes });
      expect(r.code).toBe(1);
      expect(r.requests).toEqual([]);
    }
  });
});
