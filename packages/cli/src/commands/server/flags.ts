import { MESSAGE_ENGINES } from '@ds/shared';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';
import type { ServerConfig, ServerConfigOverrides, ServerModule } from '../../lib/server-api.js';

/** Flags of the local commands; each overrides the environment variable of the same meaning. */
export interface ServerFlags {
  port?: number;
  host?: string;
  database?: string;
  publicUrl?: string;
  installerRoot?: string;
  logLevel?: ServerConfigOverrides['logLevel'];
  logFormat?: ServerConfigOverrides['logFormat'];
  keyType?: ServerConfigOverrides['keyType'];
  masterKeyFile?: string;
  workers?: number;
  corsOrigins?: string;
  trustedProxies?: string;
  tokenIssuer?: string;
  appTokenTtl?: string;
  installationTokenTtl?: string;
  sessionTtl?: string;
  tokenMaxLifetime?: string;
  bodyLimit?: string;
  requestTimeoutMs?: string;
  keepAliveTimeoutMs?: string;
  messageRetention?: string;
  lateTransactionMonths?: string;
  deviceDailyTransactionLimit?: string;
  deviceMessagesPerMinute?: string;
  messageEngine?: string;
  registrationsPerAddressPerHour?: string;
  counterRetentionMonths?: string;
  downloadRetentionDays?: string;
  auditRetentionDays?: string;
  downloads?: 'stream' | 'redirect';
  originTimeoutMs?: string;
  allowPrivateOrigins?: boolean;
  metricsTokenFile?: string;
}

export function withDatabaseFlag(command: Command): Command {
  return command.option('--database <url>', 'SQLite file or file: URL, or postgres:// URL (env DATABASE_URL; default ./data/ds.db)');
}

export function withKeyTypeFlag(command: Command): Command {
  return command.addOption(new Option('--key-type <type>', 'DS key pairs made on first start (env DS_KEY_TYPE)').choices(['rsa', 'ec']));
}

/**
 * The master key has a file flag only: a key in argv would be visible to every user of the machine
 * (ps, /proc). DS_MASTER_KEY is its environment form.
 */
const MASTER_KEY_FILE_HELP =
  'file holding the master key DS private keys are encrypted under (env DS_MASTER_KEY_FILE; or the key itself in env DS_MASTER_KEY; ' +
  'default on SQLite: master.key beside the database, made on first start; PostgreSQL needs one of them)';

export function withMasterKeyFileFlag(command: Command): Command {
  return command.option('--master-key-file <file>', MASTER_KEY_FILE_HELP);
}

export function withServeFlags(command: Command): Command {
  return withKeyTypeFlag(
    withDatabaseFlag(
      command
        .option('--port <port>', 'port to listen on (env PORT; default 3000; 0 picks a free one)', parsePort)
        .option('--host <host>', 'address to listen on (env HOST; default 127.0.0.1)'),
    )
      .option('--public-url <url>', 'base URL clients reach DS at (env DS_PUBLIC_URL; default http://HOST:PORT)')
      .option('--installer-root <dir>', 'the only folder file: installers may come from (env DS_INSTALLER_ROOT)')
      .addOption(
        new Option('--log-level <level>', 'least level logged on stderr (env DS_LOG_LEVEL; default info, on a terminal warn: no request lines)').choices([
          'debug',
          'info',
          'warn',
          'error',
        ]),
      )
      .addOption(new Option('--log-format <format>', 'log lines on stderr as JSON or short text (env DS_LOG_FORMAT; default json, on a terminal text)').choices(['json', 'text']))
      .option('--workers <n>', 'DS processes sharing the port, to use more cores (env DS_WORKERS; default 1)', parseWorkers)
      .option('--cors-origins <list>', 'origins browsers may call the public endpoints from: * or a comma-separated list (env DS_CORS_ORIGINS)')
      .option('--trusted-proxies <list>', 'reverse proxies whose X-Forwarded-For/-Proto DS believes: addresses and CIDR ranges (env DS_TRUSTED_PROXIES)')
      .option('--token-issuer <iss>', 'iss of application and installation JWTs (env DS_TOKEN_ISSUER)')
      .option('--app-token-ttl <seconds>', 'application JWT lifetime (env DS_APP_TOKEN_TTL_SECONDS)')
      .option('--installation-token-ttl <seconds>', 'installation JWT lifetime (env DS_INSTALLATION_TOKEN_TTL_SECONDS)')
      .option('--session-ttl <seconds>', 'admin session lifetime (env DS_SESSION_TTL_SECONDS)')
      .option('--token-max-lifetime <seconds>', 'longest lifetime of an admin API token, and the default (env DS_TOKEN_MAX_LIFETIME_SECONDS; default 90 days)')
      .option('--body-limit <bytes>', 'larger request bodies get 413 (env DS_BODY_LIMIT_BYTES)')
      .option('--request-timeout-ms <ms>', 'how long a client may take to send a request (env DS_REQUEST_TIMEOUT_MS; default 60000)')
      .option('--keep-alive-timeout-ms <ms>', 'how long an idle keep-alive connection stays open (env DS_KEEP_ALIVE_TIMEOUT_MS; default 5000)')
      .option('--message-retention <seconds>', 'how long processed device messages are kept (env DS_MESSAGE_RETENTION_SECONDS)')
      .option('--late-transaction-months <n>', 'closed months whose transactions devices may still report; older entries are refused (env DS_LATE_TRANSACTION_MONTHS; default 2)')
      .option('--device-daily-transaction-limit <n>', 'transactions one device may report per day; entries beyond are refused (env DS_DEVICE_DAILY_TRANSACTION_LIMIT; default 10000)')
      .option('--device-messages-per-minute <n>', 'messages one device may send a minute, then 429 (env DS_DEVICE_MESSAGES_PER_MINUTE; default 20)')
      .addOption(new Option('--message-engine <engine>', 'JOSE implementation of device messages: node:crypto or the jose library (env DS_MESSAGE_ENGINE; default node)').choices(MESSAGE_ENGINES))
      .option('--registrations-per-address-per-hour <n>', 'device registrations per client address an hour, then 429; 0: no limit (env DS_REGISTRATIONS_PER_ADDRESS_PER_HOUR; default 300)')
      .option('--counter-retention-months <n>', 'delete archived monthly counters older than this; 0 keeps them forever (env DS_COUNTER_RETENTION_MONTHS)')
      .option('--download-retention-days <n>', 'delete download events older than this; 0 keeps them forever (env DS_DOWNLOAD_RETENTION_DAYS)')
      .option('--audit-retention-days <n>', 'delete audit entries older than this (the chain stays verifiable); 0 keeps them forever (env DS_AUDIT_RETENTION_DAYS)')
      .addOption(new Option('--downloads <mode>', 'stream installers from their origin or redirect to it (env DS_DOWNLOADS)').choices(['stream', 'redirect']))
      .option('--origin-timeout-ms <ms>', 'how long to wait for an installer origin (env DS_ORIGIN_TIMEOUT_MS)')
      .option('--allow-private-origins', 'let installer origins be loopback, private or link-local addresses: on-premises mirrors (env DS_ALLOW_PRIVATE_ORIGINS=true)')
      .option('--master-key-file <file>', MASTER_KEY_FILE_HELP)
      .option('--metrics-token-file <file>', 'file holding the bearer token GET /metrics needs (env DS_METRICS_TOKEN_FILE, or the token itself in env DS_METRICS_TOKEN; default none: /metrics is open)'),
  );
}

function parseWorkers(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 64) throw new InvalidArgumentError('expected a number of processes from 1 to 64');
  return n;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return port;
}

/**
 * Each flag's setting of the server configuration, and how it is typed (named in errors). A record
 * over every flag, so a flag added to ServerFlags does not compile until it reaches the server.
 */
const SETTINGS: { [F in keyof Required<ServerFlags>]: [keyof ServerConfigOverrides, string] } = {
  port: ['port', '--port'],
  host: ['host', '--host'],
  database: ['databaseUrl', '--database'],
  publicUrl: ['publicUrl', '--public-url'],
  installerRoot: ['installerRoot', '--installer-root'],
  logLevel: ['logLevel', '--log-level'],
  logFormat: ['logFormat', '--log-format'],
  keyType: ['keyType', '--key-type'],
  masterKeyFile: ['masterKeyFile', '--master-key-file'],
  workers: ['workers', '--workers'],
  corsOrigins: ['corsOrigins', '--cors-origins'],
  trustedProxies: ['trustedProxies', '--trusted-proxies'],
  tokenIssuer: ['tokenIssuer', '--token-issuer'],
  appTokenTtl: ['applicationTokenTtlSeconds', '--app-token-ttl'],
  installationTokenTtl: ['installationTokenTtlSeconds', '--installation-token-ttl'],
  sessionTtl: ['sessionTtlSeconds', '--session-ttl'],
  tokenMaxLifetime: ['tokenMaxLifetimeSeconds', '--token-max-lifetime'],
  bodyLimit: ['bodyLimitBytes', '--body-limit'],
  requestTimeoutMs: ['requestTimeoutMs', '--request-timeout-ms'],
  keepAliveTimeoutMs: ['keepAliveTimeoutMs', '--keep-alive-timeout-ms'],
  messageRetention: ['messageRetentionSeconds', '--message-retention'],
  lateTransactionMonths: ['lateTransactionMonths', '--late-transaction-months'],
  deviceDailyTransactionLimit: ['deviceDailyTransactionLimit', '--device-daily-transaction-limit'],
  deviceMessagesPerMinute: ['deviceMessagesPerMinute', '--device-messages-per-minute'],
  messageEngine: ['messageEngine', '--message-engine'],
  registrationsPerAddressPerHour: ['registrationsPerAddressPerHour', '--registrations-per-address-per-hour'],
  counterRetentionMonths: ['counterRetentionMonths', '--counter-retention-months'],
  downloadRetentionDays: ['downloadRetentionDays', '--download-retention-days'],
  auditRetentionDays: ['auditRetentionDays', '--audit-retention-days'],
  downloads: ['downloads', '--downloads'],
  originTimeoutMs: ['originTimeoutMs', '--origin-timeout-ms'],
  allowPrivateOrigins: ['allowPrivateOrigins', '--allow-private-origins'],
  metricsTokenFile: ['metricsTokenFile', '--metrics-token-file'],
};

/**
 * Loads @ds/server and builds its configuration from the environment with the flags on top; an
 * invalid value is named as it was given (the flag, else the environment variable).
 *
 * With `serving` (`ds serve`, `ds demo`) on a terminal (stderr is one), DS logs short text lines at
 * warn unless a level or format was asked for: request lines at info would push the banner, and
 * the password shown once in it, off the screen within seconds. Elsewhere JSON lines at info stay
 * the default, for log collectors.
 */
export async function serverConfig(
  ctx: Context,
  flags: ServerFlags,
  extra: ServerConfigOverrides = {},
  serving = false,
): Promise<{ server: ServerModule; config: ServerConfig }> {
  const server = await ctx.loadServer();
  const overrides: Record<string, unknown> = {};
  const names: Record<string, string> = {};
  for (const [flag, [key, name]] of Object.entries(SETTINGS) as [keyof ServerFlags, [keyof ServerConfigOverrides, string]][]) {
    if (flags[flag] === undefined) continue;
    overrides[key] = flags[flag];
    names[key] = name;
  }
  if (serving && ctx.stderrTerminal) {
    if (flags.logLevel === undefined && !ctx.env.DS_LOG_LEVEL) overrides.logLevel = 'warn';
    if (flags.logFormat === undefined && !ctx.env.DS_LOG_FORMAT) overrides.logFormat = 'text';
  }
  Object.assign(overrides, extra);
  try {
    return { server, config: server.loadConfig(ctx.env, dropUndefined(overrides as ServerConfigOverrides), names) };
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
