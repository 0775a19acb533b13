import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../test/harness.js';

// A refusal says its real cause: which rule refused (the role, the organization limit, the
// token's scopes) and which value was wrong, so the operator knows what would work instead.

let ctx: TestContext;
let admin: string;
let acmeAdmin: string;
let viewer: string;
let versionsReader: string;

beforeAll(async () => {
  ctx = await createTestContext();
  admin = await ctx.login();
  expect((await ctx.request('PUT', '/v3_5/admin/organizations/acme', { token: admin, body: {} })).status).toBe(201);
  acmeAdmin = await ctx.userToken('acme-admin', 'admin', 'acme');
  viewer = await ctx.userToken('vera', 'viewer');
  versionsReader = (await ctx.request('POST', '/v3_5/admin/tokens', { token: admin, body: { name: 'release', scopes: ['versions:read'] } })).body.data.token;
});
afterAll(async () => ctx?.close());

describe('refusals name their real cause', () => {
  it.each<[string, () => string, string, string, string]>([
    ['a version that is no version number', () => admin, 'PUT', '/v3_5/admin/versions/3.9', 'invalid version id: must be a semantic version such as 3.8.1'],
    ['a scope the role lacks', () => viewer, 'PUT', '/v3_5/admin/organizations/initech', 'this credential lacks the scope orgs:write: the role viewer does not have it'],
    [
      'a scope no user limited to an organization has',
      () => acmeAdmin,
      'PUT',
      '/v3_5/admin/organizations/initech',
      'this credential lacks the scope orgs:write: users limited to an organization (this one: acme) do not have it',
    ],
    ['a scope the token was made without', () => versionsReader, 'GET', '/v3_5/admin/organizations', 'this credential lacks the scope orgs:read: the token release was created without it'],
    [
      "everyone's tokens, for a user limited to an organization",
      () => acmeAdmin,
      'GET',
      '/v3_5/admin/tokens?all=true',
      'this is for users who see all of DS; this credential is limited to the organization acme',
    ],
  ])('%s', async (_what, token, method, path, description) => {
    const res = await ctx.request(method, path, { token: token(), ...(method === 'PUT' ? { body: {} } : {}) });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.body.description).toBe(description);
    expect(res.body.description).not.toContain('limited to another organization');
  });
});
