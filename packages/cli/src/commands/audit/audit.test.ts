import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../../../../server/src/test/harness.js';
import { parseCsv, removeTempDirs, runDs, tempDir } from '../../test/harness.js';

// `ds audit` against a real DS in this process (fresh database, fake clock).

let ds: TestContext;
let admin: string;

beforeEach(async () => {
  ds = await createTestContext();
  admin = await ds.login();
  for (const org of ['acme', 'globex']) {
    ds.clock.advance(60_000);
    await ds.request('PUT', `/v3_5/admin/organizations/${org}`, { token: admin, body: { description: org } });
  }
});
afterEach(async () => {
  await ds.close();
  await removeTempDirs();
});

const appFetch = (() => (async (input: string | URL | Request, init?: RequestInit) => {
  const { signal: _signal, ...rest } = init ?? {};
  return ds.app.request(String(input), rest);
}) as typeof fetch)();

const run = (args: string[], token = admin) =>
  runDs(['--url', 'https://ds.example.test', ...args], { env: { DS_TOKEN: token }, stdoutTerminal: false, overrides: { fetch: appFetch, clock: ds.clock } });

describe('ds audit', () => {
  it('list: filters, newest first, as plain lines, JSON and CSV', async () => {
    const plain = await run(['audit', 'list', '--resource', 'organization']);
    expect(plain.code, plain.stderr).toBe(0);
    const lines = plain.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^seq\tat\tactor\taction\tresource/);
    expect(lines[1]).toContain('organization:globex');
    expect(lines[2]).toContain('organization:acme');

    const json = await run(['audit', 'list', '--org', 'acme', '--json']);
    const entries = JSON.parse(json.stdout);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: 'organization.created', actor: { name: 'admin' }, after: { name: 'acme', description: 'acme' } });

    const csv = parseCsv((await run(['audit', 'list', '--since', '30s', '--actor', 'admin', '--action', 'organization.*', '--csv'])).stdout);
    expect(csv).toHaveLength(2);
    expect(csv[0]).toContain('resource.id');
    expect(csv[1]![csv[0]!.indexOf('resource.id')]).toBe('globex');
  });

  it('verify: exit code 0 while the chain holds, 1 naming the first broken link', async () => {
    const good = await run(['audit', 'verify', '--json']);
    expect(good.code, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ ok: true, broken: null });

    await ds.database.db.updateTable('auditLog').set({ actorName: 'mallory' }).where('seq', '=', 2).execute();
    const bad = await run(['audit', 'verify']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/the audit chain is broken at entry 2: entry 2 was changed/);
  });

  it('export: JSON lines, oldest first, to stdout or a file', async () => {
    const out = await run(['audit', 'export']);
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual([...lines.map((l) => l.seq)].sort((a, b) => a - b));
    expect(lines.at(-1)).toMatchObject({ action: 'organization.created', resource: { id: 'globex' } });

    const file = join(await tempDir(), 'audit.jsonl');
    const written = await run(['audit', 'export', '--resource', 'organization', '--output', file]);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stderr).toContain('wrote 2 audit entries');
    expect(readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).resource.id)).toEqual(['acme', 'globex']);
  });

  it('a user limited to an organization lists only its entries and cannot verify', async () => {
    const acme = await ds.userToken('acme-admin', 'admin', 'acme');
    const listed = JSON.parse((await run(['audit', 'list', '--json'], acme)).stdout) as { organization: string | null }[];
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((e) => e.organization === 'acme')).toBe(true);
    const verify = await run(['audit', 'verify'], acme);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toContain('FORBIDDEN');
  });
});
