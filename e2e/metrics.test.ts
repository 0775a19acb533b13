import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceClient, MemoryDeviceStore } from '@ds/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheus, type Exposition } from '../packages/server/src/test/prometheus.js';
import { cleanEnv, e2eDatabase, jsonLines, killServe, requireFromServer, runDs, type ServeProcess, startServe, TEST_DIALECT } from './helpers.js';

// GET /metrics of `ds serve --workers 2` with a metrics token, on SQLite and PostgreSQL: whichever
// worker a scrape reaches, it answers the numbers of the whole process group, and they are exactly
// the device messages and entries the devices sent; /livez and /readyz answer without the token.

const PASSWORD = 'metrics-e2e-password';
const TOKEN = randomBytes(24).toString('hex');
const dialect = TEST_DIALECT;

/** A GET on a connection of its own, so the cluster hands each request to the next worker. */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), text }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('metrics of several workers', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let database: Awaited<ReturnType<typeof e2eDatabase>> | undefined;
  let server: ServeProcess;
  let url: string;
  const scrape = async (): Promise<Exposition> => {
    const res = await get(`${url}/metrics`, { authorization: `Bearer ${TOKEN}` });
    expect(res.status, res.text).toBe(200);
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheus(res.text);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-e2e-metrics-'));
    database = await e2eDatabase(dir, 'metrics');
    const databaseUrl = database.url;
    const tokenFile = join(dir, 'metrics-token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    env = cleanEnv(dir, {
      XDG_CONFIG_HOME: join(dir, 'config'),
      DS_ADMIN_PASSWORD: PASSWORD,
      DATABASE_URL: databaseUrl,
      DS_INSTALLER_ROOT: dir,
      DS_LOG_LEVEL: 'info',
      ...(dialect === 'postgres' ? { DS_MASTER_KEY: randomBytes(32).toString('base64') } : {}),
    });
    server = await startServe(['--workers', '2', '--metrics-token-file', tokenFile], env);
    url = server.url;
  });

  afterAll(async () => {
    await killServe(server);
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a scrape without the token or with another one; the probes need none', async () => {
    const refused: Record<string, string>[] = [{}, { authorization: `Bearer ${TOKEN.slice(1)}x` }];
    for (const headers of refused) {
      const res = await get(`${url}/metrics`, headers);
      expect(res.status).toBe(401);
      expect(JSON.parse(res.text).code).toBe('UNAUTHENTICATED');
    }
    expect((await get(`${url}/livez`)).status).toBe(200);
    const ready = await get(`${url}/readyz`);
    expect(ready.status, ready.text).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({ status: 'ok', checks: { database: { ok: true }, migrations: { ok: true }, keys: { ok: true } } });
  });

  it('answers the sum over every worker, whichever worker the scrape reaches', async () => {
    const ds = async (args: string[], stdin?: string) => {
      const r = await runDs(args, { env, timeoutMs: 60_000, ...(stdin ? { stdin } : {}) });
      expect(r.code, `ds ${args.join(' ')}\n${r.stderr}`).toBe(0);
      return r.stdout;
    };
    await ds(['login', '--url', url, '--username', 'admin', '--password-stdin'], PASSWORD);
    await ds(['org', 'create', 'acme']);
    await ds(['label', 'create', 'acme-web', '--org', 'acme']);
    const installationKey = JSON.parse(await ds(['version', 'create', '3.8.1', '--json'])).installationApiKey as string;

    // Each device on connections of its own: the cluster hands connections to the workers in turn.
    // undici is the server's dependency (its fetch takes a dispatcher: an Agent is a pool of its own).
    const undici = requireFromServer('undici') as {
      Agent: new () => { close(): Promise<void> };
      fetch: (input: string, init: object) => Promise<Response>;
    };
    const devices = 4;
    for (let i = 0; i < devices; i++) {
      const dispatcher = new undici.Agent();
      const device = await DeviceClient.create({
        baseUrl: url,
        installationKey,
        version: '3.8.1',
        os: { name: 'Windows', version: '11', architecture: 'x64' },
        store: new MemoryDeviceStore(),
        fetch: ((input: string, init?: RequestInit) => undici.fetch(input, { ...(init as object), dispatcher })) as unknown as typeof fetch,
      });
      await device.register();
      await device.versionCheck();
      // A device's calls take an even number of connections: one more shifts the next device's
      // sync to the other worker, so both workers count device messages.
      if (i % 2 === 1) await get(`${url}/livez`);
      device.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 3 });
      device.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'auth' });
      if (i === 0) device.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', date: new Date(Date.now() + 400 * 86_400_000) });
      const answer = await device.sync();
      expect(answer.accepted.transactions).toBe(2);
      await dispatcher.close();
    }
    const requestLines = jsonLines(server.stderr()).filter((l) => l.msg === 'request');
    const syncPids = new Set(requestLines.filter((l) => String(l.path).endsWith('/sync')).map((l) => l.pid));
    expect(syncPids.size, 'both workers answered syncs').toBe(2);

    for (let i = 0; i < 4; i++) {
      const m = await scrape();
      expect(m.value('ds_device_messages_total', { kind: 'sync', outcome: 'accepted', code: '' })).toBe(devices);
      expect(m.value('ds_device_messages_total', { kind: 'version-check', outcome: 'accepted', code: '' })).toBe(devices);
      expect(m.value('ds_sync_transactions_accepted_total')).toBe(2 * devices);
      expect(m.value('ds_sync_transactions_rejected_total', { code: 'DATE_IN_FUTURE' })).toBe(1);
      expect(m.value('ds_http_requests_total', { method: 'POST', route: '/v3_5/devices/{id}/sync', status: '200' })).toBe(devices);
      // Every earlier scrape, whichever worker answered it, and the two refused ones.
      expect(m.value('ds_http_requests_total', { method: 'GET', route: '/metrics', status: '200' })).toBe(i);
      expect(m.value('ds_http_requests_total', { method: 'GET', route: '/metrics', status: '401' })).toBe(2);
      expect(m.value('ds_db_transaction_duration_seconds_count', { outcome: 'commit' })).toBeGreaterThanOrEqual(devices);
      expect(m.value('ds_build_info', {})).toBe(1);
      expect(m.types.get('process_cpu_user_seconds_total')).toBe('counter');
      expect(m.value('ds_rollover_pending_months')).toBeGreaterThanOrEqual(0);
    }
    const scrapePids = new Set(jsonLines(server.stderr()).filter((l) => l.msg === 'request' && l.path === '/metrics').map((l) => l.pid));
    expect(scrapePids.size, 'both workers answered scrapes').toBe(2);
  });
});
