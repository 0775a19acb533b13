import type { z } from 'zod';
import type { ErrorCode } from './errors.js';
import { parseErrorEnvelope, unreachableReason } from './error-envelope.js';
import { API } from './api/index.js';
import { API_PREFIX, renderPath, type RouteData, type RouteDefinition, type RouteItem, type RouteRequest } from './api/route.js';
import type { ConfigView, ContextConfig, SslKeystoreConfig, Version, VersionPut } from './schemas/admin.js';

export { API_PREFIX };

/** An error answered by DS (or a failure to reach it), with the DS error code. */
export class DsApiError extends Error {
  override readonly name = 'DsApiError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'NETWORK_ERROR' | 'BAD_RESPONSE',
    readonly description: string,
    readonly requestId: string | null = null,
    readonly details?: unknown,
  ) {
    super(`${code}: ${description}`);
  }
}

/** One page of a list and the cursor of the next one. */
export interface PageResult<T> {
  data: T[];
  next: string | null;
}

export interface ListOptions {
  limit?: number;
  cursor?: string;
}

export interface AdminClientOptions {
  /** Base URL of the DS, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** A session token or an admin API token. */
  token?: string | undefined;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Per-request timeout in milliseconds (default 30 s). */
  timeoutMs?: number;
}

/**
 * Conditions of a change (RFC 9110 13.1): `ifMatch`, an ETag DS answered, makes the change only if
 * the object is still in that state (else 412 PRECONDITION_FAILED, and nothing changes);
 * `ifNoneMatch: '*'` only creates. Versions and their configs carry ETags.
 */
export interface Preconditions {
  ifMatch?: string | undefined;
  ifNoneMatch?: '*' | undefined;
}

/** An answer with the ETag DS sent (null when it sent none). */
export interface Tagged<T> {
  data: T;
  etag: string | null;
}

type Query = Record<string, string | number | boolean | undefined | null>;
type SendRequest = { params?: Record<string, string> | undefined; query?: unknown; body?: unknown };

/**
 * Typed client of the DS admin API (`/v3_5/admin/...`). Every method resolves with the `data`
 * of the envelope or throws a {@link DsApiError} carrying the server's code and description.
 */
export class AdminClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(options: AdminClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** A client for the same DS with another token. */
  withToken(token: string | undefined): AdminClient {
    return new AdminClient({ baseUrl: this.baseUrl, token, fetch: this.fetchImpl, timeoutMs: this.timeoutMs });
  }

  // ------------------------------------------------------------ plumbing

  private url(path: string, query?: Query): string {
    const url = new URL(this.baseUrl + API_PREFIX + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    }
    return url.toString();
  }

  /** Sends a request and returns the whole parsed envelope. */
  async raw(
    method: string,
    path: string,
    options: { query?: Query; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const headers: Record<string, string> = { ...options.headers, accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetchImpl(this.url(path, options.query), {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new DsApiError(0, 'NETWORK_ERROR', `cannot reach DS at ${this.baseUrl}: ${unreachableReason(error)}`);
    }
    const requestId = response.headers.get('x-request-id');
    const text = await response.text();
    let body: any;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      throw new DsApiError(response.status, 'BAD_RESPONSE', `DS answered ${response.status} with a body that is not JSON`, requestId);
    }
    if (!response.ok || body?.success !== true) {
      const error = parseErrorEnvelope(response.status, body);
      throw new DsApiError(response.status, error.code, error.description, error.requestId ?? requestId, error.details);
    }
    return { status: response.status, body, headers: response.headers };
  }

  /** Follows cursors until the list is complete. */
  async all<T>(list: (options: ListOptions) => Promise<PageResult<T>>, pageSize = 500): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await list({ limit: pageSize, cursor });
      out.push(...page.data);
      cursor = page.next ?? undefined;
    } while (cursor);
    return out;
  }

  // ------------------------------------------------------------ the routes

  /**
   * Calls one route of {@link API} with its typed path parameters, query and body, and checks the
   * answer against the route's response schema. Resolves with the data exactly as DS sent it.
   */
  async call<T extends RouteDefinition>(route: T, request: RouteRequest<T>): Promise<RouteData<T>> {
    return (await this.send(route, request as SendRequest)).data as RouteData<T>;
  }

  /** Like {@link call}, for a `created` route: tells whether DS created (201) or updated (200). */
  async put<T extends RouteDefinition & { created: true }>(route: T, request: RouteRequest<T>): Promise<{ created: boolean; data: RouteData<T> }> {
    const { status, data } = await this.send(route, request as SendRequest);
    return { created: status === 201, data: data as RouteData<T> };
  }

  /** One page of a paginated route and the cursor of the next one. */
  async list<T extends RouteDefinition & { paginated: true }>(route: T, request: RouteRequest<T>): Promise<PageResult<RouteItem<T>>> {
    const { data, next } = await this.send(route, request as SendRequest);
    return { data: data as RouteItem<T>[], next };
  }

  /** Like {@link call} with conditions; also answers the ETag DS sent and whether it created (201). */
  async tagged<T extends RouteDefinition>(route: T, request: RouteRequest<T>, preconditions: Preconditions = {}): Promise<Tagged<RouteData<T>> & { created: boolean }> {
    const { status, data, etag } = await this.send(route, request as SendRequest, preconditions);
    return { data: data as RouteData<T>, etag, created: status === 201 };
  }

  private async send(route: RouteDefinition, request: SendRequest, preconditions: Preconditions = {}) {
    const path = renderPath(route.path, request.params);
    const headers: Record<string, string> = {};
    if (preconditions.ifMatch !== undefined) headers['if-match'] = preconditions.ifMatch;
    if (preconditions.ifNoneMatch !== undefined) headers['if-none-match'] = preconditions.ifNoneMatch;
    const { status, body, headers: answered } = await this.raw(route.method, path, { query: queryOf(request.query), body: request.body, headers });
    if (route.response) {
      const schema = (route.paginated ? route.response.array() : route.response) as z.ZodType;
      const result = schema.safeParse(body.data);
      if (!result.success) {
        const issue = result.error.issues[0];
        const where = issue && issue.path.length > 0 ? ` at data.${issue.path.join('.')}` : '';
        throw new DsApiError(
          status,
          'BAD_RESPONSE',
          `DS answered ${route.method} ${path} with data this client does not understand${where}: ${issue?.message ?? 'invalid'}`,
          body.requestId ?? null,
        );
      }
    }
    return { status, data: body.data as unknown, next: (body.page?.next ?? null) as string | null, etag: answered.get('etag') };
  }

  // ------------------------------------------------------------ named shortcuts (the CLI's vocabulary)

  systemStatus = () => this.call(API.systemStatus, {});
  login = (username: string, password: string) => this.call(API.login, { body: { username, password } });
  logout = () => this.call(API.logout, {});
  whoami = () => this.call(API.whoami, {});

  listOrganizations = (options: ListOptions = {}) => this.list(API.listOrganizations, { query: options });
  getOrganization = (name: string) => this.call(API.getOrganization, { params: { name } });
  /** Creates or updates; `created` tells which (201 or 200). */
  putOrganization = (name: string, body: { description?: string | null }) => this.put(API.putOrganization, { params: { name }, body });
  deleteOrganization = (name: string, force = false) => this.call(API.deleteOrganization, { params: { name }, query: forceQuery(force) });

  listLabels = (options: ListOptions & { organization?: string } = {}) => this.list(API.listLabels, { query: options });
  getLabel = (name: string) => this.call(API.getLabel, { params: { name } });
  putLabel = (name: string, body: { organization: string; description?: string | null }) => this.put(API.putLabel, { params: { name }, body });
  deleteLabel = (name: string, force = false) => this.call(API.deleteLabel, { params: { name }, query: forceQuery(force) });
  rotateLabelKey = (name: string, graceSeconds?: number) => this.call(API.rotateLabelKey, { params: { name }, body: graceSeconds === undefined ? {} : { graceSeconds } });
  revokeLabelKeys = (name: string) => this.call(API.revokeLabelKey, { params: { name }, body: {} });

  listVersions = (options: ListOptions = {}) => this.list(API.listVersions, { query: options });
  getVersion = (id: string) => this.call(API.getVersion, { params: { id } });
  /** The version and its ETag, for a change that must not overwrite someone else's (`putVersion(id, body, { ifMatch })`). */
  getVersionWithEtag = (id: string): Promise<Tagged<Version>> => this.tagged(API.getVersion, { params: { id } });
  /** Creates or updates; `created` tells which (201 or 200), `etag` is the version's new ETag. */
  putVersion = (id: string, body: VersionPut, preconditions: Preconditions = {}) => this.tagged(API.putVersion, { params: { id }, body }, preconditions);
  deleteVersion = (id: string, force = false, preconditions: Preconditions = {}) =>
    this.tagged(API.deleteVersion, { params: { id }, query: forceQuery(force) }, preconditions).then((r) => r.data);
  rotateVersionKey = (id: string, graceSeconds?: number, preconditions: Preconditions = {}) =>
    this.tagged(API.rotateVersionKey, { params: { id }, body: graceSeconds === undefined ? {} : { graceSeconds } }, preconditions).then((r) => r.data);
  revokeVersionKeys = (id: string, preconditions: Preconditions = {}) => this.tagged(API.revokeVersionKey, { params: { id }, body: {} }, preconditions).then((r) => r.data);
  /** Re-reads each `file:` installer and compares it with the checksum recorded when it was saved. */
  verifyVersion = (id: string) => this.call(API.verifyVersion, { params: { id } });
  /** The context config of a version, or of the DS-wide defaults when `id` is `default`. */
  getContextConfig = (id: string): Promise<ConfigView> =>
    id === 'default' ? this.call(API.getDefaultContextConfig, {}) : this.call(API.getVersionContextConfig, { params: { id } });
  /** The context config with the ETag of its version (none for `default`), for {@link putContextConfig} with `ifMatch`. */
  getContextConfigWithEtag = (id: string): Promise<Tagged<ConfigView>> =>
    id === 'default' ? this.call(API.getDefaultContextConfig, {}).then((data) => ({ data, etag: null })) : this.tagged(API.getVersionContextConfig, { params: { id } });
  putContextConfig = (id: string, config: ContextConfig | null, preconditions: Preconditions = {}): Promise<ConfigView> =>
    id === 'default'
      ? this.call(API.putDefaultContextConfig, { body: { config } })
      : this.tagged(API.putVersionContextConfig, { params: { id }, body: { config } }, preconditions).then((r) => r.data);
  getSslKeystoreConfig = (id: string): Promise<ConfigView> =>
    id === 'default' ? this.call(API.getDefaultSslKeystoreConfig, {}) : this.call(API.getVersionSslKeystoreConfig, { params: { id } });
  putSslKeystoreConfig = (id: string, config: SslKeystoreConfig | null, preconditions: Preconditions = {}): Promise<ConfigView> =>
    id === 'default'
      ? this.call(API.putDefaultSslKeystoreConfig, { body: { config } })
      : this.tagged(API.putVersionSslKeystoreConfig, { params: { id }, body: { config } }, preconditions).then((r) => r.data);
  getDefaults = () => this.call(API.getDefaults, {});

  listUsers = (options: ListOptions = {}) => this.list(API.listUsers, { query: options });
  getUser = (username: string) => this.call(API.getUser, { params: { username } });
  createUser = (body: RouteRequest<typeof API.createUser>['body']) => this.call(API.createUser, { body });
  /** Changes a user's role and/or organization limit (null: sees all of DS). */
  updateUser = (username: string, body: RouteRequest<typeof API.updateUser>['body']) => this.call(API.updateUser, { params: { username }, body });
  deleteUser = (username: string) => this.call(API.deleteUser, { params: { username } });
  /** Sets a password; one's own needs `currentPassword` (and a login session). */
  setPassword = (username: string, password: string, currentPassword?: string) =>
    this.call(API.setUserPassword, { params: { username }, body: { password, ...(currentPassword !== undefined ? { currentPassword } : {}) } });

  listTokens = (options: ListOptions & { all?: boolean } = {}) =>
    this.list(API.listTokens, { query: { limit: options.limit, cursor: options.cursor, all: options.all ? 'true' : undefined } });
  createToken = (body: RouteRequest<typeof API.createToken>['body']) => this.call(API.createToken, { body });
  revokeToken = (id: string) => this.call(API.revokeToken, { params: { id } });

  /** Audit entries, newest first unless `order: 'asc'`, filtered (see {@link AuditListQuerySchema}). */
  listAudit = (options: ListOptions & Omit<RouteRequest<typeof API.listAudit>['query'] & object, 'limit' | 'cursor'> = {}) => this.list(API.listAudit, { query: options });
  /** Checks the audit log's hash chain; `ok: false` names the first broken link. */
  verifyAudit = () => this.call(API.verifyAudit, {});

  listWebhooks = (options: ListOptions & { organization?: string } = {}) => this.list(API.listWebhooks, { query: options });
  /** Creates a webhook; the answer's `secret` is shown this once. */
  createWebhook = (body: RouteRequest<typeof API.createWebhook>['body']) => this.call(API.createWebhook, { body });
  getWebhook = (id: string) => this.call(API.getWebhook, { params: { id } });
  deleteWebhook = (id: string) => this.call(API.deleteWebhook, { params: { id } });
  enableWebhook = (id: string) => this.call(API.enableWebhook, { params: { id }, body: {} });
  /** Replaces the signing secret (answered once, as `secret`); the old one signs too for `graceSeconds`. */
  rotateWebhookSecret = (id: string, graceSeconds?: number) => this.call(API.rotateWebhookSecret, { params: { id }, body: graceSeconds === undefined ? {} : { graceSeconds } });
  listWebhookDeliveries = (id: string, options: ListOptions & { status?: 'pending' | 'delivered' | 'failed' } = {}) =>
    this.list(API.listWebhookDeliveries, { params: { id }, query: options });
  redeliverWebhook = (id: string, deliveryId: string) => this.call(API.redeliverWebhook, { params: { id, deliveryId }, body: {} });

  listDevices = (options: ListOptions & Omit<RouteRequest<typeof API.listDevices>['query'] & object, 'limit' | 'cursor'> = {}) => this.list(API.listDevices, { query: options });
  getDevice = (id: string) => this.call(API.getDevice, { params: { id } });
  deleteDevice = (id: string) => this.call(API.deleteDevice, { params: { id } });

  /** Transactions counted per label (and device), grouped by `by`; the current month by default. */
  transactionsReport = (query: RouteRequest<typeof API.transactionsReport>['query'] = {}) => this.call(API.transactionsReport, { query });
  /** Device counts (active, stopped, not allowed) per value of `by`, or one row for all devices. */
  devicesReport = (query: RouteRequest<typeof API.devicesReport>['query'] = {}) => this.call(API.devicesReport, { query });
  /** Installer downloads grouped by `by`; the current month by day by default. Not for users limited to an organization. */
  downloadsReport = (query: RouteRequest<typeof API.downloadsReport>['query'] = {}) => this.call(API.downloadsReport, { query });
  /** Devices per version from the daily adoption snapshots, grouped by `by`; the current month by day and version by default. */
  adoptionReport = (query: RouteRequest<typeof API.adoptionReport>['query'] = {}) => this.call(API.adoptionReport, { query });
  /** Runs the month rollover now: `month`, or every closed month that still has work. One result per month rolled. */
  rolloverCounters = (body: RouteRequest<typeof API.rolloverCounters>['body'] = {}) => this.call(API.rolloverCounters, { body });

  listKeys = () => this.call(API.listKeys, {});
  /** Replaces the current DS key pairs; the old ones stay published for their retention. */
  rotateKeys = (body: RouteRequest<typeof API.rotateKeys>['body'] = {}) => this.call(API.rotateKeys, { body });

  systemInfo = () => this.call(API.systemInfo, {});
}

/** A query as DS reads it: lists comma-separated, nothing for absent values. */
function queryOf(query: unknown): Query | undefined {
  if (query === undefined || query === null) return undefined;
  return Object.fromEntries(
    Object.entries(query as Record<string, unknown>).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v as Query[string])]),
  );
}

function forceQuery(force: boolean) {
  return { force: force ? ('true' as const) : undefined };
}
