import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cleanEnv, e2eDatabase, killServe, runDs, type ServeProcess, startServe, TEST_DIALECT } from './helpers.js';

// The built `ds serve --workers 2` (two processes, each with its webhook worker) and the built
// `ds`: a webhook made with the CLI hears about versions made with the CLI, each event once (the
// lease elects one process per delivery), signed as the Standard Webhooks specification says
// (checked here with the algorithm written out); the audit log has every change and its chain holds.

const PASSWORD = 'webhooks-e2e-password';
const dialect = TEST_DIALECT;
const VERSIONS = ['3.9.0', '3.9.1', '3.10.0'];

describe('webhooks of ds serve', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let database: Awaited<ReturnType<typeof e2eDatabase>> | undefined;
  let server: ServeProcess;
  let receiver: Server;
  let endpoint: string;
  const received: { headers: Record<string, string>; body: string }[] = [];
  let waiting: { count: number; resolve: () => void } | undefined;

  const ds = async (args: string[], stdin?: string) => {
    const r = await runDs(args, { env, timeoutMs: 60_000, ...(stdin ? { stdin } : {}) });
    expect(r.code, `ds ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-e2e-webhooks-'));
    database = await e2eDatabase(dir, 'webhooks');
    const databaseUrl = database.url;
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push({ headers: req.headers as Record<string, string>, body });
        res.statusCode = 204;
        res.end();
        if (waiting && received.length >= waiting.count) waiting.resolve();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/ds`;
    env = cleanEnv(dir, {
      XDG_CONFIG_HOME: join(dir, 'config'),
      DS_ADMIN_PASSWORD: PASSWORD,
      DATABASE_URL: databaseUrl,
      DS_INSTALLER_ROOT: dir,
      // The receiver is on 127.0.0.1, as an on-premises one would be on a private address.
      DS_ALLOW_PRIVATE_ORIGINS: 'true',
      ...(dialect === 'postgres' ? { DS_MASTER_KEY: randomBytes(32).toString('base64') } : {}),
    });
    server = await startServe(['--workers', '2'], env);
  });

  afterAll(async () => {
    await killServe(server);
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers each version event once, signed, and the audit log has every change', async () => {
    await ds(['login', '--url', server.url, '--username', 'admin', '--password-stdin'], PASSWORD);
    const hook = JSON.parse(await ds(['webhook', 'create', endpoint, '--events', 'version.*', '--json']));
    expect(hook.secret).toMatch(/^whsec_/);

    const all = new Promise<void>((resolve) => (waiting = { count: VERSIONS.length, resolve }));
    for (const version of VERSIONS) await ds(['version', 'create', version]);
    await all;

    const key = Buffer.from(hook.secret.slice('whsec_'.length), 'base64');
    for (const r of received) {
      const expected = createHmac('sha256', key).update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`).digest('base64');
      expect(r.headers['webhook-signature']).toBe(`v1,${expected}`);
    }
    expect(received.map((r) => JSON.parse(r.body).data.resource.id).sort()).toEqual([...VERSIONS].sort());
    expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(VERSIONS.length);

    // DS records a delivery as delivered once the receiver's answer is back: a condition to wait
    // for, not a moment (the receiver saw the request before DS saw its answer).
    const deliveries = await vi.waitFor(
      async () => {
        const rows = JSON.parse(await ds(['webhook', 'deliveries', hook.id, '--json'])) as { status: string; attempts: number }[];
        expect(rows.map((d) => d.status)).toEqual(VERSIONS.map(() => 'delivered'));
        return rows;
      },
      { timeout: 60_000, interval: 200 },
    );
    expect(deliveries.every((d) => d.attempts === 1)).toBe(true);
    // Each delivery was sent once, by one of the two processes.
    expect(received).toHaveLength(VERSIONS.length);

    const audit = JSON.parse(await ds(['audit', 'list', '--resource', 'version', '--json']));
    expect(audit.map((e: { resource: { id: string } }) => e.resource.id).sort()).toEqual([...VERSIONS].sort());
    expect(JSON.parse(await ds(['audit', 'verify', '--json']))).toMatchObject({ ok: true, broken: null });
  });
});
