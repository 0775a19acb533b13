import { z } from 'zod';
import type { Scope } from '../schemas/admin.js';

/** The API prefix every DS path starts with. */
export const API_PREFIX = '/v3_5';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * How an admin route treats a user limited to one organization:
 * - `unrestricted`: only for users who see all of DS; a limited user is refused (403);
 * - `organization`: acts on one organization's object; a user limited to another one is refused;
 * - `filtered`: answers only what the caller's organization may see;
 * - `shared`: reads objects that belong to no organization (versions, defaults), for everyone
 *   whose credential carries the scope;
 * - `self`: acts on the caller's own account or credentials.
 */
export type Tenancy = 'unrestricted' | 'organization' | 'filtered' | 'shared' | 'self';

/** Who may call a route, and with which credential. */
export type RouteAuth =
  | { kind: 'public' }
  /**
   * `Authorization: Bearer <session or admin API token>` carrying `scope` (null: any credential).
   * With `selfParam`, a request whose path parameter of that name is the caller's own username
   * needs no scope. `why` says why an `unrestricted` route refuses users limited to an organization.
   */
  | { kind: 'admin'; scope: Scope | null; tenancy: Tenancy; selfParam?: string; why?: string }
  /** The `apikey` header: a label API key or a version's installation API key. */
  | { kind: 'api-key'; key: 'label' | 'installation' }
  /** `Authorization: Bearer <application JWT>` (API.md section 2). */
  | { kind: 'application-token' }
  /** `Authorization: Bearer <installation JWT>`, for device registration. */
  | { kind: 'installation-token' }
  /** A JWE around a JWS signed by the device of the path (API.md section 3). */
  | { kind: 'device-message' }
  /** The web dashboard's cookie session. */
  | { kind: 'dashboard-session' }
  /**
   * `Authorization: Bearer <DS_METRICS_TOKEN>` when DS is configured with a metrics token (compared
   * in constant time); without one the route is open.
   */
  | { kind: 'metrics-token' };

/**
 * What a route answers: `json` is the envelope of API.md with `response` as its `data`;
 * `json-document` is a bare JSON document (`response` is all of it); `jose` is a sealed device
 * answer whose payload is `response`; `installer` streams installer bytes; `html` and `csv` are
 * the dashboard's pages and downloads; `asset` its scripts and styles; `text` plain text (the
 * Prometheus exposition format).
 */
export type Produces = 'json' | 'json-document' | 'jose' | 'installer' | 'html' | 'csv' | 'asset' | 'text';

/**
 * One route of DS, defined once: from it come the server's mount (authentication, scope,
 * validation), the OpenAPI operation, the security test cases and the typed admin client.
 */
export interface RouteDefinition {
  /** Unique; the OpenAPI operationId. */
  name: string;
  method: HttpMethod;
  /** Below {@link API_PREFIX} (the dashboard's below `/dashboard`, the operations routes' at the root), with `{param}` placeholders. */
  path: string;
  summary: string;
  auth: RouteAuth;
  /** The path parameters, one key per placeholder. */
  params?: z.ZodObject;
  query?: z.ZodType;
  /** The JSON body; for device messages, the payload inside the JWS. */
  body?: z.ZodType;
  /** `data` of the envelope (each item when paginated), the document, or the sealed payload. */
  response?: z.ZodType;
  produces?: Produces;
  /** A list answered a page at a time (`limit`, `cursor`, `page.next`). */
  paginated?: boolean;
  /** May answer 201 (created) as well as 200. */
  created?: boolean;
  /**
   * HTTP headers the route reads (`request`) or answers (`response`) beyond those of its
   * credential, each with what it means: the version's `ETag` and `If-Match`, for instance.
   */
  headers?: { request?: Record<string, string>; response?: Record<string, string> };
  /** An example request, shown in OpenAPI and used by the security tests. */
  example?: { params?: Record<string, string>; query?: Record<string, string>; body?: unknown };
}

/** Defines a route; the literal type is kept so clients and handlers are typed from it. */
export function defineRoute<const T extends RouteDefinition>(definition: T): T {
  return definition;
}

type SchemaOf<T, K extends string> = T extends { [P in K]: infer S extends z.ZodType } ? S : never;

/** What a caller sends to a route: its path parameters, query and body, typed from its schemas. */
export type RouteRequest<T extends RouteDefinition> = ([SchemaOf<T, 'params'>] extends [never] ? { params?: undefined } : { params: z.input<SchemaOf<T, 'params'>> }) &
  ([SchemaOf<T, 'query'>] extends [never] ? { query?: undefined } : { query?: z.input<SchemaOf<T, 'query'>> }) &
  ([SchemaOf<T, 'body'>] extends [never] ? { body?: undefined } : { body: z.input<SchemaOf<T, 'body'>> });

/** What a route answers (its `data`; the items of one page when paginated). */
export type RouteData<T extends RouteDefinition> = [SchemaOf<T, 'response'>] extends [never]
  ? unknown
  : T extends { paginated: true }
    ? z.output<SchemaOf<T, 'response'>>[]
    : z.output<SchemaOf<T, 'response'>>;

/** One item of a paginated route's answer. */
export type RouteItem<T extends RouteDefinition> = [SchemaOf<T, 'response'>] extends [never] ? unknown : z.output<SchemaOf<T, 'response'>>;

/** The validated inputs a handler receives. */
export interface RouteInput<T extends RouteDefinition> {
  params: [SchemaOf<T, 'params'>] extends [never] ? Record<string, never> : z.output<SchemaOf<T, 'params'>>;
  query: [SchemaOf<T, 'query'>] extends [never] ? Record<string, never> : z.output<SchemaOf<T, 'query'>>;
  body: [SchemaOf<T, 'body'>] extends [never] ? undefined : z.output<SchemaOf<T, 'body'>>;
}

/** Fills the `{param}` placeholders of a path, each value URL-encoded. */
export function renderPath(path: string, params: Record<string, string> = {}): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`missing path parameter ${name} of ${path}`);
    return encodeURIComponent(value);
  });
}

/** The names of the `{param}` placeholders of a path, in order. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
}

/** The schema of one path parameter with the words its errors are named by ("version id"). */
export function pathParam<S extends z.ZodType>(schema: S, label: string): S {
  return schema.describe(label);
}

/** A plain path segment: any text up to `max` characters (lookups answer 404 for unknown ones). */
export const PathSegmentSchema = z.string().min(1).max(256);
