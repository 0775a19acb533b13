import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminContext, type TestContext, type TestResponse } from '../test/harness.js';
import { lockVersion } from './versions.repository.js';

// Optimistic concurrency on versions: the ETag of every answer about a version, and If-Match /
// If-None-Match checked in the transaction that writes (issue 12, item 5).

let ctx: TestContext;
let admin: string;

beforeEach(async () => ({ ctx, admin } = await adminContext()));
afterEach(async () => ctx.close());

const V = '/v3_5/admin/versions';
type Conditions = { 'if-match'?: string; 'if-none-match'?: string };
const get = (id: string) => ctx.request('GET', `${V}/${id}`, { token: admin });
const put = (id: string, body: unknown, headers: Conditions = {}) => ctx.request('PUT', `${V}/${id}`, { token: admin, body, headers });
const etagOf = (res: TestResponse) => res.headers.get('etag');
/** The version as stored (GET's data) and its ETag, to show a refused request changed nothing. */
const state = async (id: string) => {
  const res = await get(id);
  return { status: res.status, data: res.body.data ?? null, etag: etagOf(res) };
};

function expect412(res: TestResponse, description: RegExp) {
  expect(res.status, JSON.stringify(res.body)).toBe(412);
  expect(res.body).toMatchObject({ success: false, code: 'PRECONDITION_FAILED' });
  expect(res.body.description).toMatch(description);
}

describe('the ETag of a version', () => {
  it('is strong and quoted, the same on every read, and the one its PUT, configs and keys answer with', async () => {
    const created = await put('3.9.0', { recommended: true });
    expect(created.status).toBe(201);
    const etag = etagOf(created);
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(etagOf(await get('3.9.0'))).toBe(etag);
    expect(etagOf(await get('3.9.0'))).toBe(etag);
    expect(etagOf(await ctx.request('GET', `${V}/3.9.0/context-config`, { token: admin }))).toBe(etag);
    expect(etagOf(await ctx.request('GET', `${V}/3.9.0/ssl-keystore-config`, { token: admin }))).toBe(etag);

    // Each change answers the new ETag, which the next read confirms.
    const changes: [string, () => Promise<TestResponse>][] = [
      ['PUT', () => put('3.9.0', { mandatory: true })],
      ['context config', () => ctx.request('PUT', `${V}/3.9.0/context-config`, { token: admin, body: { config: { syncIntervalSeconds: 600 } } })],
      ['keystore config', () => ctx.request('PUT', `${V}/3.9.0/ssl-keystore-config`, { token: admin, body: { config: { uri: 'https://k.example/k.p12', sha256: 'a'.repeat(64) } } })],
      ['key rotation', () => ctx.request('POST', `${V}/3.9.0/rotate-key`, { token: admin, body: { graceSeconds: 60 } })],
      ['key revocation', () => ctx.request('POST', `${V}/3.9.0/revoke-key`, { token: admin, body: {} })],
    ];
    const seen = new Set([etag]);
    for (const [what, change] of changes) {
      const res = await change();
      expect(res.status, what).toBe(200);
      const next = etagOf(res);
      expect(next, what).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
      expect(seen.has(next), `${what} did not change the ETag`).toBe(false);
      expect(etagOf(await get('3.9.0')), what).toBe(next);
      seen.add(next);
    }
  });

  it('does not change when a device uses the installation key, when time passes, or when DS-wide defaults change', async () => {
    const created = await put('3.9.0', {});
    const key = created.body.data.installationApiKey as string;
    const before = await state('3.9.0');
    ctx.clock.advance(120_000);
    const exchanged = await ctx.request('GET', '/v3_5/tokens/installation', { headers: { apikey: key } });
    expect(exchanged.status).toBe(200);
    const used = await state('3.9.0');
    expect(used.data.installationKeys[0].lastUsedAt).not.toBeNull(); // the representation did change
    expect(used.etag).toBe(before.etag);

    const defaults = await ctx.request('PUT', '/v3_5/admin/defaults/context-config', { token: admin, body: { config: { syncFailureLimit: 7 } } });
    expect(defaults.status).toBe(200);
    const after = await state('3.9.0');
    expect(after.data.contextConfig.effective.syncFailureLimit).toBe(7);
    expect(after.etag).toBe(before.etag);
  });

  it('differs between versions in the same state', async () => {
    const a = await put('1.0.0', {});
    const b = await put('1.0.1', {});
    expect(etagOf(a)).not.toBe(etagOf(b));
  });
});

describe('If-Match', () => {
  it('lets the first of two writers that read the same state win and refuses the second (412), changing nothing', async () => {
    const etag = etagOf(await put('3.9.0', { installers: [{ os: 'win64', uri: 'https://cdn.example/w.exe' }, { os: 'macosarm', uri: 'https://cdn.example/m.pkg' }] }))!;
    ctx.clock.advance(1000);
    const first = await put('3.9.0', { recommended: true }, { 'if-match': etag });
    expect(first.status).toBe(200);
    expect(etagOf(first)).not.toBe(etag);

    const before = await state('3.9.0');
    ctx.clock.advance(1000);
    const second = await put('3.9.0', { installers: [{ os: 'win64', uri: 'https://cdn.example/w2.exe' }] }, { 'if-match': etag });
    expect412(second, /version 3\.9\.0 changed since it was read/);
    expect(second.body.details).toEqual({ etag: before.etag });
    expect(etagOf(second)).toBe(before.etag); // the current one, to compare with
    expect(await state('3.9.0')).toEqual(before);
  });

  it('passes with the current ETag, one of a list, or *; weak tags never match', async () => {
    const etag = etagOf(await put('3.9.0', {}))!;
    const one = await put('3.9.0', { releaseNotes: 'one' }, { 'if-match': etag });
    expect(one.status).toBe(200);
    const two = await put('3.9.0', { releaseNotes: 'two' }, { 'if-match': `"stale", ${etagOf(one)}` });
    expect(two.status).toBe(200);
    expect412(await put('3.9.0', { releaseNotes: 'weak' }, { 'if-match': `W/${etagOf(two)}` }), /changed since it was read/);
    const star = await put('3.9.0', { releaseNotes: 'three' }, { 'if-match': '*' });
    expect(star.status).toBe(200);
    expect((await get('3.9.0')).body.data.releaseNotes).toBe('three');
  });

  it('without it the last write wins, as before', async () => {
    const etag = etagOf(await put('3.9.0', {}))!;
    expect((await put('3.9.0', { releaseNotes: 'a' })).status).toBe(200);
    expect((await put('3.9.0', { releaseNotes: 'b' })).status).toBe(200);
    expect(etagOf(await get('3.9.0'))).not.toBe(etag);
    expect((await get('3.9.0')).body.data.releaseNotes).toBe('b');
  });

  it('on a version that does not exist (any more) is 412, and PUT does not create it', async () => {
    for (const condition of ['*', '"abc"']) {
      expect412(await put('4.0.0', { recommended: true }, { 'if-match': condition }), /version 4\.0\.0 does not exist/);
      expect((await get('4.0.0')).status).toBe(404);
    }
  });

  it('refuses a header that is not an entity tag list (400), rather than ignoring the condition', async () => {
    await put('3.9.0', {});
    const before = await state('3.9.0');
    for (const header of ['no-quotes', '"a" "b"', '"a",, x']) {
      const res = await put('3.9.0', { recommended: true }, { 'if-match': header });
      expect(res.status, header).toBe(400);
      expect(res.body.code).toBe('VALIDATION_ERROR');
      expect(res.body.description).toContain('If-Match');
    }
    expect(await state('3.9.0')).toEqual(before);
  });

  describe.each([
    { name: 'DELETE', send: (h: Conditions) => ctx.request('DELETE', `${V}/3.9.0`, { token: admin, headers: h }) },
    { name: 'context config PUT', send: (h: Conditions) => ctx.request('PUT', `${V}/3.9.0/context-config`, { token: admin, body: { config: { syncIntervalSeconds: 900 } }, headers: h }) },
    {
      name: 'keystore config PUT',
      send: (h: Conditions) => ctx.request('PUT', `${V}/3.9.0/ssl-keystore-config`, { token: admin, body: { config: { uri: 'https://k.example/k.p12', sha256: 'b'.repeat(64) } }, headers: h }),
    },
    { name: 'key rotation', send: (h: Conditions) => ctx.request('POST', `${V}/3.9.0/rotate-key`, { token: admin, body: {}, headers: h }) },
    { name: 'key revocation', send: (h: Conditions) => ctx.request('POST', `${V}/3.9.0/revoke-key`, { token: admin, body: {}, headers: h }) },
  ])('on $name', ({ send }) => {
    it('a stale ETag is 412 and changes nothing; the current one passes', async () => {
      const stale = etagOf(await put('3.9.0', {}))!;
      ctx.clock.advance(1000);
      const current = etagOf(await put('3.9.0', { releaseNotes: 'changed meanwhile' }))!;
      const before = await state('3.9.0');
      const keys = await ctx.database.db.selectFrom('apiKeys').selectAll().execute();
      ctx.clock.advance(1000);
      expect412(await send({ 'if-match': stale }), /version 3\.9\.0 changed since it was read/);
      expect(await state('3.9.0')).toEqual(before);
      expect(await ctx.database.db.selectFrom('apiKeys').selectAll().execute()).toEqual(keys);

      const res = await send({ 'if-match': current });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    });
  });
});

describe('If-None-Match: * (create only)', () => {
  it('creates a version that does not exist, and is 412 once it does', async () => {
    const created = await put('3.9.0', { recommended: true }, { 'if-none-match': '*' });
    expect(created.status).toBe(201);
    const before = await state('3.9.0');
    expect412(await put('3.9.0', { recommended: false }, { 'if-none-match': '*' }), /version 3\.9\.0 already exists/);
    expect(await state('3.9.0')).toEqual(before);
  });
});

describe('concurrent writers', () => {
  it('of the same ETag: exactly one passes, however they interleave', async () => {
    const etag = etagOf(await put('3.9.0', {}))!;
    const notes = ['a', 'b', 'c', 'd', 'e'];
    const answers = await Promise.all(notes.map((releaseNotes) => put('3.9.0', { releaseNotes }, { 'if-match': etag })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 412, 412, 412, 412]);
    const winner = notes[answers.findIndex((a) => a.status === 200)];
    expect((await get('3.9.0')).body.data.releaseNotes).toBe(winner);
  });

  it('a write committed while a conditional PUT waits for the version is seen by it (412)', async () => {
    const etag = etagOf(await put('3.9.0', {}))!;
    let pending: Promise<TestResponse> | undefined;
    await ctx.database.db.transaction().execute(async (trx) => {
      // Another DS process holds the version (row lock on PostgreSQL, the write lock on SQLite)...
      expect(await lockVersion(trx, '3.9.0')).toBe(true);
      await trx.updateTable('versions').set({ releaseNotes: 'theirs', updatedAt: '2026-03-15T10:00:05.000Z' }).where('id', '=', '3.9.0').execute();
      // ...while this request, made from the state before, starts.
      pending = put('3.9.0', { releaseNotes: 'mine' }, { 'if-match': etag });
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    });
    expect412(await pending!, /changed since it was read/);
    expect((await get('3.9.0')).body.data.releaseNotes).toBe('theirs');
  });

  it('creating the same version at once: one creates, the others are refused (If-None-Match) and nothing is duplicated', async () => {
    // Several rounds, so the creator commits at different points of the others' requests: before
    // their check, between their check and their read, during their insert.
    for (const id of ['5.0.0', '5.0.1', '5.0.2', '5.0.3', '5.0.4', '5.0.5']) {
      const answers = await Promise.all([1, 2, 3].map(() => put(id, {}, { 'if-none-match': '*' })));
      expect(answers.map((a) => a.status).sort(), id).toEqual([201, 412, 412]);
      const keys = await ctx.database.db.selectFrom('apiKeys').select('versionId').where('versionId', '=', id).execute();
      expect(keys, id).toHaveLength(1);
    }
  });

  it('creating the same version at once without conditions: one creates, the others update it or are told to retry', async () => {
    for (const id of ['5.1.0', '5.1.1', '5.1.2']) {
      const answers = await Promise.all([1, 2, 3].map(() => put(id, {})));
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s === 201), id).toHaveLength(1);
      expect(statuses.every((s) => s === 201 || s === 200 || s === 409), id).toBe(true);
      const keys = await ctx.database.db.selectFrom('apiKeys').select('versionId').where('versionId', '=', id).execute();
      expect(keys, id).toHaveLength(1);
    }
  });
});

describe('OpenAPI', () => {
  it('shows the ETag answered, the If-Match accepted and the 412', async () => {
    const doc = (await ctx.request('GET', '/v3_5/admin/openapi.json')).body;
    const op = doc.paths['/v3_5/admin/versions/{id}'];
    expect(op.get.responses['200'].headers.ETag.description).toContain('entity tag');
    expect(op.put.parameters).toContainEqual(expect.objectContaining({ name: 'If-Match', in: 'header', required: false }));
    expect(op.put.parameters).toContainEqual(expect.objectContaining({ name: 'If-None-Match', in: 'header' }));
    expect(op.put.responses['201'].headers.ETag).toBeDefined();
    expect(op.put.responses['412'].description).toContain('PRECONDITION_FAILED');
    expect(op.delete.parameters).toContainEqual(expect.objectContaining({ name: 'If-Match', in: 'header' }));
    expect(doc.paths['/v3_5/admin/versions/{id}/context-config'].put.parameters).toContainEqual(expect.objectContaining({ name: 'If-Match' }));
    expect(doc.components.schemas.Error.properties.code.enum).toContain('PRECONDITION_FAILED');
  });
});
