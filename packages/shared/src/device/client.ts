import { importJWK, type CryptoKey, type JWK, type ProtectedHeaderParameters } from 'jose';
import { API_PREFIX } from '../admin-client.js';
import { configDigest } from '../digest.js';
import { isErrorCode, type ErrorCode } from '../errors.js';
import type { DeviceStatusSchema } from '../schemas/admin.js';
import {
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
import { openMessage, sealMessage } from './message.js';
import { DS_MESSAGE_ISSUER } from '../schemas/device.js';
import { MemoryDeviceStore, type DeviceState, type DeviceStore } from './store.js';

type DeviceStatus = z.infer<typeof DeviceStatusSchema>;

/** An error answered by DS to a device call (or a failure to reach it). */
export class DeviceCallError extends Error {
  override readonly name = 'DeviceCallError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'NETWORK_ERROR' | 'BAD_RESPONSE',
    description: string,
  ) {
    super(`${code}: ${description}`);
  }
}

export interface DeviceClientOptions {
  /** DS base URL, e.g. `https://ds.example.com`. */
  baseUrl: string;
  /** The installation API key packaged with this T1C build (`ds_ins_...`). */
  installationKey: string;
  /** The T1C version this device runs. */
  version: string;
  os: { name: string; version: string; architecture: string };
  hostname?: string;
  keyType?: DeviceKeyType;
  store?: DeviceStore;
  clock?: { now(): Date };
  fetch?: typeof fetch;
  /** Overrides the sync interval DS gives (simulations). */
  syncIntervalSeconds?: number;
  /** Called with every version check answer; MANDATORY and NOT_ALLOWED also stop the client. */
  onVersionDecision?: (decision: VersionCheckResponse) => void;
  /** Called when the client stops itself (failure limit, version not allowed, device deleted). */
  onStop?: (reason: string) => void;
  /** Timer functions (tests inject their own). */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
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
  private timer: unknown;
  private stopped = false;
  private readonly store: DeviceStore;
  private readonly clock: { now(): Date };
  private readonly fetchImpl: typeof fetch;
  private readonly baseUrl: string;

  private constructor(private readonly options: DeviceClientOptions) {
    this.store = options.store ?? new MemoryDeviceStore();
    this.clock = options.clock ?? { now: () => new Date() };
    this.fetchImpl = options.fetch ?? fetch;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
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

  /** Counts transactions for the next sync. */
  recordTransaction(t: { label: string; module: string; useCase: string; count?: number; date?: Date }): void {
    const key = [t.label, t.module, t.useCase, dayOf(t.date ?? this.clock.now())].join('\t');
    this.state.counters[key] = (this.state.counters[key] ?? 0) + (t.count ?? 1);
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

  private url(path: string) {
    return `${this.baseUrl}${API_PREFIX}${path}`;
  }

  private async call(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(this.url(path), { ...init, signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000) });
    } catch (error) {
      throw new DeviceCallError(0, 'NETWORK_ERROR', `cannot reach DS at ${this.baseUrl}: ${(error as Error).message}`);
    }
  }

  private async failure(response: Response): Promise<DeviceCallError> {
    const text = await response.text();
    try {
      const body = JSON.parse(text) as { code?: unknown; description?: unknown };
      return new DeviceCallError(response.status, isErrorCode(body.code) ? body.code : 'BAD_RESPONSE', String(body.description ?? text));
    } catch {
      return new DeviceCallError(response.status, 'BAD_RESPONSE', `HTTP ${response.status}`);
    }
  }

  /** Exchanges the installation key for a short-lived registration token. */
  async installationToken(): Promise<string> {
    const response = await this.call('/tokens/installation', { headers: { apikey: this.options.installationKey } });
    if (!response.ok) throw await this.failure(response);
    return ((await response.json()) as { data: string }).data;
  }

  /** Registers once; later calls do nothing. Registering the same certificate again gives the same id. */
  async register(): Promise<string> {
    if (this.state.deviceId) return this.state.deviceId;
    const token = await this.installationToken();
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
    if (!response.ok) throw await this.failure(response);
    const data = RegistrationResponseSchema.parse(((await response.json()) as { data: unknown }).data);
    this.state.deviceId = data.id;
    this.state.dsJwks = data.jwks;
    this.state.syncIntervalSeconds = data.syncIntervalSeconds;
    this.state.syncFailureLimit = data.syncFailureLimit;
    await this.store.save(this.state);
    return data.id;
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
    if (!response.ok) throw await this.failure(response);
    const jwks = JwksSchema.parse(await response.json());
    this.state.dsJwks = jwks;
    await this.store.save(this.state);
    return jwks;
  }

  /** Sends one signed-and-encrypted message and opens the answer. */
  async send<T>(path: string, payload: object, schema: z.ZodType<T>, jti: string = crypto.randomUUID()): Promise<T> {
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
    });
    const response = await this.call(`/devices/${encodeURIComponent(deviceId)}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/jose', accept: 'application/jose' },
      body,
    });
    if (!response.ok) throw await this.failure(response);
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
    });
    const { iss: _i, iat: _a, exp: _e, jti: _j, aud: _d, nbf: _n, sub: _s, ...rest } = opened.claims;
    return schema.parse(rest);
  }

  /** Asks whether this version must or may be updated; MANDATORY and NOT_ALLOWED stop the client. */
  async versionCheck(): Promise<VersionCheckResponse> {
    const decision = await this.send('/version-check', { version: this.state.version }, VersionCheckResponseSchema);
    this.options.onVersionDecision?.(decision);
    if (decision.action === 'NOT_ALLOWED') this.stop(`version ${this.state.version} is no longer allowed`);
    else if (decision.action === 'MANDATORY') this.stop(`version ${decision.latest?.id ?? '?'} is mandatory: update from ${decision.downloadUri ?? 'DS'}`);
    return decision;
  }

  /**
   * One sync: sends config digests, state, and the transactions counted since the last
   * acknowledged sync (under a stable jti, so a retry after a lost answer counts nothing twice);
   * applies the configs DS answers with.
   */
  async sync(): Promise<SyncResponse> {
    if (!this.state.pending) {
      const entries = Object.entries(this.state.counters).filter(([, n]) => n > 0);
      const batch = entries.slice(0, SYNC_LIMITS.transactions);
      const transactions: Transaction[] = batch.map(([key, counter]) => {
        const [label = '', module = '', useCase = '', txDate = ''] = key.split('\t');
        return { label, module, useCase, counter, txDate };
      });
      for (const [key] of batch) delete this.state.counters[key];
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
    return response;
  }

  // ------------------------------------------------------------ the loop

  /**
   * Runs the device: registers, checks its version, then syncs every interval. After
   * `syncFailureLimit` failed syncs in a row it stops itself.
   */
  async start(): Promise<void> {
    this.stopped = false;
    await this.register();
    await this.versionCheck();
    if (!this.stopped) this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const setTimer = this.options.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
    this.timer = setTimer(() => void this.tick(), this.syncIntervalSeconds * 1000);
  }

  /** One scheduled sync with failure accounting; exposed for tests that drive time themselves. */
  async tick(): Promise<SyncResponse | null> {
    if (this.stopped) return null;
    try {
      const response = await this.sync();
      this.consecutiveFailures = 0;
      return response;
    } catch (error) {
      this.consecutiveFailures += 1;
      if (error instanceof DeviceCallError && error.code === 'UNKNOWN_DEVICE') {
        this.stop('DS no longer knows this device; it must register again');
      } else if (this.consecutiveFailures >= this.state.syncFailureLimit) {
        this.stop(`${this.consecutiveFailures} syncs failed in a row (limit ${this.state.syncFailureLimit}): ${(error as Error).message}`);
      }
      return null;
    } finally {
      this.schedule();
    }
  }

  stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) (this.options.clearTimer ?? ((h: unknown) => clearTimeout(h as NodeJS.Timeout)))(this.timer);
    this.timer = undefined;
    this.options.onStop?.(reason);
  }
}
