import { z } from 'zod';
import { OS_JSON_VALUES } from '../os.js';
import { SemverSchema, TimestampSchema } from './common.js';
import { DEVICE_STATUSES, EffectiveContextConfigSchema, SslKeystoreConfigSchema } from './admin.js';

/** What applications and devices learn about a version (API.md section 2). */
export const VersionInfoSchema = z.object({
  id: z.string(),
  recommended: z.boolean(),
  mandatory: z.boolean(),
  allowed: z.boolean(),
  uris: z.array(z.object({ os: z.enum(OS_JSON_VALUES), uri: z.string() })),
  releaseNotes: z.string().optional(),
  publishedAt: TimestampSchema,
});
export type VersionInfo = z.infer<typeof VersionInfoSchema>;

export const JwkSchema = z.looseObject({ kty: z.string(), kid: z.string().optional() });
export const JwksSchema = z.object({ keys: z.array(JwkSchema) });
export type Jwks = z.infer<typeof JwksSchema>;

// ---------------------------------------------------------------- registration

export const DeviceOsSchema = z.strictObject({
  name: z.string().min(1).max(64),
  version: z.string().max(64),
  architecture: z.string().max(32),
});

export const RegistrationRequestSchema = z.strictObject({
  certificate: z.string().min(1).max(16384),
  version: SemverSchema,
  os: DeviceOsSchema,
  hostname: z.string().max(255).optional(),
});
export type RegistrationRequest = z.infer<typeof RegistrationRequestSchema>;

export const RegistrationResponseSchema = z.object({
  id: z.uuid(),
  jwks: JwksSchema,
  syncIntervalSeconds: z.number().int(),
  syncFailureLimit: z.number().int(),
});
export type RegistrationResponse = z.infer<typeof RegistrationResponseSchema>;

// ---------------------------------------------------------------- messages

export const VersionCheckRequestSchema = z.strictObject({ version: SemverSchema });
export type VersionCheckRequest = z.infer<typeof VersionCheckRequestSchema>;

export const VERSION_ACTIONS = ['NONE', 'UPDATE_AVAILABLE', 'RECOMMENDED', 'MANDATORY', 'NOT_ALLOWED'] as const;
export type VersionAction = (typeof VERSION_ACTIONS)[number];

export const VersionCheckResponseSchema = z.object({
  action: z.enum(VERSION_ACTIONS),
  latest: VersionInfoSchema.nullable(),
  current: VersionInfoSchema.nullable(),
  downloadUri: z.string().nullable(),
});
export type VersionCheckResponse = z.infer<typeof VersionCheckResponseSchema>;

/**
 * Limits on one sync, so one message cannot make unbounded work. A message beyond them (or with
 * fields of the wrong type or length) is refused whole with a 4xx; what is wrong with one
 * transaction entry only is refused for that entry ({@link SYNC_REJECTION_CODES}).
 */
export const SYNC_LIMITS = { transactions: 1000, labels: 100, userAgents: 50, counter: 1_000_000 } as const;

/** The longest label, module or use case a device may name. */
export const IDENTIFIER_MAX_LENGTH = 128;

/** Labels, modules and use cases as devices name them: 1 to 128 characters (what else they must be is checked per entry). */
const Identifier = z.string().min(1).max(IDENTIFIER_MAX_LENGTH);

/**
 * Characters DS refuses in the labels, modules and use cases devices report: the C0 and C1
 * controls and DEL (NUL among them), and the line and paragraph separators and bidirectional
 * overrides and isolates, which make a name print as something else. They have no place in a
 * name and they break what is built from names (keys, CSV, terminals).
 */
export const IDENTIFIER_CONTROL_CHARACTERS = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;

/** True when a device-reported name contains a character DS refuses ({@link IDENTIFIER_CONTROL_CHARACTERS}). */
export const hasControlCharacters = (name: string): boolean => IDENTIFIER_CONTROL_CHARACTERS.test(name);

/**
 * Why DS refused one transaction entry of a sync (`SyncResponse.rejected[].code`), a closed set.
 * The rest of the sync is counted; the device drops refused entries and never sends them again
 * (sending one again would be refused again). A client must treat a code it does not know (from
 * a newer DS) the same way.
 */
export const SYNC_REJECTION_CODES = {
  /** `txDate` is not a calendar day `YYYY-MM-DD` (`2026-02-31`, `2026-2-3`). */
  NOT_A_DATE: 'txDate is not a calendar day YYYY-MM-DD',
  /** `txDate` is after today (UTC, by DS's clock, allowing the protocol's clock skew). */
  DATE_IN_FUTURE: 'txDate is after today',
  /**
   * `txDate` is before the first day DS still counts: the current month and the closed months
   * before it that DS is configured to accept (`DS_LATE_TRANSACTION_MONTHS`, default 2); months
   * before them may have been invoiced.
   */
  DATE_TOO_OLD: 'txDate is before the months DS still counts',
  /** `label`, `module` or `useCase` contains a control character ({@link IDENTIFIER_CONTROL_CHARACTERS}). */
  CONTROL_CHARACTERS: 'label, module or useCase contains a control character',
  /**
   * Counting the entry would take the device over its daily limit for that day
   * (`DS_DEVICE_DAILY_TRANSACTION_LIMIT`, across all its syncs and labels). Operators see which
   * devices reached it.
   */
  DAILY_LIMIT: "the device's daily transaction limit for that day is reached",
} as const;
export type SyncRejectionCode = keyof typeof SYNC_REJECTION_CODES;
export const syncRejectionCodes = Object.keys(SYNC_REJECTION_CODES) as [SyncRejectionCode, ...SyncRejectionCode[]];

export const TransactionSchema = z.strictObject({
  label: Identifier,
  module: Identifier,
  useCase: Identifier,
  counter: z.number().int().min(0).max(SYNC_LIMITS.counter),
  /** A day `YYYY-MM-DD`; whether it is a real day DS still counts is checked per entry. */
  txDate: z.string().max(32),
  tag: z.string().max(128).optional(),
});
export type Transaction = z.infer<typeof TransactionSchema>;

export const SyncRequestSchema = z.strictObject({
  version: SemverSchema,
  status: z.enum(DEVICE_STATUSES),
  digests: z.strictObject({ contextConfig: z.string().max(128).nullable(), sslKeystoreConfig: z.string().max(128).nullable() }),
  /** Labels the device served; names with control characters are ignored. */
  labels: z.array(Identifier).max(SYNC_LIMITS.labels),
  userAgents: z.array(z.string().max(1024)).max(SYNC_LIMITS.userAgents),
  transactions: z.array(TransactionSchema).max(SYNC_LIMITS.transactions),
});
export type SyncRequest = z.infer<typeof SyncRequestSchema>;

/**
 * One refused transaction entry: its index in the request's `transactions` and why. `code` is one
 * of {@link SYNC_REJECTION_CODES}; read as any string, so a device keeps working when a newer DS
 * adds a code.
 */
export const SyncRejectionSchema = z.object({ index: z.number().int().min(0), code: z.string().max(64) });
export type SyncRejection = z.infer<typeof SyncRejectionSchema>;

export const SyncResponseSchema = z.object({
  digests: z.object({ contextConfig: z.string(), sslKeystoreConfig: z.string().nullable() }),
  contextConfig: EffectiveContextConfigSchema.optional(),
  sslKeystoreConfig: SslKeystoreConfigSchema.nullable().optional(),
  syncIntervalSeconds: z.number().int(),
  syncFailureLimit: z.number().int(),
  jwks: JwksSchema.optional(),
  /** How many of the request's transaction entries were counted (the others are in `rejected`). */
  accepted: z.object({ transactions: z.number().int() }),
  /** The entries refused, by index, in index order; present only when there are some (additive: older devices ignore it). */
  rejected: z.array(SyncRejectionSchema).optional(),
});
export type SyncResponse = z.infer<typeof SyncResponseSchema>;

/** The JWS claims every device message carries besides its payload. */
export const MESSAGE_MAX_LIFETIME_SECONDS = 300;
export const MESSAGE_CLOCK_SKEW_SECONDS = 60;

/** Application JWT claims (API.md section 2). */
export interface ApplicationClaims {
  /** Always `application`: tells this token from DS's other signed JWTs. */
  kind: 'application';
  iss: string;
  sub: string;
  org: string;
  label: string;
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
}

/** The `iss` of the JWS in every DS answer to a device. */
export const DS_MESSAGE_ISSUER = 't1cds';

/** A device as operators see it (admin API). */
export const DeviceSchema = z.object({
  id: z.string(),
  version: z.string(),
  status: z.string(),
  os: z.object({ name: z.string().nullable(), version: z.string().nullable(), architecture: z.string().nullable() }),
  installerOs: z.enum(OS_JSON_VALUES).nullable(),
  hostname: z.string().nullable(),
  keyType: z.string(),
  certificateSha256: z.string(),
  registeredAt: TimestampSchema,
  lastSyncAt: TimestampSchema.nullable(),
  /** When a sync of this device last had transactions refused by the per-device daily limit; null: never. */
  dailyLimitReachedAt: TimestampSchema.nullable().optional(),
  labels: z.array(z.string()),
  /** Only on a single device. */
  userAgents: z
    .array(z.object({ userAgent: z.string(), browser: z.string().nullable(), browserMajor: z.string().nullable(), os: z.string().nullable(), lastSeenAt: TimestampSchema }))
    .optional(),
  /** Only on a single device: this month's counters. */
  counters: z.array(z.object({ label: z.string(), module: z.string(), useCase: z.string(), month: z.string(), counter: z.number().int() })).optional(),
});
export type Device = z.infer<typeof DeviceSchema>;

export const DeviceListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
  organization: z.string().max(64).optional(),
  label: z.string().max(128).optional(),
  version: z.string().max(64).optional(),
  status: z.enum(DEVICE_STATUSES).optional(),
  os: z.string().max(64).optional(),
  since: z.iso.datetime({ error: 'must be an ISO-8601 UTC time such as 2026-01-31T00:00:00Z' }).optional(),
});
export type DeviceListQuery = z.input<typeof DeviceListQuerySchema>;
