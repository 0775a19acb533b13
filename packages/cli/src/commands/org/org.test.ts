import { afterEach, describe, expect, it } from 'vitest';
import { fail, ok, organization, page, parseCsv, removeTempDirs, runDs, type Seen } from '../../test/harness.js';

afterEach(removeTempDirs);

const tricky = organization('acme', { description: 'Acme, "the best"\nsince 1949', labelCount: 2 });
const plain = organization('globex', { labelCount: 0 });

/** Two pages: the CLI must follow the cursor. */
const twoPages = {
  'GET /admin/organizations': (r: Seen) => (r.query.cursor === 'c2' ? page([plain]) : page([tricky], 'c2')),
};

describe('ds org list', () => {
  it('fetches every page and prints a table', async () => {
    const r = await runDs(['org', 'list'], { routes: twoPages });
    expect(r.code).toBe(0);
    expect(r.requests.map((q) => q.query.cursor ?? null)).toEqual([null, 'c2']);
    expect(r.stdout).toMatch(/name\s+│\s+description/);
    expect(r.stdout).toContain('acme');
    expect(r.stdout).toContain('globex');
    expect(r.stdout).not.toContain('\u001b['); // no colour codes
  });

  it('--json prints exactly the API objects', async () => {
    const r = await runDs(['org', 'ls', '--json'], { routes: twoPages });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([tricky, plain]);
  });

  it('--csv prints RFC 4180 with every field', async () => {
    const r = await runDs(['org', 'list', '--csv'], { routes: twoPages });
    expect(r.code).toBe(0);
    const rows = parseCsv(r.stdout);
    expect(rows[0]).toEqual(['name', 'description', 'labelCount', 'createdAt', 'updatedAt']);
    expect(rows.slice(1)).toEqual([
      ['acme', 'Acme, "the best"\nsince 1949', '2', tricky.createdAt, tricky.updatedAt],
      ['globex', '', '0', plain.createdAt, plain.updatedAt],
    ]);
  });

  it('--csv of an empty list still prints the header', async () => {
    const r = await runDs(['org', 'list', '--csv'], { routes: { 'GET /admin/organizations': () => page([]) } });
    expect(parseCsv(r.stdout)).toEqual([['name', 'description', 'labelCount', 'createdAt', 'updatedAt']]);
  });

  it('--limit fetches only what it needs', async () => {
    const r = await runDs(['org', 'list', '--limit', '1', '--json'], { routes: twoPages });
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]!.query.limit).toBe('1');
    expect(JSON.parse(r.stdout)).toEqual([tricky]);
  });

  it('rejects a --limit that is not a positive number', async () => {
    const r = await runDs(['org', 'list', '--limit', '0'], { routes: twoPages });
    expect(r.code).toBe(1);
    expect(r.requests).toEqual([]);
  });
});

describe('ds org create', () => {
  it('creates when the organization does not exist', async () => {
    const created = organization('acme', { description: 'ACME' });
    const r = await runDs(['org', 'create', 'acme', '--description', 'ACME', '--json'], {
      routes: {
        'GET /admin/organizations/acme': () => fail(404, 'NOT_FOUND', 'organization acme does not exist'),
        'PUT /admin/organizations/acme': () => ok(created, 201),
      },
    });
    expect(r.code).toBe(0);
    expect(r.find('PUT', '/admin/organizations/acme')[0]!.body).toEqual({ description: 'ACME' });
    expect(JSON.parse(r.stdout)).toEqual(created);
  });

  it('refuses to overwrite an existing organization', async () => {
    const r = await runDs(['org', 'create', 'acme', '--description', 'new'], {
      routes: { 'GET /admin/organizations/acme': () => ok(organization('acme')) },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: CONFLICT: organization "acme" already exists');
    expect(r.find('PUT', '/admin/organizations/acme')).toEqual([]);
  });

  it('goes on to create when the existence check is refused 403 (a user limited to an organization sees none), so DS says the real cause', async () => {
    const r = await runDs(['org', 'create', 'acme2'], {
      routes: {
        'GET /admin/organizations/acme2': () => fail(403, 'FORBIDDEN', 'this credential is limited to another organization'),
        'PUT /admin/organizations/acme2': () =>
          fail(403, 'INSUFFICIENT_SCOPE', 'this credential lacks the scope orgs:write: users limited to an organization (this one: acme) do not have it'),
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: INSUFFICIENT_SCOPE: this credential lacks the scope orgs:write: users limited to an organization/);
    expect(r.stderr).not.toContain('limited to another organization');
  });

  it('does not treat other errors of the existence check as "absent"', async () => {
    const r = await runDs(['org', 'create', 'acme'], {
      routes: { 'GET /admin/organizations/acme': () => fail(500, 'INTERNAL_ERROR', 'no') },
    });
    expect(r.code).toBe(1);
    expect(r.find('PUT', '/admin/organizations/acme')).toEqual([]);
  });
});

describe('ds org update', () => {
  it('fails on a missing organization instead of creating it', async () => {
    const r = await runDs(['org', 'update', 'nope', '--description', 'x'], {
      routes: { 'GET /admin/organizations/nope': () => fail(404, 'NOT_FOUND', 'organization nope does not exist', 'r9') },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: NOT_FOUND: organization nope does not exist (request r9)\n');
    expect(r.find('PUT', '/admin/organizations/nope')).toEqual([]);
  });

  it('sends the new description; an empty one clears it', async () => {
    const r = await runDs(['org', 'update', 'acme', '--description', ''], {
      routes: {
        'GET /admin/organizations/acme': () => ok(organization('acme', { description: 'old' })),
        'PUT /admin/organizations/acme': () => ok(organization('acme')),
      },
    });
    expect(r.code).toBe(0);
    expect(r.find('PUT', '/admin/organizations/acme')[0]!.body).toEqual({ description: null });
  });

  it('needs --description when not interactive', async () => {
    const r = await runDs(['org', 'update', 'acme'], { routes: { 'GET /admin/organizations/acme': () => ok(organization('acme')) } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: missing --description (no prompt: not interactive)\n');
  });
});

describe('ds org delete', () => {
  const routes = {
    'DELETE /admin/organizations/acme': (r: Seen) =>
      r.query.force === 'true'
        ? ok({ deleted: 'acme', removed: { labels: 2, versions: 0, devices: 1 } })
        : fail(409, 'HAS_DEPENDANTS', 'organization acme still has 2 labels', 'r7'),
  };

  it('refuses without --yes when not interactive, and sends nothing', async () => {
    const r = await runDs(['org', 'delete', 'acme', '--force'], { routes });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pass --yes');
    expect(r.requests).toEqual([]);
  });

  it('prints what it removed', async () => {
    const r = await runDs(['org', 'delete', 'acme', '--force', '--yes'], { routes });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('deleted organization acme (also removed 2 labels, 1 device)\n');
  });

  it('--json prints the API answer', async () => {
    const r = await runDs(['--yes', 'org', 'delete', 'acme', '--force', '--json'], { routes });
    expect(JSON.parse(r.stdout)).toEqual({ deleted: 'acme', removed: { labels: 2, versions: 0, devices: 1 } });
  });

  it('explains dependants and suggests --force', async () => {
    const r = await runDs(['org', 'delete', 'acme', '--yes'], { routes });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: HAS_DEPENDANTS: organization acme still has 2 labels (request r7)\nhint: to delete it anyway: ds org delete acme --force\n');
  });

  it('asks on a terminal and deletes on yes', async () => {
    const r = await runDs(['org', 'delete', 'acme', '--force'], { terminal: true, answers: [true], routes });
    expect(r.code).toBe(0);
    expect(r.prompts[0]!.message).toBe('Delete organization "acme" and everything in it?');
    expect(r.find('DELETE', '/admin/organizations/acme')).toHaveLength(1);
  });
});
