import { API_PREFIX, API_ROUTES, OPERATIONS_PREFIX, OPERATIONS_ROUTES, ErrorEnvelopeSchema, SCOPES, envelopeSchema, pageEnvelopeSchema, pathParams, type RouteDefinition } from '@ds/shared';
import { z } from 'zod';

function jsonSchema(schema: z.ZodType, io: 'input' | 'output') {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' });
}

/** The security requirement of each kind of credential. */
const SECURITY: Record<RouteDefinition['auth']['kind'], Record<string, string[]>[]> = {
  public: [],
  admin: [{ adminToken: [] }],
  'api-key': [{ apiKey: [] }],
  'application-token': [{ applicationToken: [] }],
  'installation-token': [{ installationToken: [] }],
  'device-message': [],
  'dashboard-session': [],
  // Open when DS has no metrics token: the requirement is documented either way.
  'metrics-token': [{ metricsToken: [] }, {}],
};

/** The query parameters of a route: the keys of its query schema (an object), each described. */
function queryParameters(route: RouteDefinition) {
  if (!route.query) return [];
  const json = jsonSchema(route.query, 'input') as { properties?: Record<string, { description?: string }>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema,
    ...(schema.description ? { description: schema.description } : {}),
    ...(route.example?.query?.[name] !== undefined ? { example: route.example.query[name] } : {}),
  }));
}

function responses(route: RouteDefinition) {
  const error = { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const produces = route.produces ?? 'json';
  let success: Record<string, unknown>;
  if (produces === 'json' || produces === 'json-document') {
    const data = route.response ?? z.unknown();
    const schema = produces === 'json-document' ? data : route.paginated ? pageEnvelopeSchema(data) : envelopeSchema(data);
    success = { 'application/json': { schema: jsonSchema(schema, 'output') } };
  } else if (produces === 'text') {
    success = { 'text/plain': { schema: { type: 'string', description: 'the Prometheus text exposition format (version 0.0.4)' } } };
  } else if (produces === 'jose') {
    success = { 'application/jose': { schema: { type: 'string', description: 'compact JWE around a JWS signed by DS; its payload is described in API.md section 3' } } };
  } else {
    success = { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } };
  }
  // The headers a route answers (a version's ETag) come with each success.
  const answered = Object.entries(route.headers?.response ?? {});
  const headers = answered.length > 0 ? { headers: Object.fromEntries(answered.map(([name, description]) => [name, { description, schema: { type: 'string' } }])) } : {};
  return {
    '200': { description: 'success', ...headers, content: success },
    ...(route.created ? { '201': { description: 'created', ...headers, content: success } } : {}),
    ...(route.headers?.request?.['If-Match'] || route.headers?.request?.['If-None-Match'] ? { '412': { ...error, description: 'a condition (If-Match, If-None-Match) failed: PRECONDITION_FAILED' } } : {}),
    default: error,
  };
}

function requestBody(route: RouteDefinition) {
  if (!route.body) return {};
  const media = route.auth.kind === 'device-message' ? 'application/jose' : 'application/json';
  const schema =
    media === 'application/jose'
      ? { type: 'string', description: `compact JWE around a JWS signed by the device; its payload: ${JSON.stringify(jsonSchema(route.body, 'input'))}` }
      : jsonSchema(route.body, 'input');
  return { requestBody: { required: true, content: { [media]: { schema, ...(route.example?.body !== undefined ? { example: route.example.body } : {}) } } } };
}

/** The OpenAPI 3 document of the DS API, generated from the route definitions in shared. */
export function openApiDocument(version: string, publicUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  const routes = [...API_ROUTES.map((route) => [API_PREFIX, route] as const), ...OPERATIONS_ROUTES.map((route) => [OPERATIONS_PREFIX, route] as const)];
  for (const [prefix, route] of routes) {
    const params = pathParams(route.path).map((name) => {
      const description = route.params?.shape[name]?.description;
      return {
        name,
        in: 'path',
        required: true,
        schema: { type: 'string' },
        ...(description ? { description } : {}),
        ...(route.example?.params?.[name] !== undefined ? { example: route.example.params[name] } : {}),
      };
    });
    const paging = route.paginated ? [{ name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'page.next of the previous page' }] : [];
    const query = queryParameters(route).filter((q) => !(route.paginated && q.name === 'cursor'));
    const headers = Object.entries(route.headers?.request ?? {}).map(([name, description]) => ({ name, in: 'header', required: false, schema: { type: 'string' }, description }));
    (paths[`${prefix}${route.path}`] ??= {})[route.method.toLowerCase()] = {
      operationId: route.name,
      summary: route.summary,
      ...(route.auth.kind === 'admin' && route.auth.scope ? { 'x-required-scope': route.auth.scope } : {}),
      ...(route.auth.kind === 'admin' ? { 'x-tenancy': route.auth.tenancy } : {}),
      security: SECURITY[route.auth.kind],
      parameters: [...params, ...query, ...paging, ...headers],
      ...requestBody(route),
      responses: responses(route),
    };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'DS API',
      version,
      description: `The API of the Trust1Connector distribution service: public downloads and status, application and installation tokens, the device protocol, and the operators' admin API. Admin scopes: ${SCOPES.join(', ')}.`,
    },
    servers: [{ url: publicUrl }],
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'A session token (ds login) or an admin API token (ds_adm_...)' },
        apiKey: { type: 'apiKey', in: 'header', name: 'apikey', description: 'A label API key (ds_lbl_...) or an installation API key (ds_ins_...)' },
        applicationToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An application JWT from GET /tokens/application' },
        installationToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An installation JWT from GET /tokens/installation' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'DS_METRICS_TOKEN, when DS is configured with one' },
      },
      schemas: { Error: jsonSchema(ErrorEnvelopeSchema, 'output') },
    },
    paths,
  };
}
