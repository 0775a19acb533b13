import { z } from 'zod';
import { defineRoute, type RouteDefinition } from './route.js';

/**
 * Where the operations endpoints are served: at the root of DS, outside the versioned API, where
 * Prometheus, load balancers and Kubernetes probes look for them (`/metrics`, `/livez`, `/readyz`).
 */
export const OPERATIONS_PREFIX = '';

/** One check of `/readyz`: passed, or why not. */
export const ReadinessCheckSchema = z.object({
  ok: z.boolean(),
  /** What is wrong, when not ok. */
  error: z.string().optional(),
});

/** The answer of `/readyz` (200 when every check passed, else 503) and of `/livez`. */
export const HealthSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  /** `/readyz` only: each check by name. */
  checks: z
    .object({
      database: ReadinessCheckSchema,
      migrations: ReadinessCheckSchema.extend({ pending: z.array(z.string()).optional() }),
      keys: ReadinessCheckSchema,
    })
    .optional(),
});
export type Health = z.infer<typeof HealthSchema>;

/** Metrics and health for the people and machines that run DS (below {@link OPERATIONS_PREFIX}). */
export const operationsRoutes = {
  metrics: defineRoute({
    name: 'metrics',
    method: 'GET',
    path: '/metrics',
    summary: 'Prometheus metrics of this DS (of every worker with --workers); needs DS_METRICS_TOKEN as a bearer token when DS has one',
    auth: { kind: 'metrics-token' },
    produces: 'text',
  }),
  livez: defineRoute({
    name: 'livez',
    method: 'GET',
    path: '/livez',
    summary: 'Liveness: 200 as long as the process answers (no database involved)',
    auth: { kind: 'public' },
    response: HealthSchema,
    produces: 'json-document',
  }),
  readyz: defineRoute({
    name: 'readyz',
    method: 'GET',
    path: '/readyz',
    summary: 'Readiness: 200 when the database answers, its migrations are current and the DS keys are loaded; else 503 naming the failed check',
    auth: { kind: 'public' },
    response: HealthSchema,
    produces: 'json-document',
  }),
};

/** The operations routes as a list. */
export const OPERATIONS_ROUTES: readonly RouteDefinition[] = Object.values(operationsRoutes);
