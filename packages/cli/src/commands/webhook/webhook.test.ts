import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../../../server/src/test/harness.js';
import { closeServer, listenLocal } from '../../../../server/src/test/local-server.js';
import { WebhookWorker } from '../../../../server/src/webhooks/worker.js';
import { removeTempDirs, runDs } from '../../test/harness.js';

// `ds webhook` against a real DS in this process and a real receiver on 127.0.0.1 (port 0).

let ds: TestContext;
let admin: string;
let receiver: Server;
let url: string;
const received: { id: string; body: string }[] = [];

beforeEach(async () => {
  ds = await createTestContext({ configOverrides: { DS_ALLOW_PRIVATE_ORIGINS: 'true' } });
  admin = await ds.login();
  received.length = 0;
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ id: String(req.headers['webhook-id']), body });
      res.end();
    });
  });
  url = `http://127.0.0.1:${await listenLocal(receiver)}/ds`;
});
afterEach(async () => {
  await closeServer(receiver);
  await ds.close();
  await removeTempDirs();
});

const appFetch = (async (input: string | URL | Request, init?: RequestInit) => {
  const { signal: _signal, ...rest } = init ?? {};
  return ds.app.request(String(input), rest);
}) as typeof fetch;

const run = (args: string[]) =>
  runDs(['--url', 'https://ds.example.test', ...args], { env: { DS_TOKEN: admin }, stdoutTerminal: false, overrides: { fetch: appFetch, clock: ds.clock } });

describe('ds webhook', () => {
  it('create prints the secret once; list, deliveries and redeliver show what was sent', async () => {
    const created = await run(['webhook', 'create', url, '--events', 'version.*,rollout.paused', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const hook = JSON.parse(created.stdout);
    expect(hook.secret).toMatch(/^whsec_/);
    expect(created.stderr).toContain('store the signing secret now');

    const listed = await run(['webhook', 'list']);
    expect(listed.stdout).toContain(hook.id);
    expect(listed.stdout).not.toContain(hook.secret);
    expect(listed.stdout).toMatch(/\tall\tactive\t/);

    await ds.request('PUT', '/v3_5/admin/versions/3.9.0', { token: admin, body: {} });
    await new WebhookWorker(ds.app.services).tick();
    expect(received).toHaveLength(1);

    const deliveries = JSON.parse((await run(['webhook', 'deliveries', hook.id, '--json'])).stdout);
    expect(deliveries).toEqual([expect.objectContaining({ id: received[0]!.id, status: 'delivered', eventType: 'version.created', attempts: 1 })]);
    expect(deliveries[0].attemptLog).toHaveLength(1);
    const csv = await run(['webhook', 'deliveries', hook.id, '--csv']);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout.split('\n')[0]).toMatch(/^id,webhookId,eventType/);
    expect(csv.stdout).toContain(deliveries[0].id);

    const again = await run(['webhook', 'redeliver', hook.id, deliveries[0].id]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('queued again');
    await new WebhookWorker(ds.app.services).tick();
    expect(received.map((r) => r.id)).toEqual([deliveries[0].id, deliveries[0].id]);

    const rotated = await run(['webhook', 'rotate-secret', hook.id, '--grace', '2h', '--yes', '--json']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(JSON.parse(rotated.stdout).secret).toMatch(/^whsec_/);
    expect(JSON.parse(rotated.stdout).secret).not.toBe(hook.secret);
    expect(rotated.stderr).toContain('for 2h');

    const refused = await run(['webhook', 'delete', hook.id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--yes');
    const deleted = await run(['webhook', 'delete', hook.id, '--yes']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect((await run(['webhook', 'list'])).stderr).toContain('no webhooks');
  });

  it('names an unknown event before sending anything, and DS’s refusals after', async () => {
    const typo = await run(['webhook', 'create', url, '--events', 'versoin.created']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('versoin.created names no event');
    const missingEvents = await run(['webhook', 'create', url]);
    expect(missingEvents.stderr).toContain('missing --events');
    const ftp = await run(['webhook', 'create', 'ftp://example.com/x', '--events', '*']);
    expect(ftp.code).toBe(1);
    expect(ftp.stderr).toContain('VALIDATION_ERROR');
  });
});
