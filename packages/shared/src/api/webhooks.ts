import { z } from 'zod';
import { NameSchema, PageQuerySchema, TimestampSchema } from '../schemas/common.js';
import { PathSegmentSchema, defineRoute, pathParam } from './route.js';

/** The events webhooks carry; a subscription names them, a family (`version.*`) or `*`. */
export const WEBHOOK_EVENT_TYPES = [
  'version.created',
  'version.changed',
  'version.deleted',
  'rollout.started',
  'rollout.changed',
  'rollout.advanced',
  'rollout.paused',
  'rollout.resumed',
  'rollout.promoted',
  'rollout.aborted',
  'rollout.completed',
  'keys.rotated',
  'rollover.done',
  'device.rejected',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** True when `type` is one of the event types `pattern` names (`version.created`, `version.*`, `*`). */
export function webhookEventMatches(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

const EventPatternSchema = z
  .string()
  .max(100)
  .refine((p) => WEBHOOK_EVENT_TYPES.some((t) => webhookEventMatches(p, t)), {
    error: (issue) => `${String(issue.input)} names no event; the events are ${WEBHOOK_EVENT_TYPES.join(', ')} (or a family such as version.*, or *)`,
  });

export const WebhookCreateSchema = z.strictObject({
  /** Where DS POSTs events: https (http only to addresses DS_ALLOW_PRIVATE_ORIGINS allows, for tests and on-premises receivers). */
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000),
  events: z.array(EventPatternSchema).min(1, 'must name at least one event').max(50),
  /** Only this organization's events; omitted or null: every event (users who see all of DS only). */
  organization: NameSchema.nullable().optional(),
  description: z.string().max(1000).nullable().optional(),
});
export type WebhookCreate = z.input<typeof WebhookCreateSchema>;

export const WebhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  organization: z.string().nullable(),
  description: z.string().nullable(),
  /** `disabled`: DS stopped sending after the endpoint failed for days (or an operator did); `ds webhook enable` resumes. */
  status: z.enum(['active', 'disabled']),
  disabledAt: TimestampSchema.nullable(),
  disabledReason: z.string().nullable(),
  /** Since when every attempt failed (null while the last one succeeded). */
  failingSince: TimestampSchema.nullable(),
  lastSuccessAt: TimestampSchema.nullable(),
  lastFailureAt: TimestampSchema.nullable(),
  createdAt: TimestampSchema,
  createdBy: z.string(),
  /** The signing secret (`whsec_...`): answered once, by the create. */
  secret: z.string().optional(),
});
export type Webhook = z.infer<typeof WebhookSchema>;

export const WebhookAttemptSchema = z.object({
  attempt: z.number().int(),
  at: TimestampSchema,
  /** The HTTP status the endpoint answered, or null when there was no answer. */
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int(),
  ok: z.boolean(),
});

export const WebhookDeliverySchema = z.object({
  /** The `webhook-id` header: the same on every attempt, for receivers to deduplicate on. */
  id: z.string(),
  webhookId: z.string(),
  eventType: z.string(),
  /** The audit entry the event is. */
  eventId: z.string(),
  /** `pending` (waiting for its next attempt), `delivered`, or `failed` (no attempt left). */
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  nextAttemptAt: TimestampSchema.nullable(),
  createdAt: TimestampSchema,
  deliveredAt: TimestampSchema.nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  /** Every attempt, oldest first. */
  attemptLog: z.array(WebhookAttemptSchema),
  /** The body DS sends (signed as it is). */
  payload: z.unknown(),
});
export type WebhookDelivery = z.infer<typeof WebhookDeliverySchema>;

export const WebhookRotateSecretSchema = z.strictObject({
  /** How long deliveries are signed with the old secret too (a second `v1,` signature), so receivers can switch; default a day, at most a week. */
  graceSeconds: z.number().int().min(0).max(7 * 86400).optional(),
});

export const WebhookListQuerySchema = PageQuerySchema.extend({ organization: NameSchema.optional() });
export const WebhookDeliveryListQuerySchema = PageQuerySchema.extend({ status: z.enum(['pending', 'delivered', 'failed']).optional() });

const IdParam = z.object({ id: pathParam(PathSegmentSchema, 'webhook id') });
const example = { params: { id: '00000000-0000-4000-8000-00000000e001' } };

/** `/admin/webhooks`: signed HTTP callbacks for DS events, their deliveries and retries. */
export const webhookRoutes = {
  listWebhooks: defineRoute({
    name: 'listWebhooks',
    method: 'GET',
    path: '/admin/webhooks',
    summary: 'List webhooks (a user limited to an organization sees only its own)',
    auth: { kind: 'admin', scope: 'webhooks:read', tenancy: 'filtered' },
    query: WebhookListQuerySchema,
    response: WebhookSchema,
    paginated: true,
    example: { query: { organization: 'acme' } },
  }),
  createWebhook: defineRoute({
    name: 'createWebhook',
    method: 'POST',
    path: '/admin/webhooks',
    summary: 'Create a webhook; the answer carries its signing secret, once',
    auth: { kind: 'admin', scope: 'webhooks:write', tenancy: 'organization' },
    body: WebhookCreateSchema,
    response: WebhookSchema,
    created: true,
    example: { body: { url: 'https://hooks.example.com/ds', events: ['version.*', 'rollout.paused'], organization: 'acme' } },
  }),
  getWebhook: defineRoute({
    name: 'getWebhook',
    method: 'GET',
    path: '/admin/webhooks/{id}',
    summary: 'Get a webhook and its state',
    auth: { kind: 'admin', scope: 'webhooks:read', tenancy: 'organization' },
    params: IdParam,
    response: WebhookSchema,
    example,
  }),
  deleteWebhook: defineRoute({
    name: 'deleteWebhook',
    method: 'DELETE',
    path: '/admin/webhooks/{id}',
    summary: 'Delete a webhook and its deliveries',
    auth: { kind: 'admin', scope: 'webhooks:write', tenancy: 'organization' },
    params: IdParam,
    response: WebhookSchema,
    example,
  }),
  enableWebhook: defineRoute({
    name: 'enableWebhook',
    method: 'POST',
    path: '/admin/webhooks/{id}/enable',
    summary: 'Enable a disabled webhook: its pending deliveries are sent again',
    auth: { kind: 'admin', scope: 'webhooks:write', tenancy: 'organization' },
    params: IdParam,
    body: z.strictObject({}),
    response: WebhookSchema,
    example: { ...example, body: {} },
  }),
  rotateWebhookSecret: defineRoute({
    name: 'rotateWebhookSecret',
    method: 'POST',
    path: '/admin/webhooks/{id}/rotate-secret',
    summary: 'Replace the signing secret (answered once); during the grace period deliveries carry signatures by both',
    auth: { kind: 'admin', scope: 'webhooks:write', tenancy: 'organization' },
    params: IdParam,
    body: WebhookRotateSecretSchema,
    response: WebhookSchema,
    example: { ...example, body: { graceSeconds: 86400 } },
  }),
  listWebhookDeliveries: defineRoute({
    name: 'listWebhookDeliveries',
    method: 'GET',
    path: '/admin/webhooks/{id}/deliveries',
    summary: 'A webhook’s deliveries, newest first, each with its attempts',
    auth: { kind: 'admin', scope: 'webhooks:read', tenancy: 'organization' },
    params: IdParam,
    query: WebhookDeliveryListQuerySchema,
    response: WebhookDeliverySchema,
    paginated: true,
    example,
  }),
  redeliverWebhook: defineRoute({
    name: 'redeliverWebhook',
    method: 'POST',
    path: '/admin/webhooks/{id}/deliveries/{deliveryId}/redeliver',
    summary: 'Send a delivery again now, with the same id (delivered or failed ones too)',
    auth: { kind: 'admin', scope: 'webhooks:write', tenancy: 'organization' },
    params: z.object({ id: pathParam(PathSegmentSchema, 'webhook id'), deliveryId: pathParam(PathSegmentSchema, 'delivery id') }),
    body: z.strictObject({}),
    response: WebhookDeliverySchema,
    example: { params: { id: '00000000-0000-4000-8000-00000000e001', deliveryId: 'msg_00000000000040008000000000e00101' }, body: {} },
  }),
};
