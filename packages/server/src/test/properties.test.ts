import { API_PREFIX, API_ROUTES, ERROR_CODES, renderPath, type DeviceClient, type RouteDefinition } from '@ds/shared';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../db/types.js';
import { device as deviceClient, sealMessageAs, seed } from './devices.js';
import { createTestContext, type TestContext } from './harness.js';

// Property tests over every route of shared's API: random and mutated paths, queries, headers,
// bodies and device messages, with and without credentials. Whatever arrives, DS never answers
// 5xx, a refusal is the error envelope with a code of the closed set, and a refusal changes
// nothing. The number of runs per route is bounded (DS_PROPERTY_RUNS) so CI stays quick; a
// failure prints fast-check's seed and the shrunk request, to replay it.

const RUNS = Number(process.env.DS_PROPERTY_RUNS ?? 25);

let ctx: TestContext;
let admin: string;
let labelKey: string;
let installationKey: string;
let applicationToken: string;
let realDevice: DeviceClient;
/** A valid sealed sync and version check of the real device, for byte mutations. */
const sealed: Record<string, string> = {};

beforeAll(async () => {
  ctx = await createTestContext();
  admin = await ctx.login();
  ({ labelKey, installationKey } = await seed(ctx, admin));
  // Installers DS can really serve (a file under the installer root), so a download that is
  // allowed succeeds and only a refusal is a 4xx; a failing origin's 502 is not what this tests.
  writeFileSync(join(ctx.installerRoot, 't1c.exe'), 'installer bytes');
  const uri = pathToFileURL(join(ctx.installerRoot, 't1c.exe')).href;
  const put = await ctx.request('PUT', '/v3_5/admin/versions/3.8.1', { token: admin, body: { installers: [{ os: 'win64', uri }, { os: 'linux64', uri }] } });
  expect(put.status).toBe(200);
  applicationToken = (await ctx.request('GET', '/v3_5/tokens/application', { headers: { apikey: labelKey } })).body.data;
  realDevice = await deviceClient(ctx, installationKey);
  await realDevice.register();
  const seal = (payload: object) => sealMessageAs(ctx, realDevice, payload);
  sealed.sync = await seal({ version: '3.8.1', status: 'ACTIVE', digests: { contextConfig: null, sslKeystoreConfig: null }, labels: [], userAgents: [], transactions: [] });
  sealed.versionCheck = await seal({ version: '3.8.1' });
  recordings = vi.spyOn(ctx.app.services.background, 'track');
  // A 5xx is logged with its cause: keep the last one for the failure message.
  const logger = ctx.app.services.logger;
  ctx.app.services.logger = { ...logger, error: (message, fields) => (lastError = `${message} ${JSON.stringify(fields)}`) };
});
let lastError = '';
/** Download events whose recording has started. */
let recordings: { mock: { calls: unknown[] } };

afterAll(async () => ctx?.close());

/**
 * Everything DS keeps, except the bookkeeping a refusal is meant to leave: failure counts of rate
 * limits and the `last used` times of credentials.
 */
const TABLES: (keyof Database)[] = [
  'organizations',
  'labels',
  'apiKeys',
  'versions',
  'installers',
  'settings',
  'users',
  'adminTokens',
  'dsKeys',
  'devices',
  'deviceLabels',
  'deviceUserAgents',
  'deviceCounters',
  'labelDailyCounters',
  'labelMonthlyCounters',
  'labelDailyTotals',
  'labelMonthlyTotals',
  'counterRollovers',
  'deviceMessages',
  'downloadEvents',
];
const BOOKKEEPING = new Set(['lastUsedAt']);

async function snapshot() {
  const out: Record<string, string[]> = {};
  for (const table of TABLES) {
    const rows = (await ctx.database.db.selectFrom(table).selectAll().execute()) as Record<string, unknown>[];
    out[table] = rows.map((r) => JSON.stringify(Object.entries(r).filter(([k]) => !BOOKKEEPING.has(k)))).sort();
  }
  return out;
}

const credentials = () =>
  fc.constantFrom<Record<string, string>>(
    {},
    { authorization: `Bearer ${admin}` },
    { authorization: 'Bearer ds_adm_' + 'x'.repeat(32) },
    { authorization: `Bearer ${applicationToken}` },
    { authorization: 'Basic YWRtaW46YWRtaW4=' },
    { apikey: labelKey },
    { apikey: installationKey },
    { apikey: 'ds_lbl_nope' },
  );

const nasty = fc.constantFrom('..', '%2e%2e', '%00', '%', '%ZZ', ' ', '\u0000', 'a'.repeat(300), '😀', '3.8.1', 'acme', 'acme-web', '-1', '1e9', '[]', '{}', 'null');
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }), nasty);

/** A JSON value that looks like the example body with one field replaced, dropped or added. */
function mutated(example: unknown) {
  if (example === null || typeof example !== 'object' || Array.isArray(example)) return fc.anything();
  const keys = Object.keys(example);
  return fc.oneof(
    fc.record({ key: keys.length ? fc.constantFrom(...keys) : text, value: fc.jsonValue() }).map(({ key, value }) => ({ ...example, [key]: value })),
    keys.length ? fc.constantFrom(...keys).map((key) => Object.fromEntries(Object.entries(example).filter(([k]) => k !== key))) : fc.constant({}),
    fc.record({ key: text, value: fc.jsonValue() }).map(({ key, value }) => ({ ...example, [key]: value })),
  );
}

function bodies(route: RouteDefinition) {
  const example = route.example?.body ?? {};
  const json = fc.oneof(fc.constant(example), mutated(example), fc.jsonValue(), fc.anything({ maxDepth: 3 })).map((value) => {
    try {
      return JSON.stringify(value) ?? 'null';
    } catch {
      return '{}';
    }
  });
  const jose = sealed[route.name]
    ? fc.oneof(
        fc.constant(sealed[route.name]!),
        fc.record({ at: fc.nat(), char: fc.constantFrom('A', '_', '-', '.', '0') }).map(({ at, char }) => {
          const s = sealed[route.name]!;
          const i = at % s.length;
          return s.slice(0, i) + char + s.slice(i + 1);
        }),
        fc.record({ at: fc.nat() }).map(({ at }) => sealed[route.name]!.slice(0, at % sealed[route.name]!.length)),
      )
    : fc.constant('');
  return fc.oneof(json, jose, text, fc.constant('{"a":'), fc.constant('x'.repeat(5000)));
}

function requests(route: RouteDefinition) {
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const params = fc.record(
    Object.fromEntries(names.map((n) => [n, fc.oneof(fc.constant(route.example?.params?.[n] ?? 'x'), fc.constant(realDevice.deviceId!), text)])),
  ) as fc.Arbitrary<Record<string, string>>;
  const query = fc.oneof(
    fc.constant(route.example?.query ?? {}),
    fc.dictionary(fc.oneof(fc.constantFrom('limit', 'cursor', 'force', 'by', 'from', 'to', 'organization', 'all', 'label', 'since', 'status'), text), text, { maxKeys: 3 }),
  );
  const contentType = fc.constantFrom<string | undefined>('application/json', 'application/jose', 'text/plain', 'application/x-www-form-urlencoded', undefined);
  return fc.record({ params, query, credentials: credentials(), contentType, body: bodies(route), range: fc.option(fc.constantFrom('bytes=0-0', 'bytes=5-', 'bytes=abc', 'bytes=99999999-'), { nil: undefined }) });
}

function target(route: RouteDefinition, params: Record<string, string>, query: Record<string, string>) {
  const qs = new URLSearchParams(query).toString();
  // A parameter value may contain anything; render what a client could send (percent-encoded).
  let path: string;
  try {
    path = renderPath(route.path, params);
  } catch {
    path = route.path;
  }
  return `${API_PREFIX}${path}${qs ? `?${qs}` : ''}`;
}

describe.each(API_ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))('%s', (_, route) => {
  it('answers random and mutated requests without a 5xx, and a refusal changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(requests(route), async (req) => {
        const before = await snapshot();
        const recorded = recordings.mock.calls.length;
        const headers: Record<string, string> = { ...req.credentials };
        if (req.contentType) headers['content-type'] = req.contentType;
        if (req.range) headers.range = req.range;
        const sendsBody = route.method !== 'GET' && route.method !== 'DELETE';
        const res = await ctx.app.request(target(route, req.params, req.query), { method: route.method, headers, ...(sendsBody ? { body: req.body } : {}) });
        const bodyText = await res.text();
        // A download records its event in the background once its body has ended: wait for it.
        if (route.produces === 'installer' && (res.status === 200 || res.status === 206)) {
          await vi.waitFor(() => expect(recordings.mock.calls.length).toBe(recorded + 1), { timeout: 15_000, interval: 5 });
        }
        await ctx.app.services.background.drain(15_000);
        expect(res.status, `${bodyText}\n${lastError}`).toBeLessThan(500);
        if (res.status >= 400) {
          const envelope = JSON.parse(bodyText) as { success: boolean; code: string; requestId: string };
          expect(envelope.success).toBe(false);
          expect(Object.keys(ERROR_CODES)).toContain(envelope.code);
          expect(envelope.requestId).toBe(res.headers.get('x-request-id'));
          const after = await snapshot();
          const changed = TABLES.filter((t) => JSON.stringify(after[t]) !== JSON.stringify(before[t]));
          expect(changed, `${res.status} ${bodyText} changed ${changed.map((t) => `${t}: ${JSON.stringify(after[t]).slice(0, 600)}`).join('; ')}`).toEqual([]);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
