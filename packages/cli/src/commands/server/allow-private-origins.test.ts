import { loadConfig } from '@ds/server';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerConfig, ServerModule } from '../../lib/server-api.js';
import { removeTempDirs, runDs } from '../../test/harness.js';

afterEach(removeTempDirs);

/** Runs `ds serve` with `argv` against a stand-in server that parses its configuration for real. */
async function serve(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let config: ServerConfig | undefined;
  let stop: ((signal: NodeJS.Signals) => void) | undefined;
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const module = {
    loadConfig: (e: NodeJS.ProcessEnv, overrides = {}) => (config = loadConfig(e, overrides)),
    startServer: async (c: ServerConfig) => {
      started();
      return { url: 'http://127.0.0.1:3000', publicUrl: c.publicUrl, initialAdminPassword: null, close: async () => {} };
    },
  } as unknown as ServerModule;
  const done = runDs(['serve', ...argv], { env, overrides: { loadServer: async () => module, onSignal: (handler) => ((stop = handler), () => {}) } });
  await Promise.race([running, done]);
  stop?.('SIGTERM');
  const result = await done;
  return { ...result, config };
}

describe('ds serve --allow-private-origins', () => {
  it('allows private installer origins, as DS_ALLOW_PRIVATE_ORIGINS=true does; off by default', async () => {
    const flag = await serve(['--allow-private-origins']);
    expect(flag.code, flag.stderr).toBe(0);
    expect(flag.config?.allowPrivateOrigins).toBe(true);
    expect((await serve([], { DS_ALLOW_PRIVATE_ORIGINS: 'true' })).config?.allowPrivateOrigins).toBe(true);
    expect((await serve([])).config?.allowPrivateOrigins).toBe(false);
  });

  it('is described in --help with its variable', async () => {
    const help = await runDs(['serve', '--help']);
    const text = help.stdout.replace(/\s+/g, ' ');
    expect(text).toContain('--allow-private-origins let installer origins be loopback, private or link-local addresses');
    expect(text).toContain('DS_ALLOW_PRIVATE_ORIGINS=true');
  });
});
