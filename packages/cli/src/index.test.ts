import { join } from 'node:path';
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

describe('--json errors', () => {
  const envelope = (r: { stderr: string }) => {
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]!);
  };

  it('writes DS’s error envelope as one JSON line on stderr, with the same exit code', async () => {
    const r = await runDs(['org', 'get', 'acme', '--json'], {
      routes: { 'GET /admin/organizations/acme': () => fail(404, 'NOT_FOUND', 'organization acme does not exist', 'req-7') },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(envelope(r)).toEqual({ success: false, code: 'NOT_FOUND', description: 'organization acme does not exist', requestId: 'req-7' });
  });

  it('keeps DS’s details, and exit code 4 for a 401', async () => {
    const r = await runDs(['org', 'list', '--json'], {
      routes: {
        'GET /admin/organizations': () => ({
          status: 401,
          body: { success: false, code: 'TOKEN_EXPIRED', description: 'The token has expired', requestId: 'req-8', details: { at: 'x' } },
        }),
      },
    });
    expect(r.code).toBe(4);
    expect(envelope(r)).toEqual({
      success: false,
      code: 'TOKEN_EXPIRED',
      description: 'The token has expired',
      requestId: 'req-8',
      details: { at: 'x' },
      hint: 'log in with `ds login` (or set DS_TOKEN)',
    });
  });

  it.each<[string, string[], Parameters<typeof runDs>[1], number, Record<string, unknown>]>([
    [
      'no credential for the URL (nothing sent)',
      ['org', 'list', '--json'],
      { env: { DS_TOKEN: undefined } },
      4,
      { code: 'NOT_AUTHENTICATED', description: 'not logged in to http://127.0.0.1:3000 (profile "default")' },
    ],
    [
      'DS cannot be reached',
      ['org', 'list', '--json'],
      {
        overrides: {
          fetch: async () => {
            throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:3000') });
          },
        },
      },
      1,
      { code: 'NETWORK_ERROR', description: 'cannot reach DS at http://127.0.0.1:3000: connect ECONNREFUSED 127.0.0.1:3000' },
    ],
    ['a flag that is missing', ['label', 'create', 'app', '--json'], {}, 1, { code: 'USAGE', description: 'missing --org (no prompt: not interactive)' }],
    ['a usage error commander finds', ['org', 'list', '--json', '--limit', 'x'], {}, 1, { code: 'USAGE' }],
    ['an unknown option', ['org', 'list', '--json', '--nope'], {}, 1, { code: 'USAGE', description: "unknown option '--nope'" }],
    ['a destructive command without --yes', ['org', 'delete', 'acme', '--json'], {}, 1, { code: 'USAGE' }],
    [
      'a create that finds the object',
      ['org', 'create', 'acme', '--json'],
      { routes: { 'GET /admin/organizations/acme': () => ok(organization('acme')) } },
      1,
      { code: 'CONFLICT', description: 'organization "acme" already exists', hint: 'change it with `ds org update acme --description ...`' },
    ],
    [
      'dependants, with DS’s request id and details',
      ['org', 'delete', 'acme', '--yes', '--json'],
      {
        routes: {
          'DELETE /admin/organizations/acme': () => ({
            status: 409,
            body: { success: false, code: 'HAS_DEPENDANTS', description: 'acme has 2 labels', requestId: 'r9', details: { dependants: { labels: 2 } } },
          }),
        },
      },
      1,
      { code: 'HAS_DEPENDANTS', description: 'acme has 2 labels', requestId: 'r9', details: { dependants: { labels: 2 } }, hint: 'to delete it anyway: ds org delete acme --force' },
    ],
  ])('%s', async (_what, argv, options, code, expected) => {
    const r = await runDs(argv, options);
    expect(r.code).toBe(code);
    expect(envelope(r)).toMatchObject({ success: false, requestId: null, ...expected });
  });

  it('without --json errors stay lines for people', async () => {
    const r = await runDs(['org', 'list', '--nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: unknown option '--nope'");
    expect(() => JSON.parse(r.stderr)).toThrow();
  });

  it('--json after -- is an argument, not the format', async () => {
    const r = await runDs(['org', 'get', '--', '--json'], { routes: { 'GET /admin/organizations/--json': () => fail(404, 'NOT_FOUND', 'nope') } });
    expect(r.stderr).toMatch(/^error: NOT_FOUND: nope/);
  });
});

describe('ds --help and every command’s help', () => {
  it('has an Examples: section in every command’s help, and the global options', async () => {
    const { buildProgram } = await import('./index.js');
    const { allCommands, commandPath } = await import('./lib/examples.js');
    const { Context, defaultContextOptions } = await import('./lib/context.js');
    const commands = allCommands(buildProgram(new Context(defaultContextOptions())));
    expect(commands.length).toBeGreaterThan(60);
    const missing: string[] = [];
    for (const command of commands) {
      const path = commandPath(command);
      const r = await runDs([...(path ? path.split(' ') : []), '--help']);
      expect(r.code).toBe(0);
      if (!/\nExamples:\n {2}\$ ds /.test(r.stdout) && !/\nExamples:\n {2}\$ source <\(ds /.test(r.stdout)) missing.push(path || '(ds)');
      expect(r.stdout.match(/\nExamples:\n/g)?.length ?? 0, `${path || 'ds'} --help: one Examples section`).toBeLessThanOrEqual(1);
      if (path) for (const option of ['--url <url>', '--profile <name>', '--yes']) expect(r.stdout, `${path} --help`).toContain(option);
      if (command.options.some((o) => o.long === '--json')) expect(r.stdout).toContain('--json');
    }
    expect(missing).toEqual([]);
  });

  it('every example names a real command and only options it (or ds) has', async () => {
    const { buildProgram } = await import('./index.js');
    const { EXAMPLES, allCommands, commandPath } = await import('./lib/examples.js');
    const { Context, defaultContextOptions } = await import('./lib/context.js');
    const program = buildProgram(new Context(defaultContextOptions()));
    const byPath = new Map(allCommands(program).map((c) => [commandPath(c), c]));
    const globals = program.options.flatMap((o) => [o.short, o.long]);
    const problems: string[] = [];
    for (const [path, examples] of Object.entries(EXAMPLES)) {
      if (!byPath.has(path)) problems.push(`no command "${path}"`);
      for (const example of examples) {
        // `ds ...` up to a comment, pipe, redirection or next command; `source <(ds ...)` as well.
        const words = (/(?:^|[\s(])ds((?: [^#|<>()&;]*)?)/.exec(example)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
        let command = program;
        let i = 0;
        for (; i < words.length; i++) {
          const next = command.commands.find((c) => c.name() === words[i] || c.aliases().includes(words[i]!));
          if (!next) break;
          command = next;
        }
        if (!commandPath(command).startsWith(path)) problems.push(`${path}: "${example}" runs ${commandPath(command) || 'ds'}`);
        for (const word of words.slice(i).filter((w) => w.startsWith('-'))) {
          const flag = word.split('=')[0]!;
          const known = [...command.options.flatMap((o) => [o.short, o.long]), ...globals, '--help'];
          if (!known.includes(flag)) problems.push(`${path}: "${example}": ${commandPath(command)} has no ${flag}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('ds about', () => {
  it('prints the version of ds, Node.js and where it would connect, without a request', async () => {
    const r = await runDs(['about', '--json'], { env: { DS_URL: 'http://ds.example:8080/' } });
    expect(r.code).toBe(0);
    expect(r.requests).toEqual([]);
    expect(JSON.parse(r.stdout)).toEqual({
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      configFile: join(r.configHome, 'ds', 'config.json'),
      profile: 'default',
      url: 'http://ds.example:8080',
    });
    const table = await runDs(['about']);
    expect(table.stdout).toMatch(/ds\s+│\s+\d+\.\d+\.\d+/);
  });

  it('is listed in ds --help, with what --version prints', async () => {
    const r = await runDs(['--help']);
    expect(r.stdout).toMatch(/\n {2}about\b.*version/);
    expect(r.stdout).toMatch(/-V, --version\s+print the version of ds/);
  });
});
