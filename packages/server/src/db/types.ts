import type { ColumnType, Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely';

// Column names are snake_case in the database and camelCase here (Kysely's CamelCasePlugin).
// Times are ISO-8601 UTC text, days `YYYY-MM-DD`, months `YYYY-MM`; flags are 0/1 integers so the
// same code runs on SQLite and PostgreSQL.

export type Flag = 0 | 1;

export interface OrganizationTable {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface LabelTable {
  id: string;
  name: string;
  organizationId: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

/** API keys of labels (`ds_lbl_`) and installation keys of versions (`ds_ins_`), as digests. */
export interface ApiKeyTable {
  id: string;
  kind: 'label' | 'installation';
  labelId: string | null;
  versionId: string | null;
  keyHash: string;
  prefix: string;
  createdAt: string;
  /** Set when a rotation with a grace period retires the key: it works until then. */
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface VersionTable {
  id: string;
  /** Orders versions by semantic-version precedence with a plain text comparison. */
  sortKey: string;
  recommended: Flag;
  mandatory: Flag;
  allowed: Flag;
  releaseNotes: string | null;
  /** JSON text, or null when the version uses the DS-wide default. */
  contextConfig: string | null;
  sslKeystoreConfig: string | null;
  publishedAt: string;
  createdAt: string;
  updatedAt: string;
}

export interface InstallerTable {
  versionId: string;
  os: string;
  uri: string;
  sha256: string | null;
  size: ColumnType<number | null, number | null | undefined, number | null>;
  /** The file's modification time when its checksum was recorded (file: installers). */
  mtime: string | null;
}

export interface SettingTable {
  key: string;
  value: string;
  updatedAt: string;
}

export interface UserTable {
  id: string;
  username: string;
  passwordHash: string;
  role: 'admin' | 'viewer';
  organizationId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Login sessions and admin API tokens (`ds_adm_`), as digests. */
export interface AdminTokenTable {
  id: string;
  userId: string;
  kind: 'session' | 'api';
  name: string | null;
  tokenHash: string;
  prefix: string;
  /** JSON array of scopes (API tokens); null for sessions, which carry their role's scopes. */
  scopes: string | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** DS signing and encryption key pairs. */
export interface DsKeyTable {
  kid: string;
  use: 'sig' | 'enc';
  alg: string;
  publicJwk: string;
  /**
   * The private JWK encrypted under a master key kept outside the database (`v1.…`, see
   * keys/at-rest.ts). Clear JSON only in a database from before migration 0005 that no DS has
   * started on since: DS encrypts such rows at start, before it uses them.
   */
  encryptedPrivateJwk: string;
  /** Id of the master key it is encrypted under; null while still in clear. */
  masterKeyId: string | null;
  createdAt: string;
  /** When a rotation replaced it; still published until everything it signed has expired. */
  retiredAt: string | null;
}

export interface DeviceTable {
  id: string;
  certFingerprint: string;
  certificate: string;
  publicJwk: string;
  keyAlg: string;
  version: string;
  osName: string | null;
  osVersion: string | null;
  osArch: string | null;
  hostname: string | null;
  status: string;
  registeredAt: string;
  lastSyncAt: string | null;
  updatedAt: string;
  /** The DS key set this device was last sent (to know when to send it again). */
  jwksVersion: string | null;
  /** When a sync last had entries refused by the per-device daily limit (for operators); null: never. */
  dailyLimitReachedAt: string | null;
  /**
   * The device's message rate limit, kept on its row: the start of the current one-minute window
   * and the messages recorded in it. The row is read for every message anyway and a sync updates
   * it anyway, so the limit costs no extra statement (see lib/rate-limit.ts).
   */
  messageWindow: string | null;
  messageCount: ColumnType<number, number | undefined, number>;
}

export interface DeviceLabelTable {
  deviceId: string;
  label: string;
  firstSeenAt: string;
  lastSeenAt: string;
}

export interface DeviceUserAgentTable {
  deviceId: string;
  uaHash: string;
  userAgent: string;
  browserName: string | null;
  browserMajor: string | null;
  osName: string | null;
  osVersion: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
}

/**
 * The organization of counters that belong to none: transactions of a label DS did not know when
 * they were counted. A reserved value rather than NULL because it is part of primary keys;
 * organization ids are UUIDs, never empty.
 */
export const UNATTRIBUTED = '';

/**
 * The organization a counter row was counted for (the label's organization at that moment, or
 * {@link UNATTRIBUTED}). Part of every counter table's key: deleting a label and creating its
 * name in another organization, or moving a label, never moves history between organizations.
 * Optional on insert: rows written without it are unattributed.
 */
export type CounterOrganization = ColumnType<string, string | undefined, string>;

export interface DeviceCounterTable {
  deviceId: string;
  organizationId: CounterOrganization;
  label: string;
  module: string;
  useCase: string;
  /** The month (`YYYY-MM`) the counter is for; reset at the month boundary. */
  month: string;
  counter: number;
  updatedAt: string;
}

export interface LabelDailyCounterTable {
  organizationId: CounterOrganization;
  label: string;
  module: string;
  useCase: string;
  day: string;
  counter: number;
}

/** Per label, per (module, useCase, month), for months that have ended. */
export interface LabelMonthlyCounterTable {
  organizationId: CounterOrganization;
  label: string;
  module: string;
  useCase: string;
  month: string;
  counter: number;
}

/** Per label, all modules and use cases: per day of the current month. */
export interface LabelDailyTotalTable {
  organizationId: CounterOrganization;
  label: string;
  day: string;
  counter: number;
}

/** Per label, all modules and use cases: per month that has ended. */
export interface LabelMonthlyTotalTable {
  organizationId: CounterOrganization;
  label: string;
  month: string;
  counter: number;
}

/**
 * Transactions counted per device and transaction day, over all its labels: what the per-device
 * daily limit is checked against. Kept for the days DS still accepts transactions for.
 */
export interface DeviceDailyTotalTable {
  deviceId: string;
  day: string;
  counter: number;
}

/** The rollover of one month: started, and completed when nothing was left to move. */
export interface CounterRolloverTable {
  month: string;
  startedAt: string;
  completedAt: string | null;
  dailyRowsArchived: ColumnType<number, number | undefined, number>;
  deviceRowsReset: ColumnType<number, number | undefined, number>;
  deviceRowsDeleted: ColumnType<number, number | undefined, number>;
}

/** A lease on a job that one DS process at a time may run. */
export interface JobLockTable {
  name: string;
  holder: string;
  acquiredAt: string;
  expiresAt: string;
}

export interface DeviceMessageTable {
  deviceId: string;
  jti: string;
  kind: string;
  /** The answer's payload (JSON), sent again to a retry of the same message. */
  response: string;
  receivedAt: string;
}

/** One installer download (complete or partial), for the downloads report. */
export interface DownloadEventTable {
  id: string;
  /** The day the download started, `YYYY-MM-DD` (UTC). */
  day: string;
  /** Upper case, as in `installers.os`. */
  os: string;
  version: string;
  browserName: string | null;
  browserMajor: string | null;
  /** Body bytes DS handed to the connection (a resumed download counts only its range). */
  bytes: number;
  /** 1 when every byte of the answered range (or whole file) left DS. */
  complete: Flag;
  /** The HTTP status answered: 200, 206, or 302 in redirect mode. */
  status: number;
  createdAt: string;
}

/** Failures counted against a key (an address, an address and username) in a fixed window. */
export interface RateLimitTable {
  key: string;
  count: number;
  /** When the window ends and the count starts again. */
  resetAt: string;
}

export interface Database {
  organizations: OrganizationTable;
  labels: LabelTable;
  apiKeys: ApiKeyTable;
  versions: VersionTable;
  installers: InstallerTable;
  settings: SettingTable;
  users: UserTable;
  adminTokens: AdminTokenTable;
  dsKeys: DsKeyTable;
  devices: DeviceTable;
  deviceLabels: DeviceLabelTable;
  deviceUserAgents: DeviceUserAgentTable;
  deviceCounters: DeviceCounterTable;
  labelDailyCounters: LabelDailyCounterTable;
  labelMonthlyCounters: LabelMonthlyCounterTable;
  labelDailyTotals: LabelDailyTotalTable;
  labelMonthlyTotals: LabelMonthlyTotalTable;
  deviceDailyTotals: DeviceDailyTotalTable;
  counterRollovers: CounterRolloverTable;
  jobLocks: JobLockTable;
  adoptionDaily: AdoptionDailyTable;
  adoptionMonthly: AdoptionMonthlyTable;
  adoptionSnapshots: AdoptionSnapshotTable;
  deviceMessages: DeviceMessageTable;
  downloadEvents: DownloadEventTable;
  rateLimits: RateLimitTable;
  rollouts: RolloutTable;
  rolloutEvents: RolloutEventTable;
  rolloutOffers: RolloutOfferTable;
  pendingDeviceEvents: PendingDeviceEventTable;
  organizationPolicies: OrganizationPolicyTable;
  auditLog: AuditLogTable;
  auditChain: AuditChainTable;
  webhooks: WebhookTable;
  webhookDeliveries: WebhookDeliveryTable;
  webhookAttempts: WebhookAttemptTable;
}

/** One entry of the append-only audit log (audit/audit.service.ts); JSON as text. */
export interface AuditLogTable {
  seq: number;
  id: string;
  at: string;
  actorType: 'user' | 'system' | 'anonymous';
  actorName: string;
  actorUserId: string | null;
  credential: 'session' | 'api-token' | null;
  tokenId: string | null;
  clientAddress: string | null;
  requestId: string | null;
  organizationId: string | null;
  organizationName: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  before: string | null;
  after: string | null;
  prevHash: string;
  hash: string;
}

/** A webhook subscription; `events` is a JSON array of patterns, the secret sealed under the master key. */
export interface WebhookTable {
  id: string;
  url: string;
  events: string;
  organizationId: string | null;
  description: string | null;
  secretEncrypted: string;
  masterKeyId: string;
  createdAt: string;
  createdBy: string;
  disabledAt: string | null;
  disabledReason: string | null;
  failingSince: string | null;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  /**
   * 1 when deliveries may go to loopback, private and link-local addresses: only for a webhook made
   * by a user who sees all of DS while DS_ALLOW_PRIVATE_ORIGINS is on (and only while it stays on).
   */
  allowPrivate: number;
}

/** One event for one webhook: `id` is the webhook-id receivers deduplicate on. */
export interface WebhookDeliveryTable {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  payload: string;
  createdAt: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: ColumnType<number, number | undefined, number>;
  nextAttemptAt: string | null;
  leaseUntil: string | null;
  leaseHolder: string | null;
  deliveredAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
}

export interface WebhookAttemptTable {
  id: string;
  deliveryId: string;
  attempt: number;
  at: string;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  ok: Flag;
  holder: string;
}

/** The head of the audit chain (one row, `audit`) and the anchor retention left. */
export interface AuditChainTable {
  name: string;
  lastSeq: number;
  lastHash: string;
  anchorSeq: number;
  anchorHash: string;
}

/** A version's staged rollout (rollouts/); JSON arrays as text. */
export interface RolloutTable {
  versionId: string;
  state: 'active' | 'paused' | 'completed' | 'aborted';
  /** JSON: the wave percentages. */
  waves: string;
  /** JSON: when each wave began (null until it does). */
  waveStarted: string;
  waveIndex: number;
  waveHoldSeconds: number;
  /** The failure limit in parts per 10 000. */
  maxFailureBp: number;
  minSample: number;
  stuckAfter: number;
  gateSince: string;
  pausedReason: string | null;
  revision: number;
  startedAt: string;
  updatedAt: string;
  completedAt: string | null;
}

/** One change of a rollout; `numbers` is the gate's numbers as JSON. */
export interface RolloutEventTable {
  id: string;
  versionId: string;
  seq: number;
  at: string;
  kind: string;
  actor: string;
  actorKind: string;
  fromPercent: number | null;
  toPercent: number | null;
  numbers: string | null;
  detail: string | null;
}

/** An event a device message caused, not yet in the audit log (migration 0013). */
export interface PendingDeviceEventTable {
  deviceId: string;
  action: string;
  day: string;
  /** The event's `after`, as JSON. */
  payload: string;
  createdAt: string;
}

/** The first time a device was offered a version in rollout. */
export interface RolloutOfferTable {
  versionId: string;
  deviceId: string;
  offeredAt: string;
  fromVersion: string;
  waveIndex: number;
}

/** An organization's update policy. */
export interface OrganizationPolicyTable {
  organizationId: string;
  hold: string | null;
  window: string | null;
  prereleases: Flag;
  updatedAt: string;
  updatedBy: string | null;
}

export type Db = Kysely<Database>;
/** A database handle or an open transaction: repositories accept either. */
export type Executor = Kysely<Database> | Transaction<Database>;

export type OrganizationRow = Selectable<OrganizationTable>;
export type LabelRow = Selectable<LabelTable>;
export type ApiKeyRow = Selectable<ApiKeyTable>;
export type NewApiKey = Insertable<ApiKeyTable>;
export type VersionRow = Selectable<VersionTable>;
export type NewVersion = Insertable<VersionTable>;
export type VersionUpdate = Updateable<VersionTable>;
export type InstallerRow = Selectable<InstallerTable>;
export type UserRow = Selectable<UserTable>;
export type AdminTokenRow = Selectable<AdminTokenTable>;
export type DsKeyRow = Selectable<DsKeyTable>;
export type DeviceRow = Selectable<DeviceTable>;
export type DownloadEventRow = Selectable<DownloadEventTable>;
export type NewDownloadEvent = Insertable<DownloadEventTable>;

/**
 * Devices per version on one day (adoption/, migration 0010), at one of three levels: every
 * device (organizationId '' and label ''), the devices serving an organization (label ''), or the
 * devices that reported a label (organizationId: its organization, '' when DS does not know it).
 * `os` is the OS name the device registered with ('' when unknown).
 */
export interface AdoptionDailyTable {
  day: string;
  organizationId: string;
  label: string;
  os: string;
  version: string;
  devices: number;
  /** Of those, the devices whose last reported status was ERROR. */
  errors: number;
}

/** A closed month's adoption: its last daily snapshot, kept when the month's days are flattened. */
export interface AdoptionMonthlyTable extends Omit<AdoptionDailyTable, 'day'> {
  month: string;
}

/** Which days (or flattened months) have an adoption snapshot, and how many devices it counted. */
export interface AdoptionSnapshotTable {
  period: string;
  takenAt: string;
  devices: number;
}
