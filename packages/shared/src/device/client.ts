import { decodeJwt, importJWK, type CryptoKey, type JWK, type ProtectedHeaderParameters } from 'jose';
import { API_PREFIX } from '../admin-client.js';
import { configDigest } from '../digest.js';
import { parseErrorEnvelope, readJson, unreachableReason } from '../error-envelope.js';
import type { ErrorCode } from '../errors.js';
import type { DeviceStatusSchema } from '../schemas/admin.js';
import {
  IDENTIFIER_MAX_LENGTH,
  JwksSchema,
  RegistrationResponseSchema,
  SYNC_LIMITS,
  SyncResponseSchema,
  VersionCheckResponseSchema,
  type Jwks,
  type SyncRequest,
  type SyncResponse,
  type Transaction,
  type VersionCheckResponse,
} from '../schemas/device.js';
import type { z } from 'zod';
import { createDeviceIdentity, DEVICE_ALGORITHMS, deviceKeys, type DeviceKeyType } from './identity.js';
import { openMessage, sealMessage, type MessageEngine } from './message.js';
import { DS_MESSAGE_ISSUER } from '../schemas/device.js';
import { MemoryDeviceStore, type DeviceState, type DeviceStore } from './store.js';
import { updateOffer, type UpdateOffer } from './update.js';

type DeviceStatus = z.infer<typeof DeviceStatusSchema>;

/** An error answered by DS to a device call (or a failure to reach it). */
export class DeviceCallError extends Error {
  override readonly name = 'DeviceCallError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'NETWORK_ERROR' | 'BAD_RESPONSE',
    description: string,
    /** With a 429 (RATE_LIMITED): how long DS asked to wait before the next attempt (its `Retry-After`). */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${code}: ${description}`);
  }
}

/** True for a 429: DS asks the device to wait, which is not a failure of the device or of DS. */
export function isRateLimited(error: unknown): error is DeviceCallError {
  return error instanceof DeviceCallError && (error.status === 429 || error.code === 'RATE_LIMITED');
}

/** Seconds in a `Retry-After` header (delay-seconds or an HTTP date); 60 when it says nothing usable. */
function retryAfterSeconds(header: string | null, now: number): number {
  if (header !== null && /^\d+$/.test(header.trim())) return Number(header.trim());
  const date = header === null ? Number.NaN : Date.parse(header);
  return Number.isNaN(date) ? 60 : Math.max(0, Math.ceil((date - now) / 1000));
}

/** Where a device reaches DS. */
export interface DsEndpoint {
  /** DS base URL, e.g. `https://ds.example.com`. */
  baseUrl: string;
  /** The fetch requests go through (default: the global one). */
  fetch?: typeof fetch;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
}

async function callDs(endpoint: DsEndpoint, path: string, init: RequestInit): Promise<Response> {
  const baseUrl = endpoint.baseUrl.replace(/\/+$/, '');
  let response: Response;
  try {
    response = await (endpoint.fetch ?? fetch)(`${baseUrl}${API_PREFIX}${path}`, { ...init, signal: AbortSignal.timeout(endpoint.timeoutMs ?? 30_000) });
  } catch (error) {
    throw new DeviceCallError(0, 'NETWORK_ERROR', `cannot reach DS at ${baseUrl}: ${unreachableReason(error)}`);
  }
  // The answer (a small JSON or JOSE body) is read whole here: a connection that closes midway (a
  // DS node that died while answering) is then a NETWORK_ERROR like one that never answered,
  // whichever call reads the body. The message may have been counted; its retry under the same
  // jti is answered without counting it again.
  let body: ArrayBuffer;
  try {
    body = await response.arrayBuffer();
  } catch (error) {
    throw new DeviceCallError(0, 'NETWORK_ERROR', `the connection to DS at ${baseUrl} closed before its answer was read: ${unreachableReason(error)}`);
  }
  const empty = response.status === 204 || response.status === 205 || response.status === 304;
  return new Response(empty ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function callError(status: number, body: unknown, retryAfter?: number): DeviceCallError {
  const envelope = parseErrorEnvelope(status, body);
  return new DeviceCallError(status, envelope.code, envelope.description, retryAfter);
}

/** The error of a failed answer; `now` (ms) reads a Retry-After given as a date. */
async function failure(response: Response, now = Date.now()): Promise<DeviceCallError> {
  const retryAfter = response.status === 429 ? retryAfterSeconds(response.headers.get('retry-after'), now) : undefined;
  return callError(response.status, await readJson(response), retryAfter);
}

/**
 * Exchanges an installation key for the short-lived registration token a device registers with
 * (`GET /tokens/installation`). Throws a {@link DeviceCallError} when DS cannot be reached or
 * refuses the key.
 */
export async function exchangeInstallationKey(endpoint: DsEndpoint & { installationKey: string }): Promise<string> {
  const response = await callDs(endpoint, '/tokens/installation', { headers: { apikey: endpoint.installationKey, accept: 'application/json' } });
  if (!response.ok) throw await failure(response);
  const body = await readJson(response);
  const token = (body as { data?: unknown } | undefined)?.data;
  if (typeof token !== 'string') throw callError(response.status, body);
  return token;
}

/** The T1C version a registration token was issued for (its `sub`); null when it names none. */
export function installationTokenVersion(token: string): string | null {
  try {
    const { sub } = decodeJwt(token);
    return typeof sub === 'string' && sub !== '' ? sub : null;
  } catch {
    return null;
  }
}

/**
 * What one {@link DeviceClient.syncOnce} came to: DS's answer or the error, and whether the client
 * is stopped now (`reason` says why when this failure stopped it). A 429 (DS asked the device to
 * wait: {@link isRateLimited}) is not counted as a failed sync.
 */
export type SyncOutcome =
  | { ok: true; response: SyncResponse; stopped: boolean }
  | { ok: false; error: unknown; stopped: boolean; reason?: string };

/** A transaction entry DS refused (SyncResponse `rejected`), dropped by the client. */
export interface RejectedTransaction {
  transaction: Transaction;
  /** One of SYNC_REJECTION_CODES (or a newer code this client does not know). */
  code: string;
}

export interface DeviceClientOptions extends DsEndpoint {
  /** The installation API key packaged with this T1C build (`ds_ins_...`). */
  installationKey: string;
  /** The T1C version this device runs. */
  version: string;
  os: { name: string; version: string; architecture: string };
  hostname?: string;
  keyType?: DeviceKeyType;
  /** The JOSE implementation of this device's messages (`node` unless told; see MessageEngine). */
  messageEngine?: MessageEngine;
  store?: DeviceStore;
  clock?: { now(): Date };
  /** Overrides the sync interval DS gives (simulations). */
  syncIntervalSeconds?: number;
  /** Called with every version check answer; MANDATORY and NOT_ALLOWED also stop the client. */
  onVersionDecision?: (decision: VersionCheckResponse) => void;
  /**
   * Installs an update a version check offers (RECOMMENDED or MANDATORY with a download URI for
   * this device's OS), for example with {@link downloadInstaller}. Resolving true means the offered
   * version runs now: the client reports it in its next sync and version check, and a MANDATORY
   * answer does not stop it. Resolving false (declined, or the download failed) leaves the device
   * on its version; a MANDATORY answer then stops it as without this option.
   */
  installUpdate?: (offer: UpdateOffer) => Promise<boolean>;
  /** Called when the client stops itself (failure limit, version not allowed, device deleted). */
  onStop?: (reason: string) => void;
  /**
   * Called with the entries DS refused in a sync (a date it no longer counts, a name with control
   * characters, the daily limit...). They are dropped: sending them again would only be refused again.
   */
  onRejected?: (rejected: RejectedTransaction[]) => void;
  /** Timer functions (tests inject their own). */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

const DEFAULT_STATE = { syncIntervalSeconds: 3600, syncFailureLimit: 10 };

const dayOf = (date: Date) => date.toISOString().slice(0, 10);

/**
 * The device side of the DS protocol, as a TypeScript T1C would run it: key pair and certificate,
 * registration, signed-and-encrypted version checks and syncs, config application, transaction
 * counting with at-most-once delivery, and the sync loop that stops after too many failures.
 */
export class DeviceClient {
  private state!: DeviceState;
  private keys!: { sign: CryptoKey; decrypt: CryptoKey };
  private dsKeyCache = new Map<string, CryptoKey>();
  private labels = new Set<string>();
  private userAgents = new Set<string>();
  private status: DeviceStatus = 'ACTIVE';
  private consecutiveFailures = 0;
  /** No request before this time (ms, by the client's clock): a 429's Retry-After. */
  private notBefore = 0;
  private timer: unknown;
  private stopped = false;
  private readonly store: DeviceStore;
  private readonly clock: { now(): Date };

  private constructor(private readonly options: DeviceClientOptions) {
    this.store = options.store ?? new MemoryDeviceStore();
    this.clock = options.clock ?? { now: () => new Date() };
  }

  /** Loads the device's state, or makes a new key pair and certificate on first use. */
  static async create(options: DeviceClientOptions): Promise<DeviceClient> {
    const client = new DeviceClient(options);
    const loaded = await client.store.load();
    if (loaded) {
      client.state = { ...loaded, version: options.version };
    } else {
      const identity = await createDeviceIdentity(options.keyType ?? 'ec', { now: client.clock.now() });
      client.state = {
        ...identity,
        deviceId: null,
        version: options.version,
        dsJwks: null,
        contextConfig: null,
        contextConfigDigest: null,
        sslKeystoreConfig: null,
        sslKeystoreConfigDigest: null,
        ...DEFAULT_STATE,
        pending: null,
        counters: {},
      };
      await client.store.save(client.state);
    }
    client.keys = await deviceKeys(client.state);
    return client;
  }

  get deviceId(): string | null {
    return this.state.deviceId;
  }
  /** The T1C version this device runs (and reports). */
  get version(): string {
    return this.state.version;
  }
  get isStopped(): boolean {
    return this.stopped;
  }
  get failures(): number {
    return this.consecutiveFailures;
  }
  /** A copy of the state (configs, counters not yet acknowledged). */
  snapshot(): DeviceState {
    return structuredClone(this.state);
  }
  get syncIntervalSeconds(): number {
    return this.options.syncIntervalSeconds ?? this.state.syncIntervalSeconds;
  }

  // ------------------------------------------------------------ what the device does

  /**
   * Counts transactions for the next sync. Throws a RangeError for what no sync could carry (a
   * name that is empty or longer than 128 characters, a count that is not a whole number of 0 or
   * more): DS would refuse the whole sync, again at every retry.
   */
  recordTransaction(t: { label: string; module: string; useCase: string; count?: number; date?: Date }): void {
    for (const [field, name] of [['label', t.label], ['module', t.module], ['useCase', t.useCase]] as const) {
      if (name.length < 1 || name.length > IDENTIFIER_MAX_LENGTH) throw new RangeError(`${field} must be 1 to ${IDENTIFIER_MAX_LENGTH} characters`);
    }
    const count = t.count ?? 1;
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('count must be a whole number of 0 or more');
    const key = [t.label, t.module, t.useCase, dayOf(t.date ?? this.clock.now())].join('\t');
    this.state.counters[key] = (this.state.counters[key] ?? 0) + count;
    this.labels.add(t.label);
  }

  /** Remembers a label and the User-Agent of a page that used this device. */
  recordUsage(label: string, userAgent?: string): void {
    this.labels.add(label);
    if (userAgent) this.userAgents.add(userAgent);
  }

  setStatus(status: DeviceStatus): void {
    this.status = status;
  }

  // ------------------------------------------------------------ protocol

  /** Milliseconds until DS accepts a request from this device again (a 429's Retry-After); 0 when it does now. */
  get retryDelayMs(): number {
    return Math.max(0, this.notBefore - this.clock.now().getTime());
  }

  /**
   * Honours a 429: until its Retry-After has passed, no request is sent (this throws the same
   * RATE_LIMITED error locally); a 429 answer starts such a wait.
   */
  private async rateLimited<T>(request: () => Promise<T>): Promise<T> {
    const wait = this.retryDelayMs;
    if (wait > 0) throw new DeviceCallError(429, 'RATE_LIMITED', `DS asked this device to wait; retry in ${Math.ceil(wait / 1000)} s`, Math.ceil(wait / 1000));
    try {
      return await request();
    } catch (error) {
      if (isRateLimited(error)) this.notBefore = this.clock.now().getTime() + (error.retryAfterSeconds ?? 60) * 1000;
      throw error;
    }
  }

  private call(path: string, init: RequestInit): Promise<Response> {
    return callDs(this.options, path, init);
  }

  /** Exchanges the installation key for a short-lived registration token. */
  installationToken(): Promise<string> {
    return this.rateLimited(() => exchangeInstallationKey(this.options));
  }

  /** Registers once; later calls do nothing. Registering the same certificate again gives the same id. */
  async register(): Promise<string> {
    if (this.state.deviceId) return this.state.deviceId;
    const token = await this.installationToken();
    const data = await this.rateLimited(() => this.registerWith(token));
    this.state.deviceId = data.id;
    this.state.dsJwks = data.jwks;
    this.state.syncIntervalSeconds = data.syncIntervalSeconds;
    this.state.syncFailureLimit = data.syncFailureLimit;
    await this.store.save(this.state);
    return data.id;
  }

  private async registerWith(token: string) {
    const response = await this.call('/devices', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        certificate: this.state.certificatePem,
        version: this.state.version,
        os: this.options.os,
        ...(this.options.hostname ? { hostname: this.options.hostname } : {}),
      }),
    });
    if (!response.ok) throw await failure(response, this.clock.now().getTime());
    return RegistrationResponseSchema.parse(((await response.json()) as { data: unknown }).data);
  }

  private dsKey(use: 'sig' | 'enc', kid?: string): JWK | undefined {
    const keys = this.state.dsJwks?.keys ?? [];
    return (keys as JWK[]).find((k) => k.use === use && (kid === undefined || k.kid === kid));
  }

  private async importDsKey(jwk: JWK): Promise<CryptoKey> {
    const cacheKey = `${jwk.kid}:${jwk.alg}`;
    let key = this.dsKeyCache.get(cacheKey);
    if (!key) {
      key = (await importJWK(jwk, jwk.alg)) as CryptoKey;
      this.dsKeyCache.set(cacheKey, key);
    }
    return key;
  }

  /** Fetches the public JWKS (when an answer is signed by a key this device does not know yet). */
  async refreshJwks(): Promise<Jwks> {
    const response = await this.call('/.well-known/jwks.json', {});
    if (!response.ok) throw await failure(response, this.clock.now().getTime());
    const jwks = JwksSchema.parse(await response.json());
    this.state.dsJwks = jwks;
    await this.store.save(this.state);
    return jwks;
  }

  /** Sends one signed-and-encrypted message and opens the answer; honours a 429's Retry-After. */
  send<T>(path: string, payload: object, schema: z.ZodType<T>, jti: string = crypto.randomUUID()): Promise<T> {
    return this.rateLimited(() => this.sendNow(path, payload, schema, jti));
  }

  private async sendNow<T>(path: string, payload: object, schema: z.ZodType<T>, jti: string): Promise<T> {
    const deviceId = this.state.deviceId;
    if (!deviceId) throw new Error('register the device first');
    if (!this.dsKey('enc')) await this.refreshJwks();
    const encJwk = this.dsKey('enc');
    if (!encJwk?.alg || !encJwk.kid) throw new DeviceCallError(0, 'BAD_RESPONSE', 'DS published no encryption key');
    const algs = DEVICE_ALGORITHMS[this.state.keyType];
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const body = await sealMessage(payload, {
      issuer: deviceId,
      signingKey: this.keys.sign,
      signingAlg: algs.sig,
      encryptionKey: await this.importDsKey(encJwk),
      encryptionAlg: encJwk.alg,
      encryptionKid: encJwk.kid,
      now,
      jti,
      engine: this.options.messageEngine,
    });
    const response = await this.call(`/devices/${encodeURIComponent(deviceId)}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/jose', accept: 'application/jose' },
      body,
    });
    if (!response.ok) throw await failure(response, this.clock.now().getTime());
    const answer = await response.text();
    let refreshed = false;
    const verificationKey = async (header: ProtectedHeaderParameters) => {
      let jwk = this.dsKey('sig', header.kid);
      if (!jwk && !refreshed) {
        refreshed = true;
        await this.refreshJwks();
        jwk = this.dsKey('sig', header.kid);
      }
      return jwk ? this.importDsKey(jwk) : undefined;
    };
    const opened = await openMessage(answer, {
      decryptionKey: () => this.keys.decrypt,
      verificationKey,
      algorithms: ['RS256', 'PS256', 'ES256', 'ES384'],
      issuer: DS_MESSAGE_ISSUER,
      now,
      engine: this.options.messageEngine,
    });
    const { iss: _i, iat: _a, exp: _e, jti: _j, aud: _d, nbf: _n, sub: _s, ...rest } = opened.claims;
    return schema.parse(rest);
  }

  /**
   * Asks whether this version must or may be updated. An offered update is installed through
   * `installUpdate` when given; otherwise (or when it was not installed) MANDATORY stops the
   * client. NOT_ALLOWED always stops it (T1C shows a message and shuts down).
   */
  async versionCheck(): Promise<VersionCheckResponse> {
    const decision = await this.send('/version-check', { version: this.state.version }, VersionCheckResponseSchema);
    this.options.onVersionDecision?.(decision);
    const offer = updateOffer(decision, this.state.version);
    if (offer && this.options.installUpdate && (await this.options.installUpdate(offer))) {
      await this.setVersion(offer.version);
      return decision;
    }
    if (decision.action === 'NOT_ALLOWED') this.stop(`version ${this.state.version} is no longer allowed`);
    else if (decision.action === 'MANDATORY') this.stop(`version ${decision.latest?.id ?? '?'} is mandatory: update from ${decision.downloadUri ?? 'DS'}`);
    return decision;
  }

  /** Records that another version runs now (an update was installed): the next sync and version check report it. */
  async setVersion(version: string): Promise<void> {
    this.state.version = version;
    await this.store.save(this.state);
  }

  /**
   * One sync: sends config digests, state, and the transactions counted since the last
   * acknowledged sync (under a stable jti, so a retry after a lost answer counts nothing twice);
   * applies the configs DS answers with. The entries DS refused (`rejected`) are dropped with the
   * rest of the batch and passed to `onRejected`: they are never sent again.
   */
  async sync(): Promise<SyncResponse> {
    if (!this.state.pending) {
      const entries = Object.entries(this.state.counters).filter(([, n]) => n > 0);
      const batch = entries.slice(0, SYNC_LIMITS.transactions);
      // One entry carries at most SYNC_LIMITS.counter; the rest of a larger count waits for the next batch.
      const transactions: Transaction[] = batch.map(([key, n]) => {
        const [label = '', module = '', useCase = '', txDate = ''] = key.split('\t');
        return { label, module, useCase, counter: Math.min(n, SYNC_LIMITS.counter), txDate };
      });
      for (const [key, n] of batch) {
        if (n > SYNC_LIMITS.counter) this.state.counters[key] = n - SYNC_LIMITS.counter;
        else delete this.state.counters[key];
      }
      this.state.pending = { jti: crypto.randomUUID(), transactions };
      // The batch is saved before it is sent: a crash now resends it under the same jti.
      await this.store.save(this.state);
    }
    const pending = this.state.pending;
    const request: SyncRequest = {
      version: this.state.version,
      status: this.status,
      digests: { contextConfig: this.state.contextConfigDigest, sslKeystoreConfig: this.state.sslKeystoreConfigDigest },
      labels: [...this.labels].slice(0, SYNC_LIMITS.labels),
      userAgents: [...this.userAgents].slice(0, SYNC_LIMITS.userAgents),
      transactions: pending.transactions,
    };
    const response = await this.send('/sync', request, SyncResponseSchema, pending.jti);
    if (response.contextConfig) {
      this.state.contextConfig = response.contextConfig;
      this.state.contextConfigDigest = configDigest(response.contextConfig);
    }
    if (response.sslKeystoreConfig !== undefined) {
      this.state.sslKeystoreConfig = response.sslKeystoreConfig;
      this.state.sslKeystoreConfigDigest = response.sslKeystoreConfig ? configDigest(response.sslKeystoreConfig) : null;
    }
    if (response.jwks) this.state.dsJwks = response.jwks;
    this.state.syncIntervalSeconds = response.syncIntervalSeconds;
    this.state.syncFailureLimit = response.syncFailureLimit;
    this.state.pending = null;
    this.labels.clear();
    this.userAgents.clear();
    await this.store.save(this.state);
    const rejected = (response.rejected ?? []).flatMap((r) => {
      const transaction = pending.transactions[r.index];
      return transaction ? [{ transaction, code: r.code }] : [];
    });
    if (rejected.length > 0) this.options.onRejected?.(rejected);
    return response;
  }

  // ------------------------------------------------------------ the loop

  /**
   * Runs the device: registers, checks its version, then syncs every interval (checking its version
   * before each sync when it installs updates: `installUpdate`). After `syncFailureLimit` failed
   * syncs in a row it stops itself.
   */
  async start(): Promise<void> {
    this.stopped = false;
    await this.register();
    await this.versionCheck();
    if (!this.stopped) this.schedule();
  }

  /** The next sync after the interval, or after a 429's Retry-After when that is later. */
  private schedule(): void {
    if (this.stopped) return;
    const setTimer = this.options.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
    this.timer = setTimer(() => void this.tick(), Math.max(this.syncIntervalSeconds * 1000, this.retryDelayMs));
  }

  /**
   * One scheduled sync ({@link syncOnce}), then the next one is scheduled; exposed for tests that
   * drive time themselves. With `installUpdate`, the version is checked first, as T1C checks at
   * each sync: an update installed then is reported by this sync (a failed check does not keep the
   * sync from being sent).
   */
  async tick(): Promise<SyncResponse | null> {
    if (this.stopped) return null;
    try {
      if (this.options.installUpdate) {
        await this.versionCheck().catch(() => undefined);
        if (this.stopped) return null;
      }
      const outcome = await this.syncOnce();
      return outcome.ok ? outcome.response : null;
    } finally {
      this.schedule();
    }
  }

  /**
   * One step of the sync loop without scheduling the next: syncs, and counts a failure the way
   * the loop does (API.md section 3): the client stops itself when DS no longer knows the device
   * or after `syncFailureLimit` failed syncs in a row. A 429 is not a failure: DS asked the device
   * to wait (nothing is sent until its Retry-After has passed: {@link retryDelayMs}). Never
   * rejects with a sync error: it is in the outcome. Rejects only when called on a stopped
   * client, which sends nothing.
   */
  async syncOnce(): Promise<SyncOutcome> {
    if (this.stopped) throw new Error('the device client has stopped; start it again before syncing');
    try {
      const response = await this.sync();
      this.consecutiveFailures = 0;
      return { ok: true, response, stopped: this.stopped };
    } catch (error) {
      if (isRateLimited(error)) return { ok: false, error, stopped: this.stopped };
      this.consecutiveFailures += 1;
      const reason = this.stopsAfter(error);
      if (reason !== undefined && !this.stopped) {
        this.stop(reason);
        return { ok: false, error, stopped: true, reason };
      }
      return { ok: false, error, stopped: this.stopped };
    }
  }

  /** Why a failed sync ends the loop, if it does. */
  private stopsAfter(error: unknown): string | undefined {
    if (error instanceof DeviceCallError && error.code === 'UNKNOWN_DEVICE') return 'DS no longer knows this device; it must register again';
    const limit = this.state.syncFailureLimit;
    if (this.consecutiveFailures >= limit) return `${this.consecutiveFailures} syncs failed in a row (limit ${limit}): ${(error as Error).message}`;
    return undefined;
  }

  stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) (this.options.clearTimer ?? ((h: unknown) => clearTimeout(h as NodeJS.Timeout)))(this.timer);
    this.timer = undefined;
    this.options.onStop?.(reason);
  }
}
