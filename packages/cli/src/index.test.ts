import { afterEach, describe, expect, it } from 'vitest';
import { fail, ok, organization, page, removeTempDirs, runDs } from './test/harness.js';

afterEach(removeTempDirs);

class ExitPromptError extends Error {
  override name = 'ExitPromptError';
}

describe('exit codes', () => {
  it('is 0 on success', async () => {
    const r = await runDs(['org', 'get', 'acme', '--json'], { routes: { 'GET /admin/organizations/acme': () => ok(organization('acme')) } });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('is 1 on a server error, printing code, description and request id to stderr', async () => {
    const r = await runDs(['org', 'get', 'acme'], {
      routes: { 'GET /admin/organizations/acme': () => fail(500, 'INTERNAL_ERROR', 'Internal error', 'req-42') },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('error: INTERNAL_ERROR: Internal error (request req-42)\n');
  });

  it('is 1 when DS cannot be reached', async () => {
    const r = await runDs(['org', 'list'], {
      overrides: {
        fetch: async () => {
          throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:3000') });
        },
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: NETWORK_ERROR: cannot reach DS at http://127.0.0.1:3000: connect ECONNREFUSED');
  });

  it('is 4 when the server answers 401', async () => {
    const r = await runDs(['org', 'list'], { routes: { 'GET /admin/organizations': () => fail(401, 'TOKEN_EXPIRED', 'The token has expired') } });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^error: TOKEN_EXPIRED: The token has expired \(request req-1\)\nhint: .*ds login/);
  });

  it('is 4 without sending anything when no token is configured', async () => {
    const r = await runDs(['org', 'list'], { env: { DS_TOKEN: undefined } });
    expect(r.code).toBe(4);
    expect(r.requests).toEqual([]);
    expect(r.stderr).toContain('error: not logged in');
  });

  it('is 2 when the user answers no at a confirmation', async () => {
    const r = await runDs(['org', 'delete', 'acme'], { terminal: true, answers: [false] });
    expect(r.code).toBe(2);
    expect(r.prompts.map((p) => p.kind)).toEqual(['confirm']);
    expect(r.find('DELETE', '/admin/organizations/acme')).toEqual([]);
  });

  it('is 2 when a prompt is interrupted (Ctrl-C)', async () => {
    const r = await runDs(['label', 'create', 'app'], {
      terminal: true,
      answers: [new ExitPromptError('User force closed the prompt')],
      routes: { 'GET /admin/organizations': () => page([organization('acme')]) },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: cancelled\n');
  });

  it('is 1 on a usage error, reported by commander', async () => {
    const r = await runDs(['org', 'list', '--json', '--csv']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("option '--json' cannot be used with option '--csv'");
    expect(r.requests).toEqual([]);
  });

  it('is 0 for --help and --version, printed on stdout', async () => {
    const help = await runDs(['org', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('list|ls');
    const version = await runDs(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('prints the version after global options, but leaves --version after a command to that command', async () => {
    const version = await runDs(['--url', 'http://x.example', '--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const unknown = await runDs(['org', 'list', '--version']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown option '--version'");
  });
});

describe('global options', () => {
  it('accepts --url and --token after the subcommand, over DS_URL and DS_TOKEN', async () => {
    const r = await runDs(['org', 'list', '--url', 'http://flag.example:1234', '--token', 'tok-flag', '--json'], {
      env: { DS_URL: 'http://env.example', DS_TOKEN: 'tok-env' },
      routes: { 'GET /admin/organizations': () => page([]) },
    });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.url).toMatch(/^http:\/\/flag\.example:1234\/v3_5\/admin\/organizations/);
    expect(r.requests[0]!.authorization).toBe('Bearer tok-flag');
  });
});

describe('interactivity', () => {
  it.each<[string, { terminal: boolean; env?: NodeJS.ProcessEnv; argv?: string[] }]>([
    ['CI is set', { terminal: true, env: { CI: 'true' } }],
    ['there is no terminal', { terminal: false }],
    ['--yes is given', { terminal: true, argv: ['--yes'] }],
  ])('never prompts when %s, and names the missing flag', async (_why, setup) => {
    const r = await runDs(['label', 'create', 'app', ...(setup.argv ?? [])], { terminal: setup.terminal, env: setup.env ?? {} });
    expect(r.code).toBe(1);
    expect(r.prompts).toEqual([]);
    expect(r.stderr).toBe('error: missing --org (no prompt: not interactive)\n');
    expect(r.requests).toEqual([]);
  });
});
