import { afterEach, describe, expect, it } from 'vitest';
import type { ServerConfig, ServerConfigOverrides, ServerModule } from '../../lib/server-api.js';
import { removeTempDirs, runDs } from '../../test/harness.js';

afterEach(removeTempDirs);

/** A stand-in for @ds/server that records how it was called. */
function fakeServer(options: { initialAdminPassword?: string | null; created?: boolean; generatedPassword?: string | null } = {}) {
  const calls: { fn: string; args: unknown[] }[] = [];
  let closed = 0;
  const module: ServerModule = {
    loadConfig(env: NodeJS.ProcessEnv, overrides: ServerConfigOverrides = {}, names: Partial<Record<keyof ServerConfigOverrides, string>> = {}) {
      calls.push({ fn: 'loadConfig', args: [env, overrides, names] });
      const port = overrides.port ?? (env.PORT ? Number(env.PORT) : 3000);
      if (Number.isNaN(port)) throw new Error('invalid configuration: PORT: expected number');
      const workers = overrides.workers ?? (env.DS_WORKERS ? Number(env.DS_WORKERS) : 1);
      return { port, workers, databaseUrl: overrides.databaseUrl ?? env.DATABASE_URL ?? './data/ds.db', publicUrl: 'http://pub.example' } as unknown as ServerConfig;
    },
    async startServers(config, opts) {
      calls.push({ fn: 'startServers', args: [config, opts] });
      return { url: `http://127.0.0.1:${config.port}`, publicUrl: config.publicUrl, initialAdminPassword: null, close: async () => void closed++ };
    },
    async startServer(config, opts) {
      calls.push({ fn: 'startServer', args: [config, opts] });
      return {
        url: `http://127.0.0.1:${config.port}`,
        publicUrl: config.publicUrl,
        initialAdminPassword: options.initialAdminPassword ?? null,
        close: async () => {
          closed++;
        },
      };
    },
    async initDs(config, opts) {
      calls.push({ fn: 'initDs', args: [config, opts] });
      return { created: options.created ?? true, generatedPassword: options.generatedPassword ?? null };
    },
    async migrateDatabase(config) {
      calls.push({ fn: 'migrateDatabase', args: [config] });
      return ['0001-initial', '0002-counters'];
    },
    async backupDatabase(config, file) {
      calls.push({ fn: 'backupDatabase', args: [config, file] });
      return { path: `/abs/${file}`, bytes: 2048 };
    },
  };
  return { module, calls, closed: () => closed };
}

describe('ds serve', () => {
  it('lets flags override the environment, prints the URL and the first password, and closes on a signal', async () => {
    const server = fakeServer({ initialAdminPassword: 'generated-secret' });
    let fire: ((signal: NodeJS.Signals) => void) | undefined;
    let removed = false;
    const done = runDs(['serve', '--port', '8080', '--database', 'flag.db', '--log-level', 'warn'], {
      env: { PORT: '9999', DATABASE_URL: 'env.db' },
      overrides: {
        loadServer: async () => server.module,
        onSignal: (handler) => {
          fire = handler;
          return () => {
            removed = true;
          };
        },
      },
    });
    await until(() => server.calls.some((c) => c.fn === 'startServer'));
    expect(server.closed()).toBe(0);
    fire!('SIGTERM');
    const r = await done;
    expect(r.code).toBe(0);
    expect(server.closed()).toBe(1);
    expect(removed).toBe(true);
    const [env, overrides] = server.calls[0]!.args as [NodeJS.ProcessEnv, ServerConfigOverrides];
    expect(env.PORT).toBe('9999');
    expect(overrides).toEqual({ port: 8080, databaseUrl: 'flag.db', logLevel: 'warn' });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('listening on http://127.0.0.1:8080');
    expect(r.stderr).toContain('generated-secret');
    expect(r.stderr).toContain('ds login --url http://127.0.0.1:8080');
    expect(r.stderr).toContain('SIGTERM: stopping DS');
  });

  it('passes every setting flag on as an override', async () => {
    const server = fakeServer();
    let fire: ((signal: NodeJS.Signals) => void) | undefined;
    const done = runDs(
      ['serve', '--cors-origins', 'https://*.acme.com', '--downloads', 'redirect', '--origin-timeout-ms', '5000', '--app-token-ttl', '600', '--session-ttl', '3600', '--body-limit', '65536', '--message-retention', '86400', '--token-issuer', 'acme', '--installation-token-ttl', '120', '--metrics-token-file', '/etc/ds/metrics.token'],
      { overrides: { loadServer: async () => server.module, onSignal: (h) => ((fire = h), () => {}) } },
    );
    await until(() => server.calls.some((c) => c.fn === 'startServer'));
    fire!('SIGTERM');
    expect((await done).code).toBe(0);
    expect(server.calls[0]!.args[1]).toEqual({
      corsOrigins: 'https://*.acme.com',
      downloads: 'redirect',
      originTimeoutMs: '5000',
      applicationTokenTtlSeconds: '600',
      sessionTtlSeconds: '3600',
      bodyLimitBytes: '65536',
      messageRetentionSeconds: '86400',
      tokenIssuer: 'acme',
      installationTokenTtlSeconds: '120',
      metricsTokenFile: '/etc/ds/metrics.token',
    });
  });

  it('runs several DS processes with --workers', async () => {
    const server = fakeServer();
    let fire: ((signal: NodeJS.Signals) => void) | undefined;
    const done = runDs(['serve', '--workers', '2'], { overrides: { loadServer: async () => server.module, onSignal: (h) => ((fire = h), () => {}) } });
    await until(() => server.calls.some((c) => c.fn === 'startServers'));
    fire!('SIGTERM');
    const r = await done;
    expect(r.code).toBe(0);
    expect(server.calls.find((c) => c.fn === 'startServers')?.args[1]).toEqual({ workers: 2 });
    expect(server.calls.some((c) => c.fn === 'startServer')).toBe(false);
    expect(server.closed()).toBe(1);
    const bad = await runDs(['serve', '--workers', 'many'], { overrides: { loadServer: async () => server.module } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--workers');
  });

  it('does not print a password on later starts', async () => {
    const server = fakeServer({ initialAdminPassword: null });
    let fire: ((signal: NodeJS.Signals) => void) | undefined;
    const done = runDs(['serve'], { overrides: { loadServer: async () => server.module, onSignal: (h) => ((fire = h), () => {}) } });
    await until(() => server.calls.some((c) => c.fn === 'startServer'));
    fire!('SIGINT');
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/password/);
  });

  it('reports a bad configuration as an error', async () => {
    const server = fakeServer();
    const r = await runDs(['serve'], { env: { PORT: 'abc' }, overrides: { loadServer: async () => server.module } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: invalid configuration: PORT: expected number\n');
    expect(server.calls.map((c) => c.fn)).toEqual(['loadConfig']);
  });

  it('rejects a port out of range before loading the server', async () => {
    const server = fakeServer();
    const r = await runDs(['serve', '--port', '70000'], { overrides: { loadServer: async () => server.module } });
    expect(r.code).toBe(1);
    expect(server.calls).toEqual([]);
  });
});

describe('ds serve and ds demo logs', () => {
  /** The overrides `ds serve argv` passes to loadConfig, with stderr a terminal or not. */
  async function overridesOf(argv: string[], stderrTerminal: boolean, env: NodeJS.ProcessEnv = {}) {
    const server = fakeServer();
    let fire: ((signal: NodeJS.Signals) => void) | undefined;
    const done = runDs(argv, { env, overrides: { stderrTerminal, loadServer: async () => server.module, onSignal: (h) => ((fire = h), () => {}) } });
    await until(() => server.calls.some((c) => c.fn === 'startServer') || server.calls.some((c) => c.fn === 'initDs'));
    fire?.('SIGTERM');
    expect((await done).code).toBe(0);
    return server.calls[0]!.args[1] as ServerConfigOverrides;
  }

  it.each<[string, string[], boolean, NodeJS.ProcessEnv, ServerConfigOverrides]>([
    ['on a terminal: short text at warn, so the banner stays on screen', ['serve'], true, {}, { logLevel: 'warn', logFormat: 'text' }],
    ['not on a terminal: JSON lines at info (the server defaults)', ['serve'], false, {}, {}],
    ['on a terminal with --log-level: that level, in text', ['serve', '--log-level', 'info'], true, {}, { logLevel: 'info', logFormat: 'text' }],
    ['on a terminal with --log-format json: JSON at warn', ['serve', '--log-format', 'json'], true, {}, { logLevel: 'warn', logFormat: 'json' }],
    ['on a terminal with DS_LOG_LEVEL: the variable decides the level', ['serve'], true, { DS_LOG_LEVEL: 'debug' }, { logFormat: 'text' }],
    ['on a terminal with DS_LOG_FORMAT: the variable decides the format', ['serve'], true, { DS_LOG_FORMAT: 'json' }, { logLevel: 'warn' }],
    ['ds init on a terminal: as configured (it serves nothing)', ['init'], true, { DS_ADMIN_PASSWORD: 'a-long-password-1' }, {}],
  ])('%s', async (_what, argv, terminal, env, expected) => {
    expect(await overridesOf(argv, terminal, env)).toEqual(expected);
  });

  it('names a bad value by the flag that gave it, not by its environment variable', async () => {
    const server = fakeServer();
    let fire: ((signal: NodeJS.Signals) => void) | undefined;
    const done = runDs(['serve', '--session-ttl', '5', '--log-level', 'warn'], { overrides: { loadServer: async () => server.module, onSignal: (h) => ((fire = h), () => {}) } });
    await until(() => server.calls.some((c) => c.fn === 'startServer'));
    fire!('SIGTERM');
    expect((await done).code).toBe(0);
    expect(server.calls[0]!.args[2]).toEqual({ sessionTtlSeconds: '--session-ttl', logLevel: '--log-level' });
    // The real @ds/server, whose loadConfig refuses the value before anything starts.
    const r = await runDs(['serve', '--session-ttl', '5', '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: invalid configuration: --session-ttl: Too small: expected number to be >=60\n');
    const fromEnv = await runDs(['serve', '--port', '0'], { env: { DS_SESSION_TTL_SECONDS: '5' } });
    expect(fromEnv.stderr).toBe('error: invalid configuration: DS_SESSION_TTL_SECONDS: Too small: expected number to be >=60\n');
  });
});

describe('ds init', () => {
  const initPassword = (calls: { fn: string; args: unknown[] }[]) => (calls.find((c) => c.fn === 'initDs')!.args[1] as { adminPassword?: string }).adminPassword;

  it('takes the password from stdin first', async () => {
    const server = fakeServer();
    const r = await runDs(['init', '--admin-password-stdin'], {
      stdin: 'from stdin password\n',
      env: { DS_ADMIN_PASSWORD: 'from env password' },
      terminal: true,
      overrides: { loadServer: async () => server.module },
    });
    expect(r.code).toBe(0);
    expect(initPassword(server.calls)).toBe('from stdin password');
    expect(r.prompts).toEqual([]);
  });

  it('then DS_ADMIN_PASSWORD, without prompting', async () => {
    const server = fakeServer();
    const r = await runDs(['init'], { env: { DS_ADMIN_PASSWORD: 'from env password' }, terminal: true, overrides: { loadServer: async () => server.module } });
    expect(initPassword(server.calls)).toBe('from env password');
    expect(r.prompts).toEqual([]);
  });

  it('then a prompt, twice, on a terminal', async () => {
    const server = fakeServer();
    const r = await runDs(['init'], { terminal: true, answers: ['typed password!', 'typed password!'], overrides: { loadServer: async () => server.module } });
    expect(r.code).toBe(0);
    expect(r.prompts.map((p) => p.kind)).toEqual(['password', 'password']);
    expect(initPassword(server.calls)).toBe('typed password!');
  });

  it('else lets the server generate one and prints it once on stdout', async () => {
    const server = fakeServer({ generatedPassword: 'gen-password-123' });
    const r = await runDs(['init'], { env: { CI: '1' }, terminal: true, overrides: { loadServer: async () => server.module } });
    expect(r.code).toBe(0);
    expect(r.prompts).toEqual([]);
    expect(initPassword(server.calls)).toBeUndefined();
    expect(r.stdout).toBe('gen-password-123\n');
  });

  it('says so when DS was already initialised', async () => {
    const server = fakeServer({ created: false });
    const r = await runDs(['init'], { overrides: { loadServer: async () => server.module } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('already initialised');
  });
});

describe('ds db', () => {
  it('migrate prints the applied migrations', async () => {
    const server = fakeServer();
    const r = await runDs(['db', 'migrate', '--database', 'x.db'], { overrides: { loadServer: async () => server.module } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('0001-initial\n0002-counters\n');
    expect((server.calls[0]!.args[1] as ServerConfigOverrides).databaseUrl).toBe('x.db');
  });

  it('backup prints path and size', async () => {
    const server = fakeServer();
    const r = await runDs(['db', 'backup', 'copy.db'], { overrides: { loadServer: async () => server.module } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('/abs/copy.db (2.0 KiB)\n');
    const json = await runDs(['db', 'backup', 'copy.db', '--json'], { overrides: { loadServer: async () => server.module } });
    expect(JSON.parse(json.stdout)).toEqual({ path: '/abs/copy.db', bytes: 2048 });
  });

  it('needs no DS login', async () => {
    const server = fakeServer();
    const r = await runDs(['db', 'migrate'], { env: { DS_TOKEN: undefined }, overrides: { loadServer: async () => server.module } });
    expect(r.code).toBe(0);
    expect(r.requests).toEqual([]);
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error('condition not reached');
}
