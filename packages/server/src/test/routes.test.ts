import { API, API_PREFIX, API_ROUTES, OPERATIONS_PREFIX, OPERATIONS_ROUTES, pathParams } from '@ds/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { honoPath } from '../lib/routes.js';
import { DASHBOARD_ROUTES, DASHBOARD_PREFIX } from '../dashboard/dashboard.routes.js';
import { createTestContext, type TestContext } from './harness.js';

// Every route the app serves comes from a definition (shared's API, or the dashboard's pages), so
// its credential, scope, validation, OpenAPI operation and security cases cannot be forgotten.

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => ctx?.close());

const defined = new Set([
  ...API_ROUTES.map((r) => `${r.method} ${API_PREFIX}${honoPath(r.path)}`),
  ...DASHBOARD_ROUTES.map((r) => `${r.method} ${DASHBOARD_PREFIX}${honoPath(r.path)}`.replace(/\/$/, '')),
  ...OPERATIONS_ROUTES.map((r) => `${r.method} ${OPERATIONS_PREFIX}${honoPath(r.path)}`),
]);

/** `GET /v3_5/admin/labels/:name` for each route handler the app has (middleware excluded). */
function served(): string[] {
  return ctx.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/\/$/, '')}`);
}

describe('route definitions', () => {
  it('every route the app serves has a definition', () => {
    const undefinedRoutes = [...new Set(served())].filter((r) => !defined.has(r));
    expect(undefinedRoutes).toEqual([]);
  });

  it('every definition is served', () => {
    const routes = new Set(served());
    expect([...defined].filter((r) => !routes.has(r))).toEqual([]);
  });

  it('handlers for every method (app.all) exist only as middleware on wildcard paths', () => {
    const all = ctx.app.routes.filter((r) => r.method === 'ALL').map((r) => r.path);
    expect(all.filter((p) => !p.endsWith('*'))).toEqual([]);
  });

  it('names are unique and each is the key it is found under', () => {
    for (const [key, route] of Object.entries(API)) expect(route.name).toBe(key);
    expect(new Set(API_ROUTES.map((r) => r.name)).size).toBe(API_ROUTES.length);
    expect(new Set(API_ROUTES.map((r) => `${r.method} ${r.path}`)).size).toBe(API_ROUTES.length);
  });

  it.each(API_ROUTES.map((r) => [r.name, r] as const))('%s: path placeholders, params schema and example agree', (_, route) => {
    const names = pathParams(route.path);
    expect(Object.keys(route.params?.shape ?? {}).sort()).toEqual([...names].sort());
    if (names.length > 0) {
      expect(route.example?.params, `${route.name} needs example params (OpenAPI and the security tests use them)`).toBeDefined();
      expect(route.params!.safeParse(route.example!.params).success).toBe(true);
    }
    if (route.example?.query !== undefined) expect(route.query?.safeParse(route.example.query).success).toBe(true);
    if (route.body && route.auth.kind !== 'device-message') {
      const example = route.example?.body ?? {};
      expect(route.body.safeParse(example).success, `${route.name}: the example body (or {}) must be valid`).toBe(true);
    }
    if (route.paginated) expect(route.query?.safeParse({ limit: '10' }).success).toBe(true);
  });

  it('the OpenAPI document has one operation per definition, with its operationId', async () => {
    const res = await ctx.request('GET', '/v3_5/admin/openapi.json');
    expect(res.status).toBe(200);
    const operations = Object.entries(res.body.paths as Record<string, Record<string, { operationId: string }>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => `${op.operationId} ${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [...API_ROUTES.map((r) => `${r.name} ${r.method} ${API_PREFIX}${r.path}`), ...OPERATIONS_ROUTES.map((r) => `${r.name} ${r.method} ${OPERATIONS_PREFIX}${r.path}`)].sort(),
    );
  });
});
