import { afterEach, describe, expect, it } from 'vitest';
import type { ServerModule } from '../../lib/server-api.js';
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

describe('ds keys rekey', () => {
  const result = {
    reencrypted: ['k-sig', 'k-enc'],
    encrypted: [],
    unchanged: [],
    from: { id: '1111111111111111', source: '/srv/ds/data/master.key' },
    to: { id: '2222222222222222', source: 'the new key file new.key' },
    keySource: { kind: 'default-file', description: '/srv/ds/data/master.key' },
    migrations: [],
    warnings: [],
  };

  /** A stand-in for @ds/server: loadConfig and rekeyDatabase, recording what they were given. */
  function fakeServer(answer: (config: unknown, newKey: unknown) => Promise<unknown> = async () => result) {
    const calls: { fn: string; args: unknown[] }[] = [];
    const module = {
      loadConfig(env: NodeJS.ProcessEnv, overrides: Record<string, unknown> = {}) {
        calls.push({ fn: 'loadConfig', args: [env, overrides] });
        return { databaseUrl: overrides.databaseUrl ?? env.DATABASE_URL ?? './data/ds.db', masterKeyFile: overrides.masterKeyFile ?? env.DS_MASTER_KEY_FILE };
      },
      async rekeyDatabase(config: unknown, newKey: unknown) {
        calls.push({ fn: 'rekeyDatabase', args: [config, newKey] });
        return answer(config, newKey);
      },
    } as unknown as ServerModule;
    return { module, calls };
  }

  it('re-encrypts with the current key from the flags and the new key from a file, says what it did and what to do next', async () => {
    const server = fakeServer();
    const r = await runDs(['keys', 'rekey', '--database', 'pg.db', '--master-key-file', 'old.key', '--new-key-file', 'new.key', '--yes'], {
      env: { DS_TOKEN: undefined },
      overrides: { loadServer: async () => server.module },
    });
    expect(r.code).toBe(0);
    expect(server.calls[0]!.args[1]).toEqual({ databaseUrl: 'pg.db', masterKeyFile: 'old.key' });
    expect(server.calls[1]).toEqual({ fn: 'rekeyDatabase', args: [{ databaseUrl: 'pg.db', masterKeyFile: 'old.key' }, { file: 'new.key' }] });
    expect(r.stdout).toBe('k-sig  re-encrypted from master key 1111111111111111 to 2222222222222222\nk-enc  re-encrypted from master key 1111111111111111 to 2222222222222222\n');
    expect(r.stderr).toContain('re-encrypted 2 DS private keys from master key 1111111111111111 to master key 2222222222222222');
    expect(r.stderr).toContain('DS now starts only with the new master key 2222222222222222: put it in /srv/ds/data/master.key (install -m 600 <new key file> /srv/ds/data/master.key) before starting DS');
    expect(r.stderr).toContain('keep the old master key 1111111111111111 as long as you keep backups made before now');
    expect(r.requests).toEqual([]);
  });

  it('reads the new key from stdin with --new-key-stdin, and --json prints the result', async () => {
    const server = fakeServer(async () => ({ ...result, keySource: { kind: 'env', description: 'DS_MASTER_KEY' }, warnings: ['the new key file x can be read by other users'] }));
    const key = 'A'.repeat(43) + '=';
    const r = await runDs(['keys', 'rekey', '--new-key-stdin', '--yes', '--json'], { stdin: `${key}\n`, overrides: { loadServer: async () => server.module } });
    expect(r.code).toBe(0);
    expect(server.calls[1]!.args[1]).toEqual({ text: key, source: 'the new key from stdin' });
    expect(JSON.parse(r.stdout)).toMatchObject({ reencrypted: ['k-sig', 'k-enc'], to: { id: '2222222222222222' } });
    expect(r.stderr).toContain('warning: the new key file x can be read by other users');
    expect(r.stderr).toContain('set DS_MASTER_KEY (or DS_MASTER_KEY_FILE) of every DS process to it');
    expect(r.stdout + r.stderr).not.toContain(key);
  });

  it('needs exactly one source of the new key, and --yes when not interactive', async () => {
    const server = fakeServer();
    for (const args of [[], ['--new-key-file', 'a', '--new-key-stdin']]) {
      const r = await runDs(['keys', 'rekey', '--yes', ...args], { overrides: { loadServer: async () => server.module } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('give the new master key with --new-key-file <file> or --new-key-stdin (one of them)');
    }
    const r = await runDs(['keys', 'rekey', '--new-key-file', 'new.key'], { overrides: { loadServer: async () => server.module } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing to re-encrypt the DS private keys of \.\/data\/ds\.db under a new master key .*pass --yes/);
    expect(server.calls.some((c) => c.fn === 'rekeyDatabase')).toBe(false);
  });

  it('a wrong current key is an error naming both keys, exit code 1', async () => {
    const server = fakeServer(async () => {
      throw new Error("this database's DS private keys are encrypted under master key 1111111111111111; DS_MASTER_KEY holds master key 3333333333333333.");
    });
    const r = await runDs(['keys', 'rekey', '--new-key-file', 'new.key', '--yes'], { overrides: { loadServer: async () => server.module } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: this database\'s DS private keys are encrypted under master key 1111111111111111; DS_MASTER_KEY holds master key 3333333333333333.');
    expect(r.stdout).toBe('');
  });

  it('says when there was nothing to do', async () => {
    const server = fakeServer(async () => ({ ...result, reencrypted: [], unchanged: ['k-sig', 'k-enc'], from: null }));
    const r = await runDs(['keys', 'rekey', '--new-key-file', 'new.key', '--yes'], { overrides: { loadServer: async () => server.module } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('nothing to do: every DS key is already under master key 2222222222222222');
    expect(r.stdout).toContain('k-sig  already under master key 2222222222222222');
  });
});
