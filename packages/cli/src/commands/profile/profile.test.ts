import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fail, ok, page, removeTempDirs, runDs, tempDir, type Seen } from '../../test/harness.js';

afterEach(removeTempDirs);

// Credentials belong to the DS that issued them: a stored session is only ever sent to its URL.

const whoamiOf = (r: Seen) => ok({ username: r.authorization === 'Bearer ds_ses_staging' ? 'stager' : 'admin', role: 'admin', organization: null, credential: 'session', tokenName: null, scopes: [], expiresAt: null });
const routes = {
  'POST /admin/auth/login': (r: Seen) => ok({ token: r.url.includes('staging') ? 'ds_ses_staging' : 'ds_ses_prod', expiresAt: '2099-01-01T00:00:00.000Z' }),
  'POST /admin/auth/logout': () => ok(null),
  'GET /admin/auth/whoami': whoamiOf,
  'GET /admin/organizations': () => page([]),
};
const noToken = { DS_TOKEN: undefined };

/** A config folder where `ds login` stored prod (the current profile) and, when asked, staging. */
async function loggedIn(options: { staging?: boolean } = {}) {
  const configHome = await tempDir();
  const login = (argv: string[]) => runDs(['login', ...argv, '--password-stdin'], { configHome, env: noToken, stdin: 'pw\n', routes });
  expect((await login(['--url', 'http://prod.example:3000'])).code).toBe(0);
  if (options.staging) {
    expect((await login(['--url', 'https://staging.example', '--profile', 'staging'])).code).toBe(0);
    expect((await runDs(['profile', 'use', 'default'], { configHome, env: noToken })).code).toBe(0);
  }
  return configHome;
}

async function readConfig(configHome: string) {
  const path = join(configHome, 'ds', 'config.json');
  return { json: JSON.parse(await readFile(path, 'utf8')), mode: (await stat(path)).mode & 0o777 };
}

describe('a stored session goes only to the DS that issued it', () => {
  it.each<[string, string[], NodeJS.ProcessEnv]>([
    ['--url', ['--url', 'http://other-host:3000'], {}],
    ['DS_URL', [], { DS_URL: 'http://other-host:3000' }],
    ['another port', ['--url', 'http://prod.example:3001'], {}],
    ['another scheme', ['--url', 'https://prod.example:3000'], {}],
    ['a path below it', ['--url', 'http://prod.example:3000/other'], {}],
  ])('%s naming another DS sends nothing and exits 4 saying how to log in there', async (_what, argv, env) => {
    const configHome = await loggedIn();
    const r = await runDs(['org', 'list', ...argv], { configHome, env: { ...noToken, ...env }, routes });
    expect(r.code).toBe(4);
    expect(r.requests).toEqual([]);
    const url = (argv[1] ?? env.DS_URL)!;
    expect(r.stderr).toBe(
      `error: not logged in to ${url} (profile "default" is logged in to http://prod.example:3000; its token goes nowhere else)\n` +
        `hint: ds login --url ${url} [--profile <name>], or pass --token / set DS_TOKEN\n`,
    );
  });

  it.each(['http://prod.example:3000', 'HTTP://Prod.Example:3000/', 'http://prod.example:3000//'])('%s is the same DS: the session is sent', async (url) => {
    const configHome = await loggedIn();
    const r = await runDs(['org', 'list', '--json', '--url', url], { configHome, env: noToken, routes });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.url).toMatch(/^http:\/\/prod\.example:3000\/v3_5\/admin\/organizations\?/);
    expect(r.requests[0]!.authorization).toBe('Bearer ds_ses_prod');
  });

  it('uses the session of the profile logged in to the DS --url names, when no profile was named', async () => {
    const configHome = await loggedIn({ staging: true });
    const r = await runDs(['whoami', '--json', '--url', 'https://staging.example'], { configHome, env: noToken, routes });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.authorization).toBe('Bearer ds_ses_staging');
    const table = await runDs(['whoami', '--url', 'https://staging.example'], { configHome, env: noToken, routes });
    expect(table.stdout).toMatch(/profile\s+│\s+staging \(token from profile\)/);
  });

  it('never sends a named profile’s session to another DS', async () => {
    const configHome = await loggedIn({ staging: true });
    const r = await runDs(['org', 'list', '--profile', 'default', '--url', 'https://staging.example'], { configHome, env: noToken, routes });
    expect(r.code).toBe(4);
    expect(r.requests).toEqual([]);
    expect(r.stderr).toContain('not logged in to https://staging.example (profile "default" is logged in to http://prod.example:3000');
  });

  it('asks which profile when several are logged in to the DS named', async () => {
    const configHome = await loggedIn();
    await runDs(['login', '--url', 'https://staging.example', '--profile', 'a', '--password-stdin'], { configHome, env: noToken, stdin: 'pw', routes });
    await runDs(['login', '--url', 'https://staging.example', '--profile', 'b', '--password-stdin'], { configHome, env: noToken, stdin: 'pw', routes });
    await runDs(['profile', 'use', 'default'], { configHome, env: noToken });
    const r = await runDs(['org', 'list', '--url', 'https://staging.example'], { configHome, env: noToken, routes });
    expect(r.code).toBe(4);
    expect(r.requests).toEqual([]);
    expect(r.stderr).toContain('(profiles "a", "b" are all logged in to it)');
    expect(r.stderr).toContain('hint: choose one with --profile <name>');
  });

  it('sends a token given with --token or DS_TOKEN wherever the URL says: the user chose both', async () => {
    const configHome = await loggedIn();
    const flag = await runDs(['org', 'list', '--url', 'http://other-host', '--token', 'ds_adm_given'], { configHome, env: noToken, routes });
    const env = await runDs(['org', 'list'], { configHome, env: { DS_URL: 'http://other-host', DS_TOKEN: 'ds_adm_env' }, routes });
    expect(flag.requests[0]!.authorization).toBe('Bearer ds_adm_given');
    expect(env.requests[0]!.authorization).toBe('Bearer ds_adm_env');
    expect(env.requests[0]!.url).toMatch(/^http:\/\/other-host\/v3_5\//);
  });

  it.each([
    ['http://admin:pw@ds.example', 'must not carry a user name or password (log in with ds login)', 'http://…@ds.example'],
    ['http://ds.example/?x=http://prod.example:3000', 'must not have a query or a fragment'],
    ['ftp://ds.example', 'must be an http(s) URL'],
    ['ds.example', 'must be a URL such as http://127.0.0.1:3000'],
  ])('refuses --url %s before sending anything', async (url, problem, shown = url) => {
    const r = await runDs(['org', 'list', '--url', url], { env: noToken, routes });
    expect(r.code).toBe(1);
    expect(r.requests).toEqual([]);
    expect(r.stderr).toBe(`error: --url ${shown}: ${problem}\n`);
  });

  it('reads profile files of earlier versions: URLs as typed, a token without a URL (the default one)', async () => {
    const configHome = await tempDir();
    await mkdir(join(configHome, 'ds'), { recursive: true });
    await writeFile(
      join(configHome, 'ds', 'config.json'),
      JSON.stringify({ current: 'old', profiles: { old: { url: 'HTTP://Prod.Example:3000/', token: 'ds_ses_old', username: 'admin' }, bare: { token: 'ds_ses_bare' } } }),
    );
    const same = await runDs(['org', 'list', '--json', '--url', 'http://prod.example:3000'], { configHome, env: noToken, routes });
    expect(same.requests[0]!.authorization).toBe('Bearer ds_ses_old');
    const bare = await runDs(['org', 'list', '--json', '--profile', 'bare'], { configHome, env: noToken, routes });
    expect(bare.requests[0]!.url).toMatch(/^http:\/\/127\.0\.0\.1:3000\//);
    expect(bare.requests[0]!.authorization).toBe('Bearer ds_ses_bare');
    const elsewhere = await runDs(['org', 'list', '--profile', 'bare', '--url', 'http://other-host'], { configHome, env: noToken, routes });
    expect(elsewhere.requests).toEqual([]);
    // The next change writes the file in today's form, still 0600.
    await runDs(['profile', 'use', 'bare'], { configHome, env: noToken });
    const { json, mode } = await readConfig(configHome);
    expect(mode).toBe(0o600);
    expect(json.profiles).toEqual({
      old: { url: 'http://prod.example:3000', token: 'ds_ses_old', username: 'admin' },
      bare: { url: 'http://127.0.0.1:3000', token: 'ds_ses_bare' },
    });
  });
});

describe('ds login and profiles', () => {
  it('--profile stores the session there, bound to its URL, and switches to it', async () => {
    const configHome = await loggedIn();
    const r = await runDs(['login', '--url', 'https://staging.example/', '--profile', 'staging', '--password-stdin'], { configHome, env: noToken, stdin: 'pw', routes });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('logged in to https://staging.example as admin (profile "staging"');
    expect(r.stderr).toContain('switched from profile "default" to "staging" (back with: ds profile use default)');
    const { json } = await readConfig(configHome);
    expect(json.current).toBe('staging');
    expect(json.profiles.staging).toEqual({ url: 'https://staging.example', token: 'ds_ses_staging', username: 'admin', expiresAt: '2099-01-01T00:00:00.000Z' });
    expect(json.profiles.default.token).toBe('ds_ses_prod');
    const next = await runDs(['whoami', '--json'], { configHome, env: noToken, routes });
    expect(next.requests[0]!.url).toBe('https://staging.example/v3_5/admin/auth/whoami');
    expect(next.requests[0]!.authorization).toBe('Bearer ds_ses_staging');
  });

  it('without --profile, logging in to a second DS makes a profile named after its host and keeps the first', async () => {
    const configHome = await loggedIn();
    const r = await runDs(['login', '--url', 'https://staging.example', '--password-stdin'], { configHome, env: noToken, stdin: 'pw', routes });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('(profile "staging.example"');
    const { json } = await readConfig(configHome);
    expect(Object.keys(json.profiles).sort()).toEqual(['default', 'staging.example']);
    expect(json.profiles.default).toMatchObject({ url: 'http://prod.example:3000', token: 'ds_ses_prod' });
    // Logging in there again uses that profile.
    await runDs(['profile', 'use', 'default'], { configHome, env: noToken });
    await runDs(['login', '--url', 'https://staging.example', '--password-stdin'], { configHome, env: noToken, stdin: 'pw', routes });
    expect(Object.keys((await readConfig(configHome)).json.profiles).sort()).toEqual(['default', 'staging.example']);
  });

  it('ds profile list shows each profile’s URL, user, session and the current one, never a token', async () => {
    const configHome = await loggedIn({ staging: true });
    const table = await runDs(['profile', 'list'], { configHome, env: noToken });
    expect(table.code).toBe(0);
    expect(table.requests).toEqual([]);
    expect(table.stdout).toMatch(/│ \* +│ default +│ http:\/\/prod\.example:3000 +│ admin +│ active +│ 2099-01-01T00:00:00\.000Z/);
    expect(table.stdout).toMatch(/│ +│ staging +│ https:\/\/staging\.example +│ admin +│ active/);
    const json = await runDs(['profile', 'list', '--json'], { configHome, env: noToken });
    expect(JSON.parse(json.stdout)).toEqual([
      { name: 'default', url: 'http://prod.example:3000', username: 'admin', session: 'active', expiresAt: '2099-01-01T00:00:00.000Z', current: true },
      { name: 'staging', url: 'https://staging.example', username: 'admin', session: 'active', expiresAt: '2099-01-01T00:00:00.000Z', current: false },
    ]);
    for (const r of [table, json]) expect(r.stdout).not.toContain('ds_ses_');
  });

  it('ds profile use switches, and names the profiles there are when it does not know one', async () => {
    const configHome = await loggedIn({ staging: true });
    const use = await runDs(['profile', 'use', 'staging'], { configHome, env: noToken });
    expect(use.code).toBe(0);
    expect(use.stderr).toBe('now using profile "staging" (https://staging.example, admin)\n');
    const who = await runDs(['whoami', '--json'], { configHome, env: noToken, routes });
    expect(who.requests[0]!.authorization).toBe('Bearer ds_ses_staging');
    const unknown = await runDs(['profile', 'use', 'prod'], { configHome, env: noToken });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('error: no profile "prod"\nhint: the profiles are "default", "staging"; `ds login --profile prod --url <url>` makes one\n');
  });

  it('ds profile show shows the profile in effect for the URL, without its token', async () => {
    const configHome = await loggedIn({ staging: true });
    const r = await runDs(['profile', 'show', '--json', '--url', 'https://staging.example'], { configHome, env: noToken });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ name: 'staging', url: 'https://staging.example', username: 'admin', session: 'active', expiresAt: '2099-01-01T00:00:00.000Z', current: false });
    const named = await runDs(['profile', 'show', 'default'], { configHome, env: noToken });
    expect(named.stdout).toMatch(/url\s+│ http:\/\/prod\.example:3000/);
    expect(named.stdout).not.toContain('ds_ses_');
  });

  it('ds profile delete ends the session on its own DS, then removes the profile', async () => {
    const configHome = await loggedIn({ staging: true });
    const refused = await runDs(['profile', 'delete', 'staging'], { configHome, env: noToken, routes });
    expect(refused.code).toBe(1);
    expect(refused.requests).toEqual([]);
    const r = await runDs(['profile', 'delete', 'staging', '--yes'], { configHome, env: noToken, routes });
    expect(r.code).toBe(0);
    expect(r.requests.map((q) => [q.method, q.url, q.authorization])).toEqual([['POST', 'https://staging.example/v3_5/admin/auth/logout', 'Bearer ds_ses_staging']]);
    const { json } = await readConfig(configHome);
    expect(Object.keys(json.profiles)).toEqual(['default']);
    expect(json.current).toBe('default');
  });

  it('ds profile delete of the current profile still removes it when its session had ended', async () => {
    const configHome = await loggedIn();
    const r = await runDs(['profile', 'delete', 'default', '--yes'], {
      configHome,
      env: noToken,
      routes: { 'POST /admin/auth/logout': () => fail(401, 'TOKEN_EXPIRED', 'The token has expired') },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('there is no current profile now');
    expect(await readConfig(configHome).then((c) => c.json)).toEqual({ profiles: {} });
  });
});
