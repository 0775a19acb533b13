import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, TEST_DIALECT, cleanEnv, e2eDatabase, killServe, runDs, startServe, type ServeProcess } from './helpers.js';

// A staged rollout end to end, on SQLite and PostgreSQL: the built `ds serve` (its scheduler, its
// evaluation on read), the built `ds` (rollout, simulate: real devices that download the installer
// DS offers them and report the version they then run). Time passes through the test-only clock
// preload (shifted-clock.mjs) of every process, DS and ds alike.

const PASSWORD = 'rollouts-e2e-password';
const OSES = ['win32', 'win64', 'macos', 'macosarm', 'linux32', 'linux64'] as const;
const dialect = TEST_DIALECT;

describe('a staged rollout with the built ds and DS', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let server: ServeProcess | undefined;
  let clockFile: string;
  let database: Awaited<ReturnType<typeof e2eDatabase>> | undefined;

  const ds = async (args: string[], timeoutMs = 90_000) => {
    const r = await runDs(args, { env, timeoutMs });
    expect(r.code, `ds ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  /** Every DS and ds process runs this much ahead of the real time (the preload watches the file). */
  const setOffset = (ms: number) => {
    writeFileSync(`${clockFile}.new`, String(ms));
    renameSync(`${clockFile}.new`, clockFile);
  };
  const installers = (version: string) =>
    OSES.flatMap((os) => {
      const bytes = randomBytes(1500 + OSES.indexOf(os));
      const path = join(dir, `t1c-${version}-${os}.bin`);
      writeFileSync(path, bytes);
      return ['--installer', `${os}=${pathToFileURL(path).href}`];
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-e2e-rollouts-'));
    clockFile = join(dir, 'clock-offset');
    setOffset(0);
    database = await e2eDatabase(dir, 'rollouts');
    const databaseUrl = database.url;
    env = cleanEnv(dir, {
      XDG_CONFIG_HOME: join(dir, 'config'),
      DS_ADMIN_PASSWORD: PASSWORD,
      DATABASE_URL: databaseUrl,
      DS_INSTALLER_ROOT: dir,
      DS_LOG_LEVEL: 'warn',
      ...(dialect === 'postgres' ? { DS_MASTER_KEY: randomBytes(32).toString('base64') } : {}),
      NODE_OPTIONS: `--import=${join(ROOT, 'e2e', 'shifted-clock.mjs')}`,
      DS_E2E_CLOCK_FILE: clockFile,
    });
    server = await startServe([], env);
    const login = await runDs(['login', '--url', server.url, '--username', 'admin', '--password-stdin'], { env, stdin: PASSWORD });
    expect(login.code, login.stderr).toBe(0);
  });

  afterAll(async () => {
    await killServe(server);
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('offers the version to its first wave only, advances after the hold, completes and makes it recommended; every device then updates', async () => {
    await ds(['org', 'create', 'acme']);
    await ds(['label', 'create', 'acme-web', '--org', 'acme']);
    const installationKey = JSON.parse(await ds(['version', 'create', '3.9.0', '--recommended', ...installers('3.9.0'), '--json'])).installationApiKey as string;
    await ds(['version', 'create', '3.10.0', ...installers('3.10.0'), '--json']);
    await ds(['rollout', 'start', '3.10.0', '--waves', '50,100', '--wave-hold', '1h']);

    const simulate = async (devices: number) =>
      JSON.parse(await ds(['simulate', '--installation-key', installationKey, '--devices', String(devices), '--syncs', '2', '--seed', String(devices), '--key-type', 'ec', '--labels', 'acme-web', '--error-rate', '0', '--json'])) as {
        versions: Record<string, number>;
        updatesInstalled: number;
        updateFailures: number;
      };
    // 40 devices, a wave of 50 %: about 20 (binomial: 4 standard deviations either side) install 3.10.0.
    const first = await simulate(40);
    const updated = first.versions['3.10.0'] ?? 0;
    expect(updated).toBeGreaterThan(20 - 4 * 3.2);
    expect(updated).toBeLessThan(20 + 4 * 3.2);
    expect(first).toMatchObject({ updatesInstalled: updated, updateFailures: 0, versions: { '3.9.0': 40 - updated } });
    const during = JSON.parse(await ds(['rollout', 'status', '3.10.0', '--json']));
    expect(during).toMatchObject({ state: 'active', percent: 50, gate: { offered: updated, updated, failed: 0 } });
    expect(JSON.parse(await ds(['system', 'status', '--json'])).latestVersion).toBe('3.9.0');

    // Two hours later (the devices synced within the hour: none is silent), the hold has ended.
    setOffset(2 * 3600_000);
    let done: { state: string; percent: number } = during;
    for (let i = 0; i < 100 && done.state !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      done = JSON.parse(await ds(['rollout', 'status', '3.10.0', '--json']));
    }
    expect(done).toMatchObject({ state: 'completed', percent: 100 });
    const history = JSON.parse(await ds(['rollout', 'history', '3.10.0', '--json'])) as { kind: string; actor: string }[];
    expect(history.map((e) => [e.kind, e.actor])).toEqual([
      ['started', 'admin'],
      ['advanced', 'schedule'],
      ['completed', 'schedule'],
    ]);
    expect(JSON.parse(await ds(['version', 'get', '3.10.0', '--json'])).recommended).toBe(true);
    expect(JSON.parse(await ds(['system', 'status', '--json'])).latestVersion).toBe('3.10.0');
    const after = await simulate(10);
    expect(after).toMatchObject({ updatesInstalled: 10, versions: { '3.10.0': 10 } });
  });
});
