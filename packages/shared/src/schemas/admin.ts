import { z } from 'zod';
import { OS_JSON_VALUES, parseOs } from '../os.js';
import { NameSchema, PageQuerySchema, SemverSchema, Sha256HexSchema, TimestampSchema } from './common.js';

// ---------------------------------------------------------------- scopes and roles

/** Scopes an admin API token can carry. A session carries every scope its user's role allows. */
export const SCOPES = [
  'orgs:read',
  'orgs:write',
  'policies:write',
  'labels:read',
  'labels:write',
  'versions:read',
  'versions:write',
  'devices:read',
  'devices:write',
  'reports:read',
  'counters:write',
  'users:read',
  'users:write',
  'tokens:read',
  'tokens:write',
  'keys:read',
  'keys:write',
  'system:read',
  'audit:read',
  'webhooks:read',
  'webhooks:write',
] as const;
export type Scope = (typeof SCOPES)[number];
export const ScopeSchema = z.enum(SCOPES);

export const ROLES = ['admin', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = z.enum(ROLES);

// ---------------------------------------------------------------- auth

export const LoginRequestSchema = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});
export const LoginResultSchema = z.object({ token: z.string(), expiresAt: TimestampSchema });
export type LoginResult = z.infer<typeof LoginResultSchema>;

export const WhoamiSchema = z.object({
  username: z.string(),
  role: RoleSchema,
  organization: z.string().nullable(),
  credential: z.enum(['session', 'api-token']),
  tokenName: z.string().nullable(),
  scopes: z.array(ScopeSchema),
  expiresAt: TimestampSchema.nullable(),
});
export type Whoami = z.infer<typeof WhoamiSchema>;

// ---------------------------------------------------------------- users and tokens

export const PasswordSchema = z
  .string()
  .min(12, 'must be at least 12 characters')
  .max(1024, 'must be at most 1024 characters');

export const UserCreateSchema = z.strictObject({
  username: NameSchema,
  password: PasswordSchema,
  role: RoleSchema,
  organization: NameSchema.nullable().optional(),
});
export type UserCreate = z.infer<typeof UserCreateSchema>;

/**
 * `PUT /admin/users/{username}/password`. Changing one's own password needs the current one (and a
 * login session, never an API token); admins set other users' passwords without it.
 */
export const UserPasswordSchema = z.strictObject({ password: PasswordSchema, currentPassword: z.string().min(1).max(1024).optional() });

/**
 * `PATCH /admin/users/{username}`: a new role, a new organization limit (null: sees all of DS), or
 * both. The user's sessions and tokens get the new rights on their next request.
 */
export const UserUpdateSchema = z
  .strictObject({ role: RoleSchema.optional(), organization: NameSchema.nullable().optional() })
  .refine((body) => body.role !== undefined || body.organization !== undefined, { message: 'give role, organization or both' });
export type UserUpdate = z.infer<typeof UserUpdateSchema>;

export const UserSchema = z.object({
  username: z.string(),
  role: RoleSchema,
  organization: z.string().nullable(),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
});
export type User = z.infer<typeof UserSchema>;

/** `GET /admin/tokens`: one's own tokens, or everyone's with `all=true`. */
export const TokenListQuerySchema = PageQuerySchema.extend({ all: z.enum(['true', 'false']).optional() });

export const TokenCreateSchema = z.strictObject({
  name: NameSchema,
  scopes: z.array(ScopeSchema).min(1, 'must name at least one scope'),
  /**
   * Lifetime; at most DS's maximum token lifetime, and never past the expiry of the token that
   * makes it. Omitted: as long as both allow.
   */
  expiresInSeconds: z.number().int().min(60).max(5 * 366 * 86400).optional(),
});
export type TokenCreate = z.infer<typeof TokenCreateSchema>;

export const ApiTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  username: z.string(),
  scopes: z.array(ScopeSchema),
  prefix: z.string(),
  createdAt: TimestampSchema,
  expiresAt: TimestampSchema.nullable(),
  revokedAt: TimestampSchema.nullable(),
  lastUsedAt: TimestampSchema.nullable(),
  /** Present only in the answer that created it. */
  token: z.string().optional(),
});
export type ApiToken = z.infer<typeof ApiTokenSchema>;

// ---------------------------------------------------------------- API keys

export const ApiKeyInfoSchema = z.object({
  id: z.string(),
  prefix: z.string(),
  status: z.enum(['active', 'grace', 'expired', 'revoked']),
  createdAt: TimestampSchema,
  expiresAt: TimestampSchema.nullable(),
  revokedAt: TimestampSchema.nullable(),
  lastUsedAt: TimestampSchema.nullable(),
});
export type ApiKeyInfo = z.infer<typeof ApiKeyInfoSchema>;

export const RotateKeyRequestSchema = z.strictObject({
  graceSeconds: z
    .number()
    .int()
    .min(0)
    .max(90 * 86400, 'must be at most 90 days')
    .optional(),
});

/** The answer of a label key rotation: the new key, shown once. */
export const ApiKeyResultSchema = z.object({ apiKey: z.string() });
/** The answer of an installation key rotation: the new key, shown once. */
export const InstallationKeyResultSchema = z.object({ installationApiKey: z.string() });

/** A body that must be empty (`{}`) or absent. */
export const EmptyBodySchema = z.strictObject({});

// ---------------------------------------------------------------- organizations

export const OrganizationPutSchema = z.strictObject({
  description: z.string().max(1000).nullable().optional(),
});
export const OrganizationSchema = z.object({
  name: z.string(),
  description: z.string().nullable(),
  labelCount: z.number().int(),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
});
export type Organization = z.infer<typeof OrganizationSchema>;

// ---------------------------------------------------------------- labels

export const LabelListQuerySchema = PageQuerySchema.extend({ organization: NameSchema.optional() });

export const LabelPutSchema = z.strictObject({
  organization: NameSchema,
  description: z.string().max(1000).nullable().optional(),
});
export const LabelSchema = z.object({
  id: z.string(),
  name: z.string(),
  organization: z.string(),
  description: z.string().nullable(),
  keys: z.array(ApiKeyInfoSchema),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  /** Present only in the answer that created the label. */
  apiKey: z.string().optional(),
});
export type Label = z.infer<typeof LabelSchema>;

// ---------------------------------------------------------------- version configs

/** An origin pattern of the CORS allowlist: `*`, or scheme://host[:port] with `*` wildcards. */
export const OriginPatternSchema = z
  .string()
  .max(253)
  .regex(
    /^(\*|[a-z][a-z0-9+.-]*:\/\/[A-Za-z0-9*_.-]+(:(\d{1,5}|\*))?)$/,
    'must be "*" or an origin such as https://*.example.com or http://localhost:*',
  );

/** The context config devices receive; extra keys are passed on to devices unchanged. */
export const ContextConfigSchema = z.looseObject({
  corsAllowlist: z.array(OriginPatternSchema).max(1000).optional(),
  syncIntervalSeconds: z.number().int().min(60, 'must be at least 60').max(7 * 86400, 'must be at most 7 days').optional(),
  syncFailureLimit: z.number().int().min(1).max(1000).optional(),
});
export type ContextConfig = z.infer<typeof ContextConfigSchema>;

/** The context config after DS-wide defaults were applied: the three known keys are always set. */
export const EffectiveContextConfigSchema = ContextConfigSchema.extend({
  corsAllowlist: z.array(z.string()),
  syncIntervalSeconds: z.number().int(),
  syncFailureLimit: z.number().int(),
});
export type EffectiveContextConfig = z.infer<typeof EffectiveContextConfigSchema>;

export const SslKeystoreConfigSchema = z.strictObject({
  uri: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  sha256: Sha256HexSchema,
  notAfter: TimestampSchema.optional(),
});
export type SslKeystoreConfig = z.infer<typeof SslKeystoreConfigSchema>;

/** `PUT .../context-config`: the config, or null to fall back to the DS-wide default. */
export const ContextConfigPutSchema = z.strictObject({ config: ContextConfigSchema.nullable() });
/** `PUT .../ssl-keystore-config`: the config, or null to clear it. */
export const SslKeystoreConfigPutSchema = z.strictObject({ config: SslKeystoreConfigSchema.nullable() });

export const ConfigViewSchema = z.object({
  /** What the version itself sets (null: nothing, the defaults apply). */
  own: z.unknown().nullable(),
  /** What devices receive. */
  effective: z.unknown().nullable(),
  /** base64url SHA-256 of the RFC 8785 JSON of `effective` (null when there is none). */
  digest: z.string().nullable(),
});
export type ConfigView = z.infer<typeof ConfigViewSchema>;

export const DefaultsSchema = z.object({
  contextConfig: EffectiveContextConfigSchema,
  contextConfigDigest: z.string(),
  sslKeystoreConfig: SslKeystoreConfigSchema.nullable(),
  sslKeystoreConfigDigest: z.string().nullable(),
});
export type Defaults = z.infer<typeof DefaultsSchema>;

// ---------------------------------------------------------------- versions

const OsJsonInputSchema = z
  .string()
  .refine((s) => parseOs(s) !== undefined, { message: `must be one of ${OS_JSON_VALUES.join(', ')}` })
  .transform((s) => s.toUpperCase() as (typeof OS_JSON_VALUES)[number]);

export const InstallerInputSchema = z.strictObject({
  os: OsJsonInputSchema,
  uri: z.string().min(1).max(2048),
  sha256: Sha256HexSchema.optional(),
});
export type InstallerInput = z.input<typeof InstallerInputSchema>;

export const InstallerSchema = z.object({
  os: z.enum(OS_JSON_VALUES),
  uri: z.string(),
  sha256: z.string().nullable(),
  size: z.number().int().nullable(),
});
export type Installer = z.infer<typeof InstallerSchema>;

/**
 * Body of `PUT /admin/versions/{id}`. On creation omitted flags default to
 * recommended=false, mandatory=false, allowed=true; on update omitted fields keep their value,
 * `installers` replaces the whole set, and `null` clears a config.
 */
export const VersionPutSchema = z.strictObject({
  recommended: z.boolean().optional(),
  mandatory: z.boolean().optional(),
  allowed: z.boolean().optional(),
  releaseNotes: z.string().max(20000).nullable().optional(),
  installers: z.array(InstallerInputSchema).max(OS_JSON_VALUES.length).optional(),
  contextConfig: ContextConfigSchema.nullable().optional(),
  sslKeystoreConfig: SslKeystoreConfigSchema.nullable().optional(),
});
export type VersionPut = z.input<typeof VersionPutSchema>;

export const VersionSchema = z.object({
  id: z.string(),
  recommended: z.boolean(),
  mandatory: z.boolean(),
  allowed: z.boolean(),
  releaseNotes: z.string().nullable(),
  installers: z.array(InstallerSchema),
  contextConfig: ConfigViewSchema,
  sslKeystoreConfig: ConfigViewSchema,
  installationKeys: z.array(ApiKeyInfoSchema),
  publishedAt: TimestampSchema,
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  /** Present only in the answer that created the version. */
  installationApiKey: z.string().optional(),
});
export type Version = z.infer<typeof VersionSchema>;

/** `ds version verify`: each installer's recorded checksum against what is there now. */
export const InstallerCheckSchema = z.object({
  os: z.enum(OS_JSON_VALUES),
  uri: z.string(),
  recorded: z.object({ sha256: z.string().nullable(), size: z.number().int().nullable() }),
  /** What the file holds now (file: installers); null when it cannot be read or is not a file. */
  actual: z.object({ sha256: z.string(), size: z.number().int() }).nullable(),
  /** ok, changed (differs from the record), missing (cannot be read), unchecked (http(s): not fetched). */
  status: z.enum(['ok', 'changed', 'missing', 'unchecked']),
  detail: z.string().nullable(),
});
export type InstallerCheck = z.infer<typeof InstallerCheckSchema>;

// ---------------------------------------------------------------- deletes

export const DeleteResultSchema = z.object({
  deleted: z.string(),
  removed: z.record(z.string(), z.number().int()),
});
export type DeleteResult = z.infer<typeof DeleteResultSchema>;

export const ForceQuerySchema = z.strictObject({
  force: z.enum(['true', 'false', '1', '0']).optional().transform((v) => v === 'true' || v === '1'),
});

// ---------------------------------------------------------------- DS keys

/** A DS key pair as operators see it (public information only). */
export const DsKeyInfoSchema = z.object({
  kid: z.string(),
  use: z.enum(['sig', 'enc']),
  alg: z.string(),
  status: z.enum(['current', 'retired', 'expired']),
  createdAt: TimestampSchema,
  retiredAt: TimestampSchema.nullable(),
  publishedUntil: TimestampSchema.nullable(),
});
export type DsKeyInfo = z.infer<typeof DsKeyInfoSchema>;

/** `POST /admin/keys/rotate`: which keys to replace, and with which type (default the configured one). */
export const KeyRotateSchema = z.strictObject({
  type: z.enum(['rsa', 'ec']).optional(),
  use: z.enum(['sig', 'enc', 'both']).default('both'),
});
export type KeyRotate = z.input<typeof KeyRotateSchema>;

// ---------------------------------------------------------------- system

export const DEVICE_STATUSES = ['ACTIVE', 'UPDATABLE', 'ERROR', 'INACTIVE'] as const;
export const DeviceStatusSchema = z.enum(DEVICE_STATUSES);

export const SystemStatusSchema = z.object({
  isAlive: z.boolean(),
  version: z.string(),
  time: TimestampSchema,
  latestVersion: z.string().nullable(),
});
export type SystemStatus = z.infer<typeof SystemStatusSchema>;

export const SystemInfoSchema = z.object({
  version: z.string(),
  startedAt: TimestampSchema,
  uptimeSeconds: z.number().int(),
  database: z.object({ kind: z.enum(['sqlite', 'postgres']), sizeBytes: z.number().int().nullable() }),
  counts: z.object({
    organizations: z.number().int(),
    labels: z.number().int(),
    versions: z.number().int(),
    users: z.number().int(),
    devices: z.object({
      total: z.number().int(),
      byStatus: z.record(z.string(), z.number().int()),
      active24h: z.number().int(),
      active30d: z.number().int(),
    }),
  }),
});
export type SystemInfo = z.infer<typeof SystemInfoSchema>;

