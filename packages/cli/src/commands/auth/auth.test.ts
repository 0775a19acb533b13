import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fail, ok, removeTempDirs, runDs, tempDir } from '../../test/harness.js';

afterEach(removeTempDirs);

const loginRoute = {
  'POST /admin/auth/login': (r: { body: unknown }) => {
    const { username, password } = r.body as { username: string; password: string };
    return username === 'admin' && password === 'correct horse battery'
      ? ok({ token: 'ds_ses_new', expiresAt: '2025-01-03T00:00:00.000Z' })
      : fail(401, 'INVALID_CREDENTIALS', 'Wrong username or password');
  },
};

async function readProfileFile(configHome: string) {
  const path = join(configHome, 'ds', 'config.json');
  return { json: JSON.parse(await readFile(path, 'utf8')), mode: (await stat(path)).mode & 0o777 };
}

describe('ds login', () => {
  it('asks URL, username and password on a terminal and stores the session 0600', async () => {
    const r = await runDs(['login'], {
      terminal: true,
      env: { DS_TOKEN: undefined },
      answers: ['http://ds.example:3000', 'admin', 'correct horse battery'],
      routes: loginRoute,
    });
    expect(r.code).toBe(0);
    expect(r.prompts.map((p) => [p.kind, p.message])).toEqual([
      ['input', 'DS URL'],
      ['input', 'Username'],
      ['password', 'Password'],
    ]);
    expect((r.prompts[0]!.options as { default: string }).default).toBe('http://127.0.0.1:3000');
    expect(r.requests[0]!.url).toBe('http://ds.example:3000/v3_5/admin/auth/login');
    const { json, mode } = await readProfileFile(r.configHome);
    expect(mode).toBe(0o600);
    expect(json).toEqual({
      current: 'default',
      profiles: { default: { url: 'http://ds.example:3000', token: 'ds_ses_new', username: 'admin', expiresAt: '2025-01-03T00:00:00.000Z' } },
    });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('logged in to http://ds.example:3000 as admin');
  });

  it('reads the password from stdin and never prompts when not interactive', async () => {
    const r = await runDs(['login', '--url', 'http://ds.example', '--password-stdin'], {
      env: { DS_TOKEN: undefined, CI: '1' },
      terminal: true,
      stdin: 'correct horse battery\n',
      routes: loginRoute,
    });
    expect(r.code).toBe(0);
    expect(r.prompts).toEqual([]);
    expect(r.requests[0]!.body).toEqual({ username: 'admin', password: 'correct horse battery' });
    expect((await readProfileFile(r.configHome)).json.profiles.default.token).toBe('ds_ses_new');
  });

  it('without a terminal and without --password-stdin names the flag', async () => {
    const r = await runDs(['login'], { env: { DS_TOKEN: undefined }, routes: loginRoute });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: missing --password-stdin (no prompt: not interactive)\n');
    expect(r.requests).toEqual([]);
  });

  it('exits 4 on a wrong password and stores nothing', async () => {
    const r = await runDs(['login', '--password-stdin'], { env: { DS_TOKEN: undefined }, stdin: 'wrong\n', routes: loginRoute });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('error: INVALID_CREDENTIALS: Wrong username or password');
    await expect(readProfileFile(r.configHome)).rejects.toThrow(/ENOENT/);
  });

  it('stores into the profile named by --profile and the next command uses it', async () => {
    const configHome = await tempDir();
    const login = await runDs(['login', '--profile', 'staging', '--url', 'http://staging.example', '--password-stdin'], {
      configHome,
      env: { DS_TOKEN: undefined },
      stdin: 'correct horse battery',
      routes: loginRoute,
    });
    expect(login.code).toBe(0);
    const who = await runDs(['whoami', '--json'], {
      configHome,
      env: { DS_TOKEN: undefined, DS_PROFILE: 'staging' },
      routes: {
        'GET /admin/auth/whoami': () =>
          ok({ username: 'admin', role: 'admin', organization: null, credential: 'session', tokenName: null, scopes: ['orgs:read'], expiresAt: null }),
      },
    });
    expect(who.code).toBe(0);
    expect(who.requests[0]!.url).toBe('http://staging.example/v3_5/admin/auth/whoami');
    expect(who.requests[0]!.authorization).toBe('Bearer ds_ses_new');
    expect(JSON.parse(who.stdout)).toMatchObject({ username: 'admin', credential: 'session' });
  });
});

describe('ds logout', () => {
  it('removes the token from the profile even when the session had expired (401)', async () => {
    const configHome = await tempDir();
    await runDs(['login', '--url', 'http://ds.example', '--password-stdin'], {
      configHome,
      env: { DS_TOKEN: undefined },
      stdin: 'correct horse battery',
      routes: loginRoute,
    });
    const r = await runDs(['logout'], {
      configHome,
      env: { DS_TOKEN: undefined },
      routes: { 'POST /admin/auth/logout': () => fail(401, 'TOKEN_EXPIRED', 'The token has expired') },
    });
    expect(r.code).toBe(0);
    expect(r.find('POST', '/admin/auth/logout')).toHaveLength(1);
    const { json, mode } = await readProfileFile(configHome);
    expect(mode).toBe(0o600);
    expect(json.profiles.default).toEqual({ url: 'http://ds.example', username: 'admin' });
  });

  it('keeps the token when the server fails otherwise', async () => {
    const configHome = await tempDir();
    await runDs(['login', '--url', 'http://ds.example', '--password-stdin'], {
      configHome,
      env: { DS_TOKEN: undefined },
      stdin: 'correct horse battery',
      routes: loginRoute,
    });
    const r = await runDs(['logout'], {
      configHome,
      env: { DS_TOKEN: undefined },
      routes: { 'POST /admin/auth/logout': () => fail(503, 'DATABASE_UNAVAILABLE', 'The database cannot be reached') },
    });
    expect(r.code).toBe(1);
    expect((await readProfileFile(configHome)).json.profiles.default.token).toBe('ds_ses_new');
  });
});

describe('ds whoami', () => {
  it('prints a table of who the credential belongs to', async () => {
    const r = await runDs(['whoami'], {
      routes: {
        'GET /admin/auth/whoami': () =>
          ok({
            username: 'ci',
            role: 'admin',
            organization: 'acme',
            credential: 'api-token',
            tokenName: 'release',
            scopes: ['versions:read', 'versions:write'],
            expiresAt: '2026-01-01T00:00:00.000Z',
          }),
      },
    });
    expect(r.code).toBe(0);
    for (const text of ['ci', 'acme', 'api-token "release"', 'versions:read, versions:write', '2026-01-01T00:00:00.000Z']) {
      expect(r.stdout).toContain(text);
    }
  });
});
