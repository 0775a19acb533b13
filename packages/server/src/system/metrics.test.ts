import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../config.js';
import { rollover } from '../counters/rollover.service.js';
import { Metrics } from '../lib/metrics.js';
import { device, registeredDevice, sealMessageAs, seed } from '../test/devices.js';
import { createTestContext, type TestContext } from '../test/harness.js';
import { parsePrometheus, type Exposition } from '../test/prometheus.js';

// GET /metrics: the Prometheus text of this DS, counters that move with the traffic, labels that
// are route templates and codes (never what a client sent), and the optional bearer token.

const TOKEN = 'metrics-token-0123456789abcdef';
let ctx: TestContext;
afterEach(async () => ctx?.close());

async function scrape(headers: Record<string, string> = {}): Promise<Exposition> {
  const res = await ctx.app.request('/metrics', { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

const requests = (m: Exposition, route: string, status: string, method = 'GET') => m.value('ds_http_requests_total', { method, route, status });

describe('GET /metrics without a metrics token', () => {
  beforeEach(async () => {
    ctx = await createTestContext();
  });

  it('is open, parses as Prometheus text and declares every DS metric', async () => {
    const m = await scrape();
    for (const [name, type] of [
      ['ds_http_requests_total', 'counter'],
      ['ds_http_request_duration_seconds', 'histogram'],
      ['ds_device_messages_total', 'counter'],
      ['ds_sync_transactions_accepted_total', 'counter'],
      ['ds_sync_transactions_rejected_total', 'counter'],
      ['ds_rollover_rows_total', 'counter'],
      ['ds_rollovers_total', 'counter'],
      ['ds_rollover_pending_months', 'gauge'],
      ['ds_downloads_total', 'counter'],
      ['ds_download_bytes_total', 'counter'],
      ['ds_webhook_deliveries_total', 'counter'],
      ['ds_db_transaction_duration_seconds', 'histogram'],
      ['ds_build_info', 'gauge'],
    ]) {
      expect(m.types.get(name!), name).toBe(type);
    }
    expect(m.value('ds_build_info', { version: '0.0.0-test' })).toBe(1);
  });

  it('counts requests by route template, method and status, with their durations', async () => {
    const before = await scrape();
    for (let i = 0; i < 3; i++) expect((await ctx.request('GET', '/v3_5/system/status')).status).toBe(200);
    const admin = await ctx.login();
    for (const name of ['acme-web', 'no-such-label']) await ctx.request('GET', `/v3_5/admin/labels/${name}`, { token: admin });
    await ctx.request('GET', '/v3_5/admin/labels/acme-web');
    const after = await scrape();

    expect(requests(after, '/v3_5/system/status', '200') - requests(before, '/v3_5/system/status', '200')).toBe(3);
    const durations = (m: Exposition) => m.value('ds_http_request_duration_seconds_count', { method: 'GET', route: '/v3_5/system/status' });
    expect(durations(after) - durations(before)).toBe(3);
    // One series per template, whatever the label names asked for (neither exists); refusals by their status.
    expect(requests(after, '/v3_5/admin/labels/{name}', '404')).toBe(2);
    expect(requests(after, '/v3_5/admin/labels/{name}', '401')).toBe(1);
    expect(requests(after, '/v3_5/admin/auth/login', '200', 'POST')).toBe(1);
    // The previous scrape is counted too.
    expect(requests(after, '/metrics', '200')).toBe(requests(before, '/metrics', '200') + 1);
  });

  it('counts paths no route matches as one series, without the path', async () => {
    for (const path of ['/wp-login.php', '/v3_5/admin/nothing-here-7f3a', '/.env']) expect((await ctx.app.request(path)).status).toBe(404);
    await ctx.app.request('/v3_5/system/status', { method: 'BREW' });
    const res = await ctx.app.request('/metrics');
    const text = await res.text();
    const m = parsePrometheus(text);
    expect(m.value('ds_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(3);
    expect(m.sum('ds_http_requests_total', { method: 'OTHER' })).toBe(1);
    for (const raw of ['wp-login', 'nothing-here-7f3a', '.env', 'BREW']) expect(text).not.toContain(raw);
    const routes = new Set(m.samples.map((s) => s.labels.route).filter(Boolean));
    for (const route of routes) expect(route === 'unmatched' || route!.startsWith('/')).toBe(true);
  });

  it('counts device messages by kind and outcome, and sync entries accepted and refused by code', async () => {
    const admin = await ctx.login();
    const { installationKey } = await seed(ctx, admin);
    const client = await registeredDevice(ctx, installationKey);
    client.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 5 });
    client.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'auth' });
    client.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', date: new Date('2031-01-01T00:00:00Z') });
    await client.sync();
    await client.versionCheck();

    // The same sealed message twice: answered once, then from its record; its entries count once.
    const payload = {
      version: '3.8.1',
      status: 'ACTIVE',
      digests: { contextConfig: null, sslKeystoreConfig: null },
      labels: ['acme-web'],
      userAgents: [],
      transactions: [{ label: 'acme-web', module: 'beid', useCase: 'sign', counter: 2, txDate: '2026-03-15' }],
    };
    const sealed = await sealMessageAs(ctx, client, payload, { jti: 'replayed-jti-1' });
    const post = (body: string) => ctx.request('POST', `/v3_5/devices/${client.deviceId}/sync`, { rawBody: body, headers: { 'content-type': 'application/jose' } });
    expect((await post(sealed)).status).toBe(200);
    expect((await post(sealed)).status).toBe(200);
    expect((await post('not-a-jwe')).status).toBe(400);

    const m = await scrape();
    const messages = (kind: string, outcome: string, code = '') => m.value('ds_device_messages_total', { kind, outcome, code });
    expect(messages('sync', 'accepted')).toBe(2);
    expect(messages('sync', 'replayed')).toBe(1);
    expect(messages('sync', 'refused', 'INVALID_MESSAGE')).toBe(1);
    expect(messages('version-check', 'accepted')).toBe(1);
    // Entries, not their counters: 2 + 1 counted, one dated in the future refused.
    expect(m.value('ds_sync_transactions_accepted_total')).toBe(3);
    expect(m.value('ds_sync_transactions_rejected_total', { code: 'DATE_IN_FUTURE' })).toBe(1);
    expect(requests(m, '/v3_5/devices/{id}/sync', '200', 'POST')).toBe(3);
    expect(JSON.stringify(m.samples)).not.toContain(client.deviceId!);
    // Each recorded message is a database transaction (the SQLite hot path times its own).
    expect(m.value('ds_db_transaction_duration_seconds_count', { outcome: 'commit' })).toBeGreaterThanOrEqual(3);
  });
});

describe('downloads and the month rollover', () => {
  beforeEach(async () => {
    ctx = await createTestContext();
  });

  it('counts downloads by OS and result, and the bytes sent', async () => {
    const admin = await ctx.login();
    const path = join(ctx.installerRoot, 't1c-3.8.1-win64.exe');
    writeFileSync(path, Buffer.alloc(50_000, 1));
    expect((await ctx.request('PUT', '/v3_5/admin/versions/3.8.1', { token: admin, body: { installers: [{ os: 'win64', uri: pathToFileURL(path).href }] } })).status).toBe(201);
    const whole = await ctx.app.request('/v3_5/downloads/installers/win64');
    expect((await whole.arrayBuffer()).byteLength).toBe(50_000);
    const part = await ctx.app.request('/v3_5/downloads/installers/win64', { headers: { range: 'bytes=0-9' } });
    expect(part.status).toBe(206);
    await part.arrayBuffer();
    // Counted once each response has ended, with its download event (in the background).
    await vi.waitFor(async () => expect((await scrape()).value('ds_downloads_total', { os: 'win64', result: 'complete' })).toBe(2), { timeout: 15_000, interval: 20 });
    const m = await scrape();
    expect(m.value('ds_download_bytes_total', { os: 'win64' })).toBe(50_010);
    expect(requests(m, '/v3_5/downloads/installers/{os}', '206')).toBe(1);
  });

  it('counts rollovers and the rows they move, and how many months wait', async () => {
    ctx.clock.set('2026-01-20T10:00:00Z');
    const admin = await ctx.login();
    const { installationKey } = await seed(ctx, admin);
    const client = await device(ctx, installationKey);
    await client.register();
    client.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'sign', count: 3 });
    client.recordTransaction({ label: 'acme-web', module: 'beid', useCase: 'auth', count: 1 });
    await client.sync();
    ctx.clock.set('2026-02-02T10:00:00Z');
    const before = await scrape();
    expect(before.value('ds_rollover_pending_months')).toBe(1);
    expect(before.value('ds_rollovers_total', { result: 'completed' })).toBe(0);

    const [january] = await rollover(ctx.app.services, undefined);
    const m = await scrape();
    expect(m.value('ds_rollover_pending_months')).toBe(0);
    expect(m.value('ds_rollovers_total', { result: 'completed' })).toBe(1);
    expect(m.value('ds_rollover_rows_total', { phase: 'labels' })).toBeGreaterThanOrEqual(january!.dailyRowsArchived);
    expect(january!.dailyRowsArchived).toBe(2);
    expect(m.value('ds_rollover_rows_total', { phase: 'devices' })).toBe(january!.deviceRowsReset + january!.deviceRowsDeleted);
    expect(january!.deviceRowsReset + january!.deviceRowsDeleted).toBeGreaterThan(0);
  });

  it('says NaN, not 0, for the months waiting when the database fails or hangs, and answers the rest', async () => {
    ctx.app.services.metrics.onRolloverScrape(() => Promise.reject(new Error('connection refused')));
    expect(Number.isNaN((await scrape()).value('ds_rollover_pending_months'))).toBe(true);

    // A database that never answers: the scrape still answers, after the probe's bound.
    const metrics = new Metrics({ version: 'x', probeTimeoutMs: 50 });
    metrics.onRolloverScrape(() => new Promise<number>(() => {}));
    metrics.httpRequests.inc({ method: 'GET', route: '/livez', status: '200' });
    const m = parsePrometheus(await metrics.text());
    expect(Number.isNaN(m.value('ds_rollover_pending_months'))).toBe(true);
    expect(m.value('ds_http_requests_total', { method: 'GET', route: '/livez', status: '200' })).toBe(1);
  });

  it('labels the dashboard and operations routes with their whole template too', async () => {
    await ctx.app.request('/dashboard/login');
    await ctx.app.request('/dashboard/assets/no-such-asset.js');
    await ctx.app.request('/livez');
    const m = await scrape();
    expect(requests(m, '/dashboard/login', '200')).toBe(1);
    expect(requests(m, '/dashboard/assets/{name}', '404')).toBe(1);
    expect(requests(m, '/livez', '200')).toBe(1);
  });
});

describe('GET /metrics with DS_METRICS_TOKEN', () => {
  beforeEach(async () => {
    ctx = await createTestContext({ configOverrides: { DS_METRICS_TOKEN: TOKEN } });
  });

  it.each([
    ['no Authorization header', {}],
    ['another scheme', { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }],
    ['a wrong token of the same length', { authorization: `Bearer ${TOKEN.slice(0, -1)}X` }],
    ['a prefix of the token', { authorization: `Bearer ${TOKEN.slice(0, 10)}` }],
    ['the token with more after it', { authorization: `Bearer ${TOKEN}0` }],
    ['an admin session instead', { authorization: 'Bearer ds_ses_not-the-metrics-token' }],
  ])('refuses %s with 401 and a Bearer challenge, and shows no metric', async (_, headers: Record<string, string>) => {
    const res = await ctx.app.request('/metrics', { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="ds-metrics"');
    const body = (await res.json()) as { code: string; description: string };
    expect(body.code).toBe('UNAUTHENTICATED');
    expect(body.description).toMatch(/metrics token|DS_METRICS_TOKEN/);
    expect(JSON.stringify(body)).not.toContain('ds_http_requests_total');
  });

  it('answers the token, and counts the refusals', async () => {
    await ctx.app.request('/metrics');
    const m = await scrape({ authorization: `Bearer ${TOKEN}` });
    expect(requests(m, '/metrics', '401')).toBe(1);
  });

  it('leaves the health endpoints open (probes carry no token)', async () => {
    expect((await ctx.app.request('/livez')).status).toBe(200);
    expect((await ctx.app.request('/readyz')).status).toBe(200);
  });
});

describe('DS_METRICS_TOKEN', () => {
  it.each([
    ['too short', 'short-token', /DS_METRICS_TOKEN: must be at least 24 characters/],
    ['with a space', 'a metrics token with spaces in it', /DS_METRICS_TOKEN: must be printable ASCII without spaces/],
  ])('refuses a token %s, naming the setting', (_, value, message) => {
    expect(() => loadConfig({ DS_METRICS_TOKEN: value })).toThrow(message);
  });

  it('is read from the file --metrics-token-file names (trimmed), once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-metrics-token-'));
    try {
      const file = join(dir, 'token');
      writeFileSync(file, `${TOKEN}\n`);
      expect(loadConfig({}, { metricsTokenFile: file }, { metricsTokenFile: '--metrics-token-file' }).metricsToken).toBe(TOKEN);
      expect(loadConfig({ DS_METRICS_TOKEN_FILE: file }).metricsToken).toBe(TOKEN);
      expect(() => loadConfig({ DS_METRICS_TOKEN: TOKEN }, { metricsTokenFile: file }, { metricsTokenFile: '--metrics-token-file' })).toThrow(
        /--metrics-token-file: give the metrics token once/,
      );
      expect(() => loadConfig({}, { metricsTokenFile: join(dir, 'missing') }, { metricsTokenFile: '--metrics-token-file' })).toThrow(/--metrics-token-file: cannot read .*missing: ENOENT/);
      writeFileSync(file, 'short\n');
      expect(() => loadConfig({ DS_METRICS_TOKEN_FILE: file })).toThrow(/DS_METRICS_TOKEN_FILE: the token in .* must be at least 24 characters/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
