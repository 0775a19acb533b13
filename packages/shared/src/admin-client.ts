import type { z } from 'zod';
import type { ErrorCode } from './errors.js';
import { isErrorCode } from './errors.js';
import type {
  ApiToken,
  DeleteResult,
  Defaults,
  Label,
  LoginResult,
  Organization,
  SslKeystoreConfig,
  SystemInfo,
  SystemStatus,
  TokenCreate,
  User,
  UserCreate,
  Version,
  VersionPut,
  Whoami,
  ConfigView,
  ContextConfig,
  InstallerCheck,
} from './schemas/admin.js';
import type { Device, DeviceListQuery } from './schemas/device.js';
import {
  DeviceReportRowSchema,
  DownloadReportRowSchema,
  RolloverResultSchema,
  TransactionReportRowSchema,
  type DeviceReportQueryInput,
  type DeviceReportRow,
  type DownloadReportQueryInput,
  type DownloadReportRow,
  type RolloverRequest,
  type RolloverResult,
  type TransactionReportQueryInput,
  type TransactionReportRow,
} from './schemas/reports.js';

/** A DS key pair as operators see it (public information only). */
export interface DsKeyInfo {
  kid: string;
  use: 'sig' | 'enc';
  alg: string;
  status: 'current' | 'retired' | 'expired';
  createdAt: string;
  retiredAt: string | null;
  publishedUntil: string | null;
}

/** The API prefix every DS path starts with. */
export const API_PREFIX = '/v3_5';

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

type Query = Record<string, string | number | boolean | undefined | null>;

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
  async raw(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { accept: 'application/json' };
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
      const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      throw new DsApiError(0, 'NETWORK_ERROR', `cannot reach DS at ${this.baseUrl}: ${reason}`);
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
      const code = isErrorCode(body?.code) ? body.code : 'BAD_RESPONSE';
      const description = typeof body?.description === 'string' ? body.description : `DS answered HTTP ${response.status}`;
      throw new DsApiError(response.status, code, description, body?.requestId ?? requestId, body?.details);
    }
    return { status: response.status, body };
  }

  private async data<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
    return (await this.raw(method, path, options)).body.data as T;
  }

  /**
   * Like {@link data}, and checks the answer against `schema`. Resolves with the data exactly as DS
   * sent it (fields the schema does not know included), so `--json` shows what DS answered.
   */
  private async checked<S extends z.ZodType>(schema: S, method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<z.output<S>> {
    const { status, body } = await this.raw(method, path, options);
    const result = schema.safeParse(body.data);
    if (!result.success) {
      const issue = result.error.issues[0];
      const where = issue && issue.path.length > 0 ? ` at data.${issue.path.join('.')}` : '';
      throw new DsApiError(status, 'BAD_RESPONSE', `DS answered ${method} ${path} with data this client does not understand${where}: ${issue?.message ?? 'invalid'}`, body.requestId ?? null);
    }
    return body.data as z.output<S>;
  }

  private async page<T>(path: string, query: Query): Promise<PageResult<T>> {
    const { body } = await this.raw('GET', path, { query });
    return { data: body.data as T[], next: body.page?.next ?? null };
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

  // ------------------------------------------------------------ public

  systemStatus(): Promise<SystemStatus> {
    return this.data('GET', '/system/status');
  }

  // ------------------------------------------------------------ auth

  login(username: string, password: string): Promise<LoginResult> {
    return this.data('POST', '/admin/auth/login', { body: { username, password } });
  }
  logout(): Promise<null> {
    return this.data('POST', '/admin/auth/logout');
  }
  whoami(): Promise<Whoami> {
    return this.data('GET', '/admin/auth/whoami');
  }

  // ------------------------------------------------------------ organizations

  listOrganizations(options: ListOptions = {}): Promise<PageResult<Organization>> {
    return this.page('/admin/organizations', { ...options });
  }
  getOrganization(name: string): Promise<Organization> {
    return this.data('GET', `/admin/organizations/${enc(name)}`);
  }
  /** Creates or updates; `created` tells which (201 or 200). */
  async putOrganization(name: string, body: { description?: string | null }): Promise<{ created: boolean; data: Organization }> {
    const { status, body: env } = await this.raw('PUT', `/admin/organizations/${enc(name)}`, { body });
    return { created: status === 201, data: env.data };
  }
  deleteOrganization(name: string, force = false): Promise<DeleteResult> {
    return this.data('DELETE', `/admin/organizations/${enc(name)}`, { query: { force: force || undefined } });
  }

  // ------------------------------------------------------------ labels

  listLabels(options: ListOptions & { organization?: string } = {}): Promise<PageResult<Label>> {
    return this.page('/admin/labels', { ...options });
  }
  getLabel(name: string): Promise<Label> {
    return this.data('GET', `/admin/labels/${enc(name)}`);
  }
  async putLabel(name: string, body: { organization: string; description?: string | null }): Promise<{ created: boolean; data: Label }> {
    const { status, body: env } = await this.raw('PUT', `/admin/labels/${enc(name)}`, { body });
    return { created: status === 201, data: env.data };
  }
  deleteLabel(name: string, force = false): Promise<DeleteResult> {
    return this.data('DELETE', `/admin/labels/${enc(name)}`, { query: { force: force || undefined } });
  }
  rotateLabelKey(name: string, graceSeconds?: number): Promise<{ apiKey: string }> {
    return this.data('POST', `/admin/labels/${enc(name)}/rotate-key`, { body: graceSeconds === undefined ? {} : { graceSeconds } });
  }
  revokeLabelKeys(name: string): Promise<Label> {
    return this.data('POST', `/admin/labels/${enc(name)}/revoke-key`, { body: {} });
  }

  // ------------------------------------------------------------ versions

  listVersions(options: ListOptions = {}): Promise<PageResult<Version>> {
    return this.page('/admin/versions', { ...options });
  }
  getVersion(id: string): Promise<Version> {
    return this.data('GET', `/admin/versions/${enc(id)}`);
  }
  async putVersion(id: string, body: VersionPut): Promise<{ created: boolean; data: Version }> {
    const { status, body: env } = await this.raw('PUT', `/admin/versions/${enc(id)}`, { body });
    return { created: status === 201, data: env.data };
  }
  deleteVersion(id: string, force = false): Promise<DeleteResult> {
    return this.data('DELETE', `/admin/versions/${enc(id)}`, { query: { force: force || undefined } });
  }
  rotateVersionKey(id: string, graceSeconds?: number): Promise<{ installationApiKey: string }> {
    return this.data('POST', `/admin/versions/${enc(id)}/rotate-key`, { body: graceSeconds === undefined ? {} : { graceSeconds } });
  }
  revokeVersionKeys(id: string): Promise<Version> {
    return this.data('POST', `/admin/versions/${enc(id)}/revoke-key`, { body: {} });
  }
  /** Re-reads each `file:` installer and compares it with the checksum recorded when it was saved. */
  verifyVersion(id: string): Promise<InstallerCheck[]> {
    return this.data('GET', `/admin/versions/${enc(id)}/verify`);
  }
  /** The context config of a version, or of the DS-wide defaults when `id` is `default`. */
  getContextConfig(id: string): Promise<ConfigView> {
    return this.data('GET', `${configBase(id)}/context-config`);
  }
  putContextConfig(id: string, config: ContextConfig | null): Promise<ConfigView> {
    return this.data('PUT', `${configBase(id)}/context-config`, { body: { config } });
  }
  getSslKeystoreConfig(id: string): Promise<ConfigView> {
    return this.data('GET', `${configBase(id)}/ssl-keystore-config`);
  }
  putSslKeystoreConfig(id: string, config: SslKeystoreConfig | null): Promise<ConfigView> {
    return this.data('PUT', `${configBase(id)}/ssl-keystore-config`, { body: { config } });
  }
  getDefaults(): Promise<Defaults> {
    return this.data('GET', '/admin/defaults');
  }

  // ------------------------------------------------------------ users

  listUsers(options: ListOptions = {}): Promise<PageResult<User>> {
    return this.page('/admin/users', { ...options });
  }
  getUser(username: string): Promise<User> {
    return this.data('GET', `/admin/users/${enc(username)}`);
  }
  createUser(body: UserCreate): Promise<User> {
    return this.data('POST', '/admin/users', { body });
  }
  deleteUser(username: string): Promise<DeleteResult> {
    return this.data('DELETE', `/admin/users/${enc(username)}`);
  }
  setPassword(username: string, password: string): Promise<User> {
    return this.data('PUT', `/admin/users/${enc(username)}/password`, { body: { password } });
  }

  // ------------------------------------------------------------ tokens

  listTokens(options: ListOptions & { all?: boolean } = {}): Promise<PageResult<ApiToken>> {
    return this.page('/admin/tokens', { ...options, all: options.all ? 'true' : undefined });
  }
  createToken(body: TokenCreate): Promise<ApiToken> {
    return this.data('POST', '/admin/tokens', { body });
  }
  revokeToken(id: string): Promise<ApiToken> {
    return this.data('DELETE', `/admin/tokens/${enc(id)}`);
  }

  // ------------------------------------------------------------ devices

  listDevices(options: ListOptions & Omit<DeviceListQuery, 'limit' | 'cursor'> = {}): Promise<PageResult<Device>> {
    return this.page('/admin/devices', { ...options });
  }
  getDevice(id: string): Promise<Device> {
    return this.data('GET', `/admin/devices/${enc(id)}`);
  }
  deleteDevice(id: string): Promise<DeleteResult> {
    return this.data('DELETE', `/admin/devices/${enc(id)}`);
  }

  // ------------------------------------------------------------ reports and counters

  /** Transactions counted per label (and device), grouped by `by`; the current month by default. */
  transactionsReport(query: TransactionReportQueryInput = {}): Promise<TransactionReportRow[]> {
    const { by, ...filters } = query;
    return this.checked(TransactionReportRowSchema.array(), 'GET', '/admin/reports/transactions', { query: { ...filters, by: commaList(by) } });
  }
  /** Device counts (active, stopped, not allowed) per value of `by`, or one row for all devices. */
  devicesReport(query: DeviceReportQueryInput = {}): Promise<DeviceReportRow[]> {
    const { staleIntervals, ...rest } = query;
    // Coerced by the server, so the input type is wider than a query value; send it as given.
    return this.checked(DeviceReportRowSchema.array(), 'GET', '/admin/reports/devices', { query: { ...rest, staleIntervals: staleIntervals as Query[string] } });
  }
  /** Installer downloads grouped by `by`; the current month by day by default. Not for users limited to an organization. */
  downloadsReport(query: DownloadReportQueryInput = {}): Promise<DownloadReportRow[]> {
    const { by, ...filters } = query;
    return this.checked(DownloadReportRowSchema.array(), 'GET', '/admin/reports/downloads', { query: { ...filters, by: commaList(by) } });
  }
  /** Runs the month rollover now: `month`, or every closed month that still has work. One result per month rolled. */
  rolloverCounters(body: RolloverRequest = {}): Promise<RolloverResult[]> {
    return this.checked(RolloverResultSchema.array(), 'POST', '/admin/counters/rollover', { body });
  }

  // ------------------------------------------------------------ DS keys

  listKeys(): Promise<DsKeyInfo[]> {
    return this.data('GET', '/admin/keys');
  }
  /** Replaces the current DS key pairs; the old ones stay published for their retention. */
  rotateKeys(body: { type?: 'rsa' | 'ec'; use?: 'sig' | 'enc' | 'both' } = {}): Promise<DsKeyInfo[]> {
    return this.data('POST', '/admin/keys/rotate', { body });
  }

  // ------------------------------------------------------------ system

  systemInfo(): Promise<SystemInfo> {
    return this.data('GET', '/admin/system/info');
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/** A list query value as DS reads it: `a,b,c` (a string is sent as given). */
function commaList(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function configBase(id: string): string {
  return id === 'default' ? '/admin/defaults' : `/admin/versions/${enc(id)}`;
}
