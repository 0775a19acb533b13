import { z } from 'zod';
import { NameSchema, PageQuerySchema, TimestampSchema } from '../schemas/common.js';
import { defineRoute } from './route.js';

/**
 * Who made a change: a user (by session or API token), DS itself (`system`, `health gate`), or
 * someone not authenticated (`anonymous`: a failed login names the username that was tried).
 */
export const AuditActorSchema = z.object({
  type: z.enum(['user', 'system', 'anonymous']),
  /** The username, or what part of DS acted (`system`, `health gate`). */
  name: z.string(),
  userId: z.string().nullable(),
  credential: z.enum(['session', 'api-token']).nullable(),
  /** The id of the session or API token used (never the token itself). */
  tokenId: z.string().nullable(),
});
export type AuditActor = z.infer<typeof AuditActorSchema>;

/** One entry of the audit log. `hash` is SHA-256 over `prevHash` and the entry, so a changed or missing entry breaks the chain. */
export const AuditEntrySchema = z.object({
  seq: z.number().int(),
  id: z.string(),
  at: TimestampSchema,
  actor: AuditActorSchema,
  /** The client's address (from a trusted proxy's X-Forwarded-For when there is one); null for DS's own jobs. */
  address: z.string().nullable(),
  requestId: z.string().nullable(),
  /** The organization the resource belongs to; null for DS-wide resources (versions, keys, users who see all). */
  organization: z.string().nullable(),
  /** What happened, `<resource>.<verb>`: `version.created`, `auth.login_failed`, `keys.rotated`... */
  action: z.string(),
  resource: z.object({ type: z.string(), id: z.string().nullable() }),
  /** The resource before and after the change (API objects, secrets left out); null when it did not exist. */
  before: z.unknown().nullable(),
  after: z.unknown().nullable(),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const AuditListQuerySchema = PageQuerySchema.extend({
  /** Entries at or after this time. */
  since: TimestampSchema.optional(),
  /** Entries before this time. */
  until: TimestampSchema.optional(),
  /** The actor's name (a username, `system`, `health gate`). */
  actor: z.string().min(1).max(200).optional(),
  /** The resource type (`version`), or type and id (`version:3.5.1`). */
  resource: z.string().min(1).max(300).optional(),
  /** The action, or a prefix of it ending in `.*` (`version.*`). */
  action: z.string().min(1).max(100).optional(),
  organization: NameSchema.optional(),
  /** `desc` (default): newest first; `asc`: oldest first (what an export wants). */
  order: z.enum(['asc', 'desc']).default('desc'),
});
export type AuditListQuery = z.input<typeof AuditListQuerySchema>;

/** The result of checking the chain of the audit log. */
export const AuditVerifySchema = z.object({
  ok: z.boolean(),
  /** Entries checked. */
  checked: z.number().int(),
  /** The first and last entry checked (null when the log is empty). */
  firstSeq: z.number().int().nullable(),
  lastSeq: z.number().int().nullable(),
  /** The hash the first retained entry must follow: the genesis, or the last entry retention removed. */
  anchorHash: z.string(),
  /** The hash of the newest entry as the chain head records it. */
  headHash: z.string(),
  /** The first broken link, when there is one. */
  broken: z
    .object({
      seq: z.number().int().nullable(),
      id: z.string().nullable(),
      reason: z.string(),
    })
    .nullable(),
});
export type AuditVerify = z.infer<typeof AuditVerifySchema>;

const why = 'checking the chain needs every entry, of every organization';

/** `/admin/audit`: the append-only, hash-chained log of changes and security events. */
export const auditRoutes = {
  listAudit: defineRoute({
    name: 'listAudit',
    method: 'GET',
    path: '/admin/audit',
    summary: 'List audit entries, newest first (a user limited to an organization sees only its entries)',
    auth: { kind: 'admin', scope: 'audit:read', tenancy: 'filtered' },
    query: AuditListQuerySchema,
    response: AuditEntrySchema,
    paginated: true,
    example: { query: { organization: 'acme', since: '2026-03-01T00:00:00.000Z' } },
  }),
  verifyAudit: defineRoute({
    name: 'verifyAudit',
    method: 'GET',
    path: '/admin/audit/verify',
    summary: 'Check the hash chain of the audit log and name the first broken link',
    auth: { kind: 'admin', scope: 'audit:read', tenancy: 'unrestricted', why },
    response: AuditVerifySchema,
  }),
};
