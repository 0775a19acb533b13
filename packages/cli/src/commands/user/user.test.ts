import { afterEach, describe, expect, it } from 'vitest';
import { fail, ok, page, removeTempDirs, runDs, T, type Seen } from '../../test/harness.js';

afterEach(removeTempDirs);

const user = (username: string, extra: Record<string, unknown> = {}) => ({ username, role: 'viewer', organization: null, createdAt: T, updatedAt: T, ...extra });
const routes = {
  'POST /admin/users': (r: Seen) => ok(user((r.body as { username: string }).username, { role: (r.body as { role: string }).role }), 201),
  'PUT /admin/users/bob/password': () => ok(user('bob')),
  'PUT /admin/users/admin/password': () => ok(user('admin', { role: 'admin' })),
  'GET /admin/auth/whoami': () => ok({ username: 'admin', role: 'admin', organization: null, credential: 'session', tokenName: null, scopes: [], expiresAt: null }),
  'GET /admin/users': () => page([user('admin', { role: 'admin' }), user('bob', { organization: 'acme' })]),
};

describe('ds user create', () => {
  it('reads the password from stdin', async () => {
    const r = await runDs(['user', 'create', 'bob', '--role', 'viewer', '--org', 'acme', '--password-stdin'], { stdin: 'a long password!\n', routes });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.body).toEqual({ username: 'bob', password: 'a long password!', role: 'viewer', organization: 'acme' });
  });

  it('asks the role and the password twice on a terminal', async () => {
    const r = await runDs(['user', 'create', 'bob'], { terminal: true, answers: ['admin', 'twelve chars!!', 'twelve chars!!'], routes });
    expect(r.code).toBe(0);
    expect(r.prompts.map((p) => p.kind)).toEqual(['select', 'password', 'password']);
    expect(r.requests[0]!.body).toEqual({ username: 'bob', password: 'twelve chars!!', role: 'admin', organization: null });
  });

  it('refuses passwords that differ', async () => {
    const r = await runDs(['user', 'create', 'bob', '--role', 'admin'], { terminal: true, answers: ['twelve chars!!', 'twelve chars??'], routes });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: the passwords do not match\n');
    expect(r.find('POST', '/admin/users')).toEqual([]);
  });

  it.each([
    [['user', 'create', 'bob'], '--role'],
    [['user', 'create', 'bob', '--role', 'admin'], '--password-stdin'],
  ])('%j names %s when not interactive', async (argv, flag) => {
    const r = await runDs(argv, { routes });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: missing ${flag} (no prompt: not interactive)\n`);
  });

  it('rejects an unknown role', async () => {
    const r = await runDs(['user', 'create', 'bob', '--role', 'root'], { routes });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Allowed choices are admin, viewer");
  });
});

describe('ds user passwd / list / delete', () => {
  it('passwd reads stdin', async () => {
    const r = await runDs(['user', 'passwd', 'bob', '--password-stdin'], { stdin: 'another password', routes });
    expect(r.code).toBe(0);
    expect(r.find('PUT', '/admin/users/bob/password')[0]!.body).toEqual({ password: 'another password' });
    expect(r.stderr).toContain('ended their sessions');
  });

  it('passwd of oneself sends the current password: the first line of stdin, or asked first on a terminal', async () => {
    const piped = await runDs(['user', 'passwd', 'admin', '--password-stdin'], { stdin: 'the old password\nthe new password\n', routes });
    expect(piped.code).toBe(0);
    expect(piped.find('PUT', '/admin/users/admin/password')[0]!.body).toEqual({ password: 'the new password', currentPassword: 'the old password' });
    const missingLine = await runDs(['user', 'passwd', 'admin', '--password-stdin'], { stdin: 'only one line\n', routes });
    expect(missingLine.code).toBe(1);
    expect(missingLine.stderr).toContain('line 2 (the new password) is empty');
    expect(missingLine.find('PUT', '/admin/users/admin/password')).toEqual([]);
    const asked = await runDs(['user', 'passwd', 'admin'], { terminal: true, answers: ['the old password', 'twelve chars!!', 'twelve chars!!'], routes });
    expect(asked.code).toBe(0);
    expect(asked.prompts.map((p) => p.message)).toEqual(['Current password', 'New password for admin', 'Repeat the password']);
    expect(asked.find('PUT', '/admin/users/admin/password')[0]!.body).toEqual({ password: 'twelve chars!!', currentPassword: 'the old password' });
  });

  it('list shows "(all)" for users not limited to an organization', async () => {
    const r = await runDs(['user', 'list'], { routes });
    expect(r.stdout).toMatch(/admin\s+│\s+admin\s+│\s+\(all\)/);
    expect(r.stdout).toMatch(/bob\s+│\s+viewer\s+│\s+acme/);
  });

  it('delete needs --yes when not interactive', async () => {
    const r = await runDs(['user', 'delete', 'bob'], { routes });
    expect(r.code).toBe(1);
    expect(r.requests).toEqual([]);
  });
});

describe('ds user update', () => {
  const bob = user('bob', { organization: 'acme' });
  const updateRoutes = (seen: Seen[] = []) => ({
    'GET /admin/users/bob': () => ok(bob),
    'PATCH /admin/users/bob': (r: Seen) => {
      seen.push(r);
      return ok({ ...bob, ...(r.body as object) });
    },
  });

  it.each<[string[], object, string]>([
    [['--role', 'admin'], { role: 'admin' }, 'updated bob: role viewer → admin'],
    [['--org', 'globex'], { organization: 'globex' }, 'updated bob: organization acme → globex'],
    [['--no-org'], { organization: null }, 'updated bob: organization acme → (all)'],
    [['--role', 'admin', '--no-org'], { role: 'admin', organization: null }, 'updated bob: role viewer → admin, organization acme → (all)'],
    [['--role', 'viewer', '--org', 'acme'], { role: 'viewer', organization: 'acme' }, 'bob is already so: nothing changed'],
  ])('%j sends %j and says what changed', async (flags, body, note) => {
    const seen: Seen[] = [];
    const r = await runDs(['user', 'update', 'bob', ...flags, '--json'], { routes: updateRoutes(seen) });
    expect(r.code).toBe(0);
    expect(seen.map((s) => s.body)).toEqual([body]);
    expect(r.stderr).toBe(`${note}\n`);
    expect(JSON.parse(r.stdout)).toEqual({ ...bob, ...body });
  });

  it('names the flags when there is nothing to update, before sending anything', async () => {
    const r = await runDs(['user', 'update', 'bob'], { routes: updateRoutes() });
    expect(r.code).toBe(1);
    expect(r.requests).toEqual([]);
    expect(r.stderr).toBe('error: nothing to update: pass --role, --org <name> or --no-org\n');
  });

  it('reports DS refusing to demote the last admin who sees all of DS', async () => {
    const r = await runDs(['user', 'update', 'admin', '--role', 'viewer'], {
      routes: {
        'GET /admin/users/admin': () => ok(user('admin', { role: 'admin' })),
        'PATCH /admin/users/admin': () => fail(409, 'CONFLICT', 'admin is the last admin who is not limited to an organization; make another one first'),
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: CONFLICT: admin is the last admin/);
  });
});
