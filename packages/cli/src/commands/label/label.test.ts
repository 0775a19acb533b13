import { afterEach, describe, expect, it } from 'vitest';
import { fail, label, ok, organization, page, parseCsv, removeTempDirs, runDs, T, type Seen } from '../../test/harness.js';

afterEach(removeTempDirs);

const key = { id: 'k1', prefix: 'ds_lbl_ab12', status: 'active', createdAt: T, expiresAt: null, revokedAt: null, lastUsedAt: null };
const absent = () => fail(404, 'NOT_FOUND', 'label does not exist');

describe('ds label create', () => {
  const created = label('app', { keys: [key], apiKey: 'ds_lbl_ab12_secret' });
  const routes = {
    'GET /admin/labels/app': absent,
    'PUT /admin/labels/app': () => ok(created, 201),
    'GET /admin/organizations': () => page([organization('acme'), organization('globex')]),
  };

  it('prints the API key once with a warning on stderr', async () => {
    const r = await runDs(['label', 'create', 'app', '--org', 'acme', '--description', 'the app'], { routes });
    expect(r.code).toBe(0);
    expect(r.find('PUT', '/admin/labels/app')[0]!.body).toEqual({ organization: 'acme', description: 'the app' });
    expect(r.stdout).toContain('ds_lbl_ab12_secret');
    expect(r.stderr).toMatch(/warning: .*API key.*not show it again/);
    expect(r.stderr).not.toContain('ds_lbl_ab12_secret');
  });

  it('--json prints the whole label including apiKey', async () => {
    const r = await runDs(['label', 'create', 'app', '--organization', 'acme', '--json'], { routes });
    expect(JSON.parse(r.stdout)).toEqual(created);
  });

  it('--csv includes the apiKey column', async () => {
    const r = await runDs(['label', 'create', 'app', '--org', 'acme', '--csv'], { routes });
    const [header, row] = parseCsv(r.stdout);
    expect(row![header!.indexOf('apiKey')]).toBe('ds_lbl_ab12_secret');
    expect(row![header!.indexOf('keys')]).toBe(`${key.prefix} (${key.status})`); // no JSON in a cell
  });

  it('offers the organizations to choose from on a terminal', async () => {
    const r = await runDs(['label', 'create', 'app'], { terminal: true, answers: ['globex'], routes });
    expect(r.code).toBe(0);
    expect(r.prompts).toHaveLength(1);
    expect(r.prompts[0]!.kind).toBe('select');
    expect((r.prompts[0]!.options as { choices: { value: string }[] }).choices.map((c) => c.value)).toEqual(['acme', 'globex']);
    expect(r.find('PUT', '/admin/labels/app')[0]!.body).toMatchObject({ organization: 'globex' });
  });

  it('refuses when the label exists (it would be moved or changed)', async () => {
    const r = await runDs(['label', 'create', 'app', '--org', 'acme'], { routes: { ...routes, 'GET /admin/labels/app': () => ok(label('app')) } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CONFLICT: label "app" already exists');
    expect(r.find('PUT', '/admin/labels/app')).toEqual([]);
  });
});

describe('ds label list', () => {
  it('filters by organization and shows a key summary', async () => {
    const grace = { ...key, id: 'k0', prefix: 'ds_lbl_old', status: 'grace', expiresAt: T };
    const r = await runDs(['label', 'ls', '--org', 'acme'], {
      routes: { 'GET /admin/labels': () => page([label('app', { keys: [key, grace] })]) },
    });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.query.organization).toBe('acme');
    expect(r.stdout).toContain('1 active, 1 grace');
  });
});

describe('ds label update', () => {
  it('keeps the organization and changes only the description', async () => {
    const r = await runDs(['label', 'update', 'app', '--description', 'new'], {
      routes: {
        'GET /admin/labels/app': () => ok(label('app', { organization: 'globex', description: 'old' })),
        'PUT /admin/labels/app': (q: Seen) => ok(label('app', q.body as Record<string, unknown>)),
      },
    });
    expect(r.code).toBe(0);
    expect(r.find('PUT', '/admin/labels/app')[0]!.body).toEqual({ organization: 'globex', description: 'new' });
  });

  it('needs something to update', async () => {
    const r = await runDs(['label', 'update', 'app']);
    expect(r.code).toBe(1);
    expect(r.requests).toEqual([]);
  });
});

describe('ds label rotate-key / revoke-key', () => {
  it.each([
    ['1h', 3600],
    ['7d', 604800],
    ['120', 120],
  ])('rotate-key --grace %s sends %d seconds', async (grace, seconds) => {
    const r = await runDs(['label', 'rotate-key', 'app', '--grace', grace, '--yes', '--json'], {
      routes: { 'POST /admin/labels/app/rotate-key': () => ok({ apiKey: 'ds_lbl_new' }) },
    });
    expect(r.code).toBe(0);
    expect(r.requests[0]!.body).toEqual({ graceSeconds: seconds });
    expect(JSON.parse(r.stdout)).toEqual({ apiKey: 'ds_lbl_new' });
    expect(r.stderr).toContain('warning:');
  });

  it.each([
    ['rotate-key', 'POST /admin/labels/app/rotate-key'],
    ['revoke-key', 'POST /admin/labels/app/revoke-key'],
    ['delete', 'DELETE /admin/labels/app'],
  ])('%s needs --yes when not interactive', async (verb) => {
    const r = await runDs(['label', verb, 'app']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pass --yes/);
    expect(r.requests).toEqual([]);
  });

  it('revoke-key asks on a terminal', async () => {
    const r = await runDs(['label', 'revoke-key', 'app'], {
      terminal: true,
      answers: [true],
      routes: { 'POST /admin/labels/app/revoke-key': () => ok(label('app', { keys: [{ ...key, status: 'revoked', revokedAt: T }] })) },
    });
    expect(r.code).toBe(0);
    expect(r.prompts[0]!.message).toBe('Revoke every API key of label "app"?');
    expect(r.stdout).toContain('revoked');
  });
});

describe('ds label create by a user limited to an organization', () => {
  it('creates a label of its organization although DS answers the existence check 403 (as for any name it may not see)', async () => {
    const created = label('new-app', { apiKey: 'ds_lbl_new_secret' });
    const r = await runDs(['label', 'create', 'new-app', '--org', 'acme', '--json'], {
      routes: {
        'GET /admin/labels/new-app': () => fail(403, 'FORBIDDEN', 'this credential is limited to another organization'),
        'PUT /admin/labels/new-app': () => ok(created, 201),
      },
    });
    expect(r.code).toBe(0);
    expect(r.find('PUT', '/admin/labels/new-app')[0]!.body).toEqual({ organization: 'acme', description: null });
    expect(JSON.parse(r.stdout).apiKey).toBe('ds_lbl_new_secret');
  });
});
