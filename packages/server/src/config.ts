import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DS_MESSAGE_ISSUER, MESSAGE_ENGINES } from '@ds/shared';
import { z } from 'zod';
import { TrustedProxies } from './lib/client-address.js';
import { isMasterKeyText } from './keys/master-key.js';

const LogLevelSchema = z.enum(['debug', 'info', 'warn', 'error']);

/** Everything DS can be configured with; parsed once from the environment and `ds serve` flags. */
export const ServerConfigSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(3000),
  host: z.string().min(1).default('127.0.0.1'),
  databaseUrl: z.string().min(1).default('./data/ds.db'),
  publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  installerRoot: z.string().min(1).default('./data/installers'),
  adminPassword: z.string().min(12, 'DS_ADMIN_PASSWORD must be at least 12 characters').optional(),
  keyType: z.enum(['rsa', 'ec']).default('ec'),
  /** The master key DS private keys are encrypted under: 32 bytes, base64 or base64url. Never logged. */
  masterKey: z.string().refine(isMasterKeyText, 'expected 32 random bytes in base64 or base64url (make one with: openssl rand -base64 32)').optional(),
  /** A file holding the master key. Without either: master.key beside a SQLite database (made on first start); required on PostgreSQL. */
  masterKeyFile: z.string().min(1).optional(),
  logLevel: LogLevelSchema.default('info'),
  /** `json` lines (for log collectors) or short `text` lines for people (`ds serve` and `ds demo` choose text on a terminal). */
  logFormat: z.enum(['json', 'text']).default('json'),
  bodyLimitBytes: z.coerce.number().int().min(1024).default(1024 * 1024),
  /** How long a client may take to send a whole request (headers: at most 15 s of it). */
  requestTimeoutMs: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: z.coerce.number().int().min(1000).max(600_000).default(5_000),
  sessionTtlSeconds: z.coerce.number().int().min(60).default(12 * 3600),
  /** The longest an admin API token may live; tokens made without a lifetime get this one. */
  tokenMaxLifetimeSeconds: z.coerce.number().int().min(3600).max(5 * 366 * 86400).default(90 * 86400),
  shutdownGraceMs: z.coerce.number().int().min(0).default(10_000),
  /** `iss` of application and installation JWTs; never the issuer of DS's answers to devices. */
  tokenIssuer: z
    .string()
    .min(1)
    .refine((iss) => iss !== DS_MESSAGE_ISSUER, `must differ from ${DS_MESSAGE_ISSUER}, the issuer of DS's signed answers to devices`)
    .default('t1cds-app'),
  applicationTokenTtlSeconds: z.coerce.number().int().min(60).max(86400).default(1200),
  installationTokenTtlSeconds: z.coerce.number().int().min(30).max(3600).default(300),
  /**
   * Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto DS believes: addresses and CIDR
   * ranges, comma-separated. Empty: none (the peer of the connection is the client).
   */
  trustedProxies: z
    .string()
    .default('')
    .superRefine((value, ctx) => {
      try {
        new TrustedProxies(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  /** Origins allowed to call the public and application endpoints from a browser: `*` or a comma-separated list of patterns. */
  corsOrigins: z.string().default('*'),
  /** How long processed device messages are kept to answer retries. */
  messageRetentionSeconds: z.coerce.number().int().min(600).default(7 * 86400),
  /**
   * Closed months before the current one whose transactions devices may still report (a device
   * that was offline); entries dated earlier are refused one by one (DATE_TOO_OLD), so a month
   * invoiced since never changes.
   */
  lateTransactionMonths: z.coerce.number().int().min(0).max(24).default(2),
  /**
   * Transactions one device may report for one day, across all its syncs and labels; entries
   * beyond it are refused one by one (DAILY_LIMIT) and the device is flagged for operators.
   */
  deviceDailyTransactionLimit: z.coerce.number().int().min(1).max(1_000_000_000).default(10_000),
  /** Messages (version checks and syncs) one device may send per minute; more are answered 429 with Retry-After. */
  deviceMessagesPerMinute: z.coerce.number().int().min(1).max(100_000).default(20),
  /**
   * The JOSE implementation of device messages: `node` (synchronous node:crypto, jose-node.ts) or
   * `jose` (the jose library over WebCrypto, the reference); the wire format is the same.
   */
  messageEngine: z.enum(MESSAGE_ENGINES).default('node'),
  /** Device registrations per client address per hour; more are answered 429 with Retry-After. 0: no limit. */
  registrationsPerAddressPerHour: z.coerce.number().int().min(0).max(1_000_000).default(300),
  /** Archived months of label counters older than this many months are deleted; 0 keeps them forever. */
  counterRetentionMonths: z.coerce.number().int().min(0).max(1200).default(0),
  /** Download events older than this many days are deleted; 0 keeps them forever. */
  downloadRetentionDays: z.coerce.number().int().min(0).max(36500).default(0),
  /** Audit entries older than this many days are deleted (the chain stays verifiable from the oldest kept); 0 keeps them. */
  auditRetentionDays: z.coerce.number().int().min(0).max(36500).default(0),
  /** DS processes sharing the port (node:cluster); more than one uses more cores for device messages. */
  workers: z.coerce.number().int().min(1).max(64).default(1),
  /**
   * How http(s) installers reach clients: `stream` (DS fetches from the origin and streams the bytes
   * through) or `redirect` (302 to the origin URL, for installers behind a CDN). file: installers
   * are always streamed.
   */
  downloads: z.enum(['stream', 'redirect']).default('stream'),
  /** How long DS waits for an origin's response headers, and at most between two body chunks. */
  originTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /**
   * Let installer origins (and webhooks) be loopback, private, link-local or unique-local addresses:
   * on-premises mirrors. Off, DS refuses them when a version is saved and on every connection.
   */
  allowPrivateOrigins: z.union([z.boolean(), z.stringbool()], { error: 'expected true or false' }).default(false),
  /**
   * The bearer token GET /metrics needs. Unset: /metrics is open to whoever reaches DS (it tells
   * request and device message rates, so the size of the fleet); set one in production. Never logged.
   */
  metricsToken: z
    .string()
    .min(24, 'must be at least 24 characters (make one with: openssl rand -hex 32)')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it is sent as a bearer token)')
    .optional(),
  /** A file holding the metrics token (a flag never carries the token itself: argv is visible to every user of the machine). */
  metricsTokenFile: z.string().min(1).optional(),
});
export type ServerConfigInput = z.input<typeof ServerConfigSchema>;

export interface ServerConfig extends Omit<z.output<typeof ServerConfigSchema>, 'publicUrl'> {
  /** Base URL clients reach DS at, without a trailing slash. */
  publicUrl: string;
  /** Absolute, resolved installer root. */
  installerRoot: string;
}

/** Explicit values (`ds serve` flags) that win over the environment: any setting. */
export type ServerConfigOverrides = Partial<ServerConfigInput>;

const ENV: Record<string, keyof ServerConfigInput> = {
  PORT: 'port',
  HOST: 'host',
  DATABASE_URL: 'databaseUrl',
  DS_PUBLIC_URL: 'publicUrl',
  DS_INSTALLER_ROOT: 'installerRoot',
  DS_ADMIN_PASSWORD: 'adminPassword',
  DS_KEY_TYPE: 'keyType',
  DS_MASTER_KEY: 'masterKey',
  DS_MASTER_KEY_FILE: 'masterKeyFile',
  DS_LOG_LEVEL: 'logLevel',
  DS_LOG_FORMAT: 'logFormat',
  DS_BODY_LIMIT_BYTES: 'bodyLimitBytes',
  DS_REQUEST_TIMEOUT_MS: 'requestTimeoutMs',
  DS_KEEP_ALIVE_TIMEOUT_MS: 'keepAliveTimeoutMs',
  DS_SESSION_TTL_SECONDS: 'sessionTtlSeconds',
  DS_TOKEN_MAX_LIFETIME_SECONDS: 'tokenMaxLifetimeSeconds',
  DS_TOKEN_ISSUER: 'tokenIssuer',
  DS_APP_TOKEN_TTL_SECONDS: 'applicationTokenTtlSeconds',
  DS_INSTALLATION_TOKEN_TTL_SECONDS: 'installationTokenTtlSeconds',
  DS_CORS_ORIGINS: 'corsOrigins',
  DS_TRUSTED_PROXIES: 'trustedProxies',
  DS_MESSAGE_RETENTION_SECONDS: 'messageRetentionSeconds',
  DS_LATE_TRANSACTION_MONTHS: 'lateTransactionMonths',
  DS_DEVICE_DAILY_TRANSACTION_LIMIT: 'deviceDailyTransactionLimit',
  DS_DEVICE_MESSAGES_PER_MINUTE: 'deviceMessagesPerMinute',
  DS_MESSAGE_ENGINE: 'messageEngine',
  DS_REGISTRATIONS_PER_ADDRESS_PER_HOUR: 'registrationsPerAddressPerHour',
  DS_COUNTER_RETENTION_MONTHS: 'counterRetentionMonths',
  DS_DOWNLOAD_RETENTION_DAYS: 'downloadRetentionDays',
  DS_AUDIT_RETENTION_DAYS: 'auditRetentionDays',
  DS_WORKERS: 'workers',
  DS_DOWNLOADS: 'downloads',
  DS_ORIGIN_TIMEOUT_MS: 'originTimeoutMs',
  DS_ALLOW_PRIVATE_ORIGINS: 'allowPrivateOrigins',
  DS_METRICS_TOKEN: 'metricsToken',
  DS_METRICS_TOKEN_FILE: 'metricsTokenFile',
};

/** The environment variable of each setting, for messages (`DS_LOG_LEVEL`). */
const SETTING_ENV = Object.fromEntries(Object.entries(ENV).map(([name, key]) => [key, name])) as Record<keyof ServerConfigInput, string>;

/**
 * Builds the configuration from environment variables, overridden by explicit values (flags).
 * Throws an Error naming the variable when a value is invalid, or, for an override, what
 * `overrideNames` calls it (`ds serve` passes its flags: `--session-ttl`), as that is what was typed.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv,
  overrides: ServerConfigOverrides = {},
  overrideNames: Partial<Record<keyof ServerConfigInput, string>> = {},
): ServerConfig {
  const input: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') input[key] = value;
  }
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) input[key] = value;
  const nameOf = (key: string) =>
    (overrides[key as keyof ServerConfigInput] !== undefined ? overrideNames[key as keyof ServerConfigInput] : undefined) ??
    SETTING_ENV[key as keyof ServerConfigInput] ??
    key;
  const parsed = ServerConfigSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${nameOf(String(i.path[0]))}: ${i.message}`);
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  if (c.metricsTokenFile !== undefined) {
    const name = nameOf('metricsTokenFile');
    if (c.metricsToken !== undefined) throw new Error(`invalid configuration: ${name}: give the metrics token once, in ${name} or in DS_METRICS_TOKEN`);
    let text: string;
    try {
      text = readFileSync(c.metricsTokenFile, 'utf8').trim();
    } catch (error) {
      throw new Error(`invalid configuration: ${name}: cannot read ${c.metricsTokenFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const token = ServerConfigSchema.shape.metricsToken.safeParse(text);
    if (!token.success) throw new Error(`invalid configuration: ${name}: the token in ${c.metricsTokenFile} ${token.error.issues[0]?.message ?? 'is invalid'}`);
    c.metricsToken = token.data;
  }
  const displayHost = c.host === '0.0.0.0' || c.host === '::' ? 'localhost' : c.host.includes(':') ? `[${c.host}]` : c.host;
  return {
    ...c,
    publicUrl: (c.publicUrl ?? `http://${displayHost}:${c.port}`).replace(/\/+$/, ''),
    installerRoot: resolve(c.installerRoot),
  };
}
