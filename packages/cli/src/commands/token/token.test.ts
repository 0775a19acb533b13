import { afterEach, describe, expect, it } from 'vitest';
import { ok, page, removeTempDirs, runDs, T, type Seen } from '../../test/harness.js';

afterEach(removeTempDirs);

const token = (extra: Record<string, unknown> = {}) => ({
  id: 't1',
  name: 'ci',
  username: 'admin',
  scopes: ['versions:read'],
  prefix: 'ds_adm_ab',
  createdAt: T,
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
  ...extra,
});
const routes = {
  'POST /admin/tokens': (r: Seen) => ok(token({ ...(r.body as object), token: 'ds_adm_secret' }), 201),
  'GET /admin/tokens': () => page([token()]),
  'DELETE /admin/tokens/t1': () => ok(token({ revokedAt: T })),
};

/** A DS that creates the token with this expiry. */
const created = (expiresAt: string) => ({ 'POST /admin/tokens': (r: Seen) => ok(token({ ...(r.body as object), expiresAt, token: 'ds_adm_secret' }), 201) });

describe('ds token create', () => {
  it('accepts repeated and comma separated scopes and a duration', async () => {
    const r = await runDs(['token', 'create', '--name', 'ci', '--scope', 'versions:read,versions:write', '--scope', 'labels:read', '--expires', '30d', '--json'], {
      routes,
    });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.body).toEqual({ name: 'ci', scopes: ['versions:read', 'versions:write', 'labels:read'], expiresInSeconds: 2592000 });
    expect(JSON.parse(r.stdout).token).toBe('ds_adm_secret');
    expect(r.stderr).toMatch(/warning: .*token/);
  });

  it('--expires needs a unit: a bare number is refused before sending, naming the spellings', async () => {
    const r = await runDs(['token', 'create', '--name', 'ci', '--scope', 'versions:read', '--expires', '90'], { routes });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('a lifetime needs a unit: 90d (days), 90h (hours), 90m (minutes) or 90s (seconds)');
    expect(r.requests).toEqual([]);
    const days = await runDs(['token', 'create', '--name', 'ci', '--scope', 'versions:read', '--expires', '90d'], { routes: created('2025-04-02T03:04:05.000Z') });
    expect(days.code).toBe(0);
    expect(days.requests[0]!.body).toEqual({ name: 'ci', scopes: ['versions:read'], expiresInSeconds: 90 * 86400 });
    expect(days.stderr).toContain('the token expires at 2025-04-02T03:04:05.000Z (in 90d)\n');
  });

  it("without --expires leaves the lifetime to DS (its maximum) and prints when the token expires", async () => {
    const r = await runDs(['token', 'create', '--name', 'ci', '--scope', 'versions:read'], { routes: created('2025-04-02T03:04:05.000Z') });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.body).toEqual({ name: 'ci', scopes: ['versions:read'] });
    expect(r.stdout).toMatch(/expires\s+│ 2025-04-02T03:04:05\.000Z/);
    expect(r.stderr).toContain('the token expires at 2025-04-02T03:04:05.000Z (in 90d)\n');
    // A DS without a maximum (older ones) says never: so does ds, with what to do about it.
    const never = await runDs(['token', 'create', '--name', 'ci', '--scope', 'versions:read'], { routes });
    expect(never.stderr).toContain('the token never expires');
  });

  it('rejects an unknown scope before sending', async () => {
    const r = await runDs(['token', 'create', '--name', 'ci', '--scope', 'everything'], { routes });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown scope everything');
    expect(r.requests).toEqual([]);
  });

  it('names --scope when not interactive, and asks for it on a terminal', async () => {
    const ci = await runDs(['token', 'create', '--name', 'ci'], { routes });
    expect(ci.stderr).toBe('error: missing --scope (no prompt: not interactive)\n');
    const tty = await runDs(['token', 'create'], { terminal: true, answers: ['ci', 'orgs:read, orgs:write'], routes });
    expect(tty.code).toBe(0);
    expect(tty.requests[0]!.body).toEqual({ name: 'ci', scopes: ['orgs:read', 'orgs:write'] });
  });
});

describe('ds token list / revoke', () => {
  it('list --all asks for revoked tokens too', async () => {
    const r = await runDs(['token', 'ls', '--all', '--json'], { routes });
    expect(r.requests[0]!.query.all).toBe('true');
    expect(JSON.parse(r.stdout)).toEqual([token()]);
  });

  it('revoke needs --yes non-interactively and sends DELETE with it', async () => {
    expect((await runDs(['token', 'revoke', 't1'], { routes })).requests).toEqual([]);
    const r = await runDs(['token', 'revoke', 't1', '-y'], { routes });
    expect(r.code).toBe(0);
    expect(r.find('DELETE', '/admin/tokens/t1')).toHaveLength(1);
  });
});

describe('ds token revoke <name>', () => {
  const mine = [
    token({ id: '11111111-1111-4111-8111-111111111111', name: 'ci' }),
    token({ id: '22222222-2222-4222-8222-222222222222', name: 'release' }),
    token({ id: '33333333-3333-4333-8333-333333333333', name: 'release' }),
    token({ id: '44444444-4444-4444-8444-444444444444', name: 'old', revokedAt: T }),
    token({ id: '55555555-5555-4555-8555-555555555555', name: 'ci', expiresAt: T }),
  ];
  const revoking = {
    'GET /admin/tokens': () => page(mine),
    'DELETE /admin/tokens/11111111-1111-4111-8111-111111111111': () => ok(mine[0]),
    'DELETE /admin/tokens/99999999-9999-4999-8999-999999999999': () => ok(token({ id: '99999999-9999-4999-8999-999999999999', name: 'theirs' })),
  };

  it('revokes the one live token of yours with the name it was created with', async () => {
    const r = await runDs(['token', 'revoke', 'ci', '--yes'], { routes: revoking });
    expect(r.code).toBe(0);
    expect(r.find('DELETE', '/admin/tokens/11111111-1111-4111-8111-111111111111')).toHaveLength(1);
    expect(r.stderr).toContain('revoked token ci (11111111-1111-4111-8111-111111111111)');
  });

  it('lists the ids when several live tokens have the name, and revokes none', async () => {
    const r = await runDs(['token', 'revoke', 'release', '--yes'], { routes: revoking });
    expect(r.code).toBe(1);
    expect(r.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
    expect(r.stderr).toBe(
      'error: 2 of your live tokens are named release: 22222222-2222-4222-8222-222222222222, 33333333-3333-4333-8333-333333333333\nhint: revoke one by its id\n',
    );
  });

  it('says so when no live token of yours has the name', async () => {
    const r = await runDs(['token', 'revoke', 'old', '--yes'], { routes: revoking });
    expect(r.code).toBe(1);
    expect(r.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
    expect(r.stderr).toMatch(/^error: you have no live token with the id or name old\n/);
  });

  it('passes another id on as it is (an admin revoking someone else’s token)', async () => {
    const r = await runDs(['token', 'revoke', '99999999-9999-4999-8999-999999999999', '--yes'], { routes: revoking });
    expect(r.code).toBe(0);
    expect(r.find('DELETE', '/admin/tokens/99999999-9999-4999-8999-999999999999')).toHaveLength(1);
  });
});
