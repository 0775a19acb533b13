import { API_PREFIX, type ApplicationClaims, type RouteData, type RouteDefinition, type RouteInput, type RouteItem } from '@ds/shared';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { AppEnv, Services } from '../context.js';
import { adminAuth } from '../middleware/admin-auth.js';
import { metricsAuth } from '../middleware/metrics-auth.js';
import { bearer, verifyApplicationToken, verifyInstallationToken } from '../token-exchange/token-exchange.service.js';
import { requireScopeOf, type Principal } from '../users/principal.js';
import { AppError } from './errors.js';
import { withRequestScope, type RequestAuditScope } from '../audit/audit.service.js';
import { jsonBody, query, refuseNul } from './validate.js';

// Routes are defined once, in shared (`API`), as data: method, path, credential, scope, tenancy,
// schemas. A feature binds each definition to a handler with `handle()`; `mountRoutes()` derives
// everything else from the definition, so no handler checks a credential, a scope or a body itself.

/** A JSON answer with a status other than 200 (201 from a create-or-update). */
export class Answer<D> {
  constructor(
    readonly data: D,
    readonly status: ContentfulStatusCode,
  ) {}
}

/** 201 when `isNew`, else 200. */
export const createdOr = <D>(data: D, isNew: boolean) => new Answer(data, isNew ? 201 : 200);

type Auth<T extends RouteDefinition> = T['auth'];

/** What a handler gets: the validated inputs and the verified credential of its kind. */
export interface RouteContext<T extends RouteDefinition> extends RouteInput<T> {
  c: Context<AppEnv>;
  /** The admin user and credential (admin routes). */
  principal: Auth<T> extends { kind: 'admin' } ? Principal : undefined;
  /** The verified claims of the bearer JWT (application and installation token routes). */
  token: Auth<T> extends { kind: 'application-token' } ? ApplicationClaims : Auth<T> extends { kind: 'installation-token' } ? { versionId: string } : undefined;
}

/** What a handler answers: the data (or an {@link Answer}) for JSON routes, a page for lists, else a Response. */
export type RouteResult<T extends RouteDefinition> = T extends { paginated: true }
  ? { items: RouteItem<T>[]; next: string | null }
  : T extends { produces: 'jose' | 'installer' | 'html' | 'csv' | 'asset' | 'text' }
    ? Response
    : RouteData<T> | Answer<RouteData<T>> | Response;

/** A route definition bound to its handler. */
export interface BoundRoute {
  definition: RouteDefinition;
  handler: (ctx: RouteContext<RouteDefinition>) => Promise<unknown>;
}

/** Binds a definition to its handler. */
export function handle<const T extends RouteDefinition>(definition: T, handler: (ctx: RouteContext<T>) => Promise<RouteResult<T>> | RouteResult<T>): BoundRoute {
  return { definition, handler: handler as unknown as BoundRoute['handler'] };
}

/** `{param}` placeholders as Hono's `:param`. */
export const honoPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

/**
 * The checks an admin definition asks for, in order: the credential carries the scope (unless the
 * route acts on the caller itself), and an `unrestricted` route refuses users limited to an
 * organization. Organization scoping of `organization` and `filtered` routes is the service's,
 * which knows which organization an object belongs to.
 */
function authorize(definition: RouteDefinition, principal: Principal, c: Context<AppEnv>): void {
  const auth = definition.auth;
  if (auth.kind !== 'admin') return;
  if (auth.selfParam !== undefined && c.req.param(auth.selfParam) === principal.username) return;
  if (auth.scope !== null) requireScopeOf(principal, auth.scope);
  if (auth.tenancy === 'unrestricted' && principal.organizationId !== null) {
    throw new AppError('FORBIDDEN', `${auth.why ?? 'this is for users who see all of DS'}; this credential is limited to the organization ${principal.organizationName}`);
  }
}

function credentialMiddleware(services: Services, definition: RouteDefinition): MiddlewareHandler<AppEnv>[] {
  switch (definition.auth.kind) {
    case 'admin':
      return [adminAuth(services)];
    case 'metrics-token':
      return [metricsAuth(services)];
    default:
      return [];
  }
}

async function verifiedToken(services: Services, definition: RouteDefinition, c: Context<AppEnv>) {
  switch (definition.auth.kind) {
    case 'application-token':
      return verifyApplicationToken(services, bearer(c.req.header('authorization')));
    case 'installation-token':
      return verifyInstallationToken(services, bearer(c.req.header('authorization')));
    default:
      return undefined;
  }
}

/** Validates the path parameters; an error names the parameter in words ("invalid version id: ..."). */
function pathParams(definition: RouteDefinition, c: Context<AppEnv>): Record<string, unknown> {
  const schema = definition.params;
  if (!schema) return {};
  const values = c.req.param() as Record<string, string>;
  refuseNul(values, 'path');
  const result = schema.safeParse(values);
  if (result.success) return result.data as Record<string, unknown>;
  const first = result.error.issues[0];
  const name = String(first?.path[0] ?? '');
  const label = (schema.shape[name] as z.ZodType | undefined)?.description ?? name;
  const message = first?.message ?? 'invalid';
  throw new AppError('VALIDATION_ERROR', `invalid ${label}: ${message}`, { issues: [{ path: name, message }] });
}

/** Bodies are read for routes whose definition has one; device messages are opened by their pipeline. */
function readsJsonBody(definition: RouteDefinition): boolean {
  return definition.body !== undefined && definition.auth.kind !== 'device-message';
}

function checkResponse(services: Services, definition: RouteDefinition, data: unknown): void {
  if (!definition.response) return;
  const schema = definition.paginated ? definition.response.array() : definition.response;
  const result = schema.safeParse(data);
  if (!result.success) {
    services.logger.error('answer does not match its definition', { route: definition.name, issues: result.error.issues.slice(0, 5) });
    throw new Error(`the answer of ${definition.name} does not match its response schema: ${JSON.stringify(result.error.issues.slice(0, 3))}`);
  }
}

/**
 * Registers each bound route on `app`: the credential's middleware (`credentials` supplies those
 * of kinds only a sub-app knows, such as the dashboard's cookie session), then scope and tenancy,
 * then path parameters, query and body validated against the definition, then the handler, whose
 * JSON answer is wrapped in the envelope (and, in tests, checked against the definition's
 * response schema). `prefix` is where `app` is mounted: the route's metrics are labelled with its
 * whole path template (`/v3_5/devices/{id}/sync`), never with the path a client sent.
 */
export function mountRoutes<E extends AppEnv>(
  app: Hono<E>,
  services: Services,
  routes: BoundRoute[],
  credentials: Partial<Record<RouteDefinition['auth']['kind'], MiddlewareHandler<E>[]>> = {},
  prefix: string = API_PREFIX,
): void {
  for (const { definition, handler } of routes) {
    const series = services.metrics.route(definition.method, `${prefix}${definition.path}`);
    const label: MiddlewareHandler<E> = (context, next) => {
      (context as unknown as Context<AppEnv>).set('routeSeries', series);
      return next();
    };
    const run: MiddlewareHandler<E> = async (context) => {
      const c = context as unknown as Context<AppEnv>;
      const principal = c.var.principal as Principal | undefined;
      if (principal) authorize(definition, principal, c);
      const token = await verifiedToken(services, definition, c);
      const params = pathParams(definition, c);
      const queryValues = definition.query ? query(c, definition.query) : {};
      const body = readsJsonBody(definition) ? await jsonBody(c, definition.body!) : undefined;
      // Events the handler records (audit log, webhooks) name this request's caller, address and id.
      const scope: RequestAuditScope = { principal, address: c.var.clientAddress ?? null, requestId: c.var.requestId ?? null, recorded: 0 };
      const result = await withRequestScope(scope, () => handler({ c, params, query: queryValues, body, principal, token } as unknown as RouteContext<RouteDefinition>));
      if (definition.auth.kind === 'admin' && definition.method !== 'GET' && scope.recorded === 0) {
        // Every admin change belongs in the audit log (ARCHITECTURE.md); a route that wrote none is a defect.
        services.logger.error('an admin change left no audit entry', { route: definition.name, requestId: scope.requestId });
      }
      if (result instanceof Response) return result;
      const produces = definition.produces ?? 'json';
      if (definition.paginated) {
        const page = result as { items: unknown[]; next: string | null };
        if (services.checkResponses) checkResponse(services, definition, page.items);
        return c.json({ success: true as const, data: page.items, page: { next: page.next } });
      }
      const { data, status } = result instanceof Answer ? result : { data: result, status: 200 as ContentfulStatusCode };
      if (services.checkResponses) checkResponse(services, definition, data);
      if (produces === 'json-document') return c.json(data as object, status);
      if (produces !== 'json') throw new Error(`${definition.name} produces ${produces} but its handler answered data`);
      return c.json({ success: true as const, data }, status);
    };
    const middleware = credentials[definition.auth.kind] ?? (credentialMiddleware(services, definition) as unknown as MiddlewareHandler<E>[]);
    app.on(definition.method, [honoPath(definition.path)], label, ...middleware, run);
  }
}
