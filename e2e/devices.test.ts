import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, jsonLines, killServe, runDs, startServe, type ServeProcess } from './helpers.js';

// The device side end to end: `ds serve --workers 2` (two DS processes sharing the port on one
// SQLite database), `ds simulate --verify` playing T1C installations against it with the real
// device client, `ds device list`, and a clean stop of every process. The device side does not
// depend on the database kind: SQLite pass only (vitest.config.ts).
const PASSWORD = 'device-e2e-password';

describe('devices against two DS processes', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let url: string;
  let server: ServeProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-e2e-devices-'));
    env = cleanEnv(dir, { XDG_CONFIG_HOME: join(dir, 'config'), DS_ADMIN_PASSWORD: PASSWORD, DATABASE_URL: join(dir, 'ds.db'), DS_INSTALLER_ROOT: dir });
    // `ds serve` says where it listens once both workers are listening.
    server = await startServe(['--workers', '2'], env);
    url = server.url;
  });

  afterAll(async () => {
    await killServe(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('simulated installations register, sync and are counted exactly', async () => {
    expect((await runDs(['login', '--url', url, '--username', 'admin', '--password-stdin'], { env, stdin: PASSWORD })).code).toBe(0);
    expect((await runDs(['org', 'create', 'acme'], { env })).code).toBe(0);
    expect((await runDs(['label', 'create', 'acme-web', '--org', 'acme'], { env })).code).toBe(0);
    const version = await runDs(['version', 'create', '3.8.1', '--json'], { env });
    expect(version.code).toBe(0);
    const installationKey = JSON.parse(version.stdout).installationApiKey as string;

    const sim = await runDs(['simulate', '--installation-key', installationKey, '--devices', '6', '--syncs', '3', '--labels', 'acme-web', '--seed', '7', '--verify', '--json'], {
      env,
      timeoutMs: 90_000,
    });
    expect(sim.code, sim.stderr).toBe(0);
    const summary = JSON.parse(sim.stdout);
    expect(summary).toMatchObject({ registrations: 6, failures: 0 });
    expect(summary.transactionsSent).toBeGreaterThan(0);
    expect(sim.stderr).toMatch(/all counted exactly/);

    const list = await runDs(['device', 'list', '--org', 'acme', '--json'], { env });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toHaveLength(6);
    // Both processes answered requests: each `ds` command above opened its own connection, and
    // the primary hands connections to the two (listening) workers in turn.
    const pids = new Set(jsonLines(server.stderr()).filter((l) => l.msg === 'request').map((l) => l.pid));
    expect(pids.size).toBe(2);
  });

  it('stops every process on SIGTERM', async () => {
    server.child.kill('SIGTERM');
    const { code } = await server.exited;
    expect(code).toBe(0);
    await expect(fetch(`${url}/v3_5/system/status`)).rejects.toThrow();
  });
});
