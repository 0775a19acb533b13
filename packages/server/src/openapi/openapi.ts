import {
  ApiTokenSchema,
  ConfigViewSchema,
  DefaultsSchema,
  DeleteResultSchema,
  DeviceReportRowSchema,
  DeviceSchema,
  DownloadReportRowSchema,
  ErrorEnvelopeSchema,
  InstallerCheckSchema,
  LabelPutSchema,
  LabelSchema,
  LoginRequestSchema,
  LoginResultSchema,
  OrganizationPutSchema,
  OrganizationSchema,
  RolloverRequestSchema,
  RolloverResultSchema,
  RotateKeyRequestSchema,
  SCOPES,
  SystemInfoSchema,
  SystemStatusSchema,
  TokenCreateSchema,
  TransactionReportRowSchema,
  UserCreateSchema,
  UserPasswordSchema,
  UserSchema,
  VersionPutSchema,
  VersionSchema,
  WhoamiSchema,
  envelopeSchema,
  pageEnvelopeSchema,
  type Scope,
} from '@ds/shared';
import { z } from 'zod';
import { DsKeyInfoSchema, KeyRotateSchema } from '../keys/keys.routes.js';
import { ContextConfigPutSchema, SslKeystoreConfigPutSchema } from '../versions/versions.routes.js';

interface Operation {
  method: 'get' | 'put' | 'post' | 'delete';
  path: string;
  summary: string;
  scope?: Scope;
  public?: boolean;
  body?: z.ZodType;
  response: z.ZodType;
  paginated?: boolean;
  query?: Record<string, string>;
  created?: boolean;
}

const KeyResult = z.object({ apiKey: z.string() });
const InstallationKeyResult = z.object({ installationApiKey: z.string() });
const force = { force: 'true to delete dependants too' };

/** Every admin operation; the document below is generated from this list and the shared schemas. */
export const OPERATIONS: Operation[] = [
  { method: 'post', path: '/admin/auth/login', summary: 'Log in with a password; answers a session token', public: true, body: LoginRequestSchema, response: LoginResultSchema },
  { method: 'post', path: '/admin/auth/logout', summary: 'End the current session', response: z.null() },
  { method: 'get', path: '/admin/auth/whoami', summary: 'The user and scopes of the current credential', response: WhoamiSchema },
  { method: 'get', path: '/admin/organizations', summary: 'List organizations', scope: 'orgs:read', response: OrganizationSchema, paginated: true },
  { method: 'get', path: '/admin/organizations/{name}', summary: 'Get an organization', scope: 'orgs:read', response: OrganizationSchema },
  { method: 'put', path: '/admin/organizations/{name}', summary: 'Create (201) or update (200) an organization', scope: 'orgs:write', body: OrganizationPutSchema, response: OrganizationSchema, created: true },
  { method: 'delete', path: '/admin/organizations/{name}', summary: 'Delete an organization (409 with labels or users unless forced)', scope: 'orgs:write', response: DeleteResultSchema, query: force },
  { method: 'get', path: '/admin/labels', summary: 'List labels', scope: 'labels:read', response: LabelSchema, paginated: true, query: { organization: 'only labels of this organization' } },
  { method: 'get', path: '/admin/labels/{name}', summary: 'Get a label', scope: 'labels:read', response: LabelSchema },
  { method: 'put', path: '/admin/labels/{name}', summary: 'Create (201, with apiKey shown once) or update (200) a label', scope: 'labels:write', body: LabelPutSchema, response: LabelSchema, created: true },
  { method: 'delete', path: '/admin/labels/{name}', summary: 'Delete a label and its API keys', scope: 'labels:write', response: DeleteResultSchema, query: force },
  { method: 'post', path: '/admin/labels/{name}/rotate-key', summary: 'New API key (shown once); the old one works for graceSeconds', scope: 'labels:write', body: RotateKeyRequestSchema, response: KeyResult },
  { method: 'post', path: '/admin/labels/{name}/revoke-key', summary: 'Revoke every API key of the label', scope: 'labels:write', response: LabelSchema },
  { method: 'get', path: '/admin/versions', summary: 'List versions, highest semver first', scope: 'versions:read', response: VersionSchema, paginated: true },
  { method: 'get', path: '/admin/versions/{id}', summary: 'Get a version', scope: 'versions:read', response: VersionSchema },
  { method: 'put', path: '/admin/versions/{id}', summary: 'Create (201, with installationApiKey shown once) or update (200) a version', scope: 'versions:write', body: VersionPutSchema, response: VersionSchema, created: true },
  { method: 'delete', path: '/admin/versions/{id}', summary: 'Delete a version (409 while devices run it unless forced)', scope: 'versions:write', response: DeleteResultSchema, query: force },
  { method: 'get', path: '/admin/versions/{id}/verify', summary: 'Hash each file: installer again and compare with its record (http(s): unchecked)', scope: 'versions:read', response: z.array(InstallerCheckSchema) },
  { method: 'post', path: '/admin/versions/{id}/rotate-key', summary: 'New installation API key (shown once)', scope: 'versions:write', body: RotateKeyRequestSchema, response: InstallationKeyResult },
  { method: 'post', path: '/admin/versions/{id}/revoke-key', summary: 'Revoke every installation API key of the version', scope: 'versions:write', response: VersionSchema },
  { method: 'get', path: '/admin/versions/{id}/context-config', summary: 'Context config: own, effective, digest', scope: 'versions:read', response: ConfigViewSchema },
  { method: 'put', path: '/admin/versions/{id}/context-config', summary: 'Set (or clear with null) the context config', scope: 'versions:write', body: ContextConfigPutSchema, response: ConfigViewSchema },
  { method: 'get', path: '/admin/versions/{id}/ssl-keystore-config', summary: 'SSL keystore config: own, effective, digest', scope: 'versions:read', response: ConfigViewSchema },
  { method: 'put', path: '/admin/versions/{id}/ssl-keystore-config', summary: 'Set (or clear with null) the SSL keystore config', scope: 'versions:write', body: SslKeystoreConfigPutSchema, response: ConfigViewSchema },
  { method: 'get', path: '/admin/defaults', summary: 'DS-wide default configs', scope: 'versions:read', response: DefaultsSchema },
  { method: 'get', path: '/admin/defaults/context-config', summary: 'Default context config', scope: 'versions:read', response: ConfigViewSchema },
  { method: 'put', path: '/admin/defaults/context-config', summary: 'Set the default context config', scope: 'versions:write', body: ContextConfigPutSchema, response: ConfigViewSchema },
  { method: 'get', path: '/admin/defaults/ssl-keystore-config', summary: 'Default SSL keystore config', scope: 'versions:read', response: ConfigViewSchema },
  { method: 'put', path: '/admin/defaults/ssl-keystore-config', summary: 'Set the default SSL keystore config', scope: 'versions:write', body: SslKeystoreConfigPutSchema, response: ConfigViewSchema },
  { method: 'get', path: '/admin/users', summary: 'List users', scope: 'users:read', response: UserSchema, paginated: true },
  { method: 'post', path: '/admin/users', summary: 'Create a user', scope: 'users:write', body: UserCreateSchema, response: UserSchema, created: true },
  { method: 'get', path: '/admin/users/{username}', summary: 'Get a user (oneself needs no scope)', scope: 'users:read', response: UserSchema },
  { method: 'delete', path: '/admin/users/{username}', summary: 'Delete a user and their tokens', scope: 'users:write', response: DeleteResultSchema },
  { method: 'put', path: '/admin/users/{username}/password', summary: "Set a user's password (oneself needs no scope); ends their other sessions", scope: 'users:write', body: UserPasswordSchema, response: UserSchema },
  { method: 'get', path: '/admin/tokens', summary: 'List own admin API tokens (all=true: everyone’s)', scope: 'tokens:read', response: ApiTokenSchema, paginated: true, query: { all: 'true to list every user’s tokens' } },
  { method: 'post', path: '/admin/tokens', summary: 'Create an admin API token (shown once)', scope: 'tokens:write', body: TokenCreateSchema, response: ApiTokenSchema, created: true },
  { method: 'delete', path: '/admin/tokens/{id}', summary: 'Revoke an admin API token', scope: 'tokens:write', response: ApiTokenSchema },
  { method: 'get', path: '/admin/devices', summary: 'List devices, newest registration first', scope: 'devices:read', response: DeviceSchema, paginated: true, query: { organization: 'devices that reported a label of this organization', label: 'devices that reported this label', version: 'devices on this version', status: 'ACTIVE, UPDATABLE, ERROR or INACTIVE', os: 'os name as the device reported it', since: 'last sync at or after this ISO time' } },
  { method: 'get', path: '/admin/devices/{id}', summary: 'A device with its labels, user agents and counters', scope: 'devices:read', response: DeviceSchema },
  { method: 'delete', path: '/admin/devices/{id}', summary: 'Delete a device; it must register again', scope: 'devices:write', response: DeleteResultSchema },
  { method: 'get', path: '/admin/keys', summary: 'The DS key pairs (public information)', scope: 'keys:read', response: z.array(DsKeyInfoSchema) },
  { method: 'post', path: '/admin/keys/rotate', summary: 'Replace the current DS keys; the old ones stay published for their retention', scope: 'keys:write', body: KeyRotateSchema, response: z.array(DsKeyInfoSchema) },
  { method: 'get', path: '/admin/system/info', summary: 'Counts, database and uptime', scope: 'system:read', response: SystemInfoSchema },
  {
    method: 'get',
    path: '/admin/reports/transactions',
    summary: 'Transactions summed by the dimensions in by; the current month per day, earlier months per month',
    scope: 'reports:read',
    response: z.array(TransactionReportRowSchema),
    query: {
      from: 'a day of the current month (YYYY-MM-DD) or a month (YYYY-MM); default the current month',
      to: 'a day of the current month or a month; default the current month',
      organization: 'only labels of this organization',
      label: 'only this label',
      module: 'only this module',
      useCase: 'only this use case',
      by: 'comma-separated: day, month, organization, label, module, useCase, device (current month only); default month',
    },
  },
  {
    method: 'get',
    path: '/admin/reports/devices',
    summary: 'Device counts, active in 24 h / 7 d / 30 d, stopped syncing and on versions not allowed',
    scope: 'reports:read',
    response: z.array(DeviceReportRowSchema),
    query: {
      by: 'one of os, browser, version, status, organization, label; none gives one row',
      organization: 'only devices that reported a label of this organization',
      label: 'only devices that reported this label',
      staleIntervals: 'stopped = last seen longer ago than this many sync intervals (default 3)',
    },
  },
  {
    method: 'get',
    path: '/admin/reports/downloads',
    summary: 'Installer downloads (not for organization-limited users: downloads belong to no organization)',
    scope: 'reports:read',
    response: z.array(DownloadReportRowSchema),
    query: { from: 'a day or a month; default the current month', to: 'a day or a month', os: 'only this installer os', version: 'only this version', by: 'comma-separated: day, month, os, browser, version; default day' },
  },
  { method: 'post', path: '/admin/counters/rollover', summary: 'Roll over one closed month, or every pending one (409 while another DS process does it)', scope: 'counters:write', body: RolloverRequestSchema, response: z.array(RolloverResultSchema) },
  { method: 'get', path: '/system/status', summary: 'Liveness (public)', public: true, response: SystemStatusSchema },
];

function jsonSchema(schema: z.ZodType, io: 'input' | 'output') {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' });
}

/** The OpenAPI 3 document of the admin API. */
export function openApiDocument(version: string, publicUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const queryParams = [
      ...(op.paginated
        ? [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
            { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'page.next of the previous page' },
          ]
        : []),
      ...Object.entries(op.query ?? {}).map(([name, description]) => ({ name, in: 'query', description, schema: { type: 'string' } })),
    ];
    const success = op.paginated ? pageEnvelopeSchema(op.response) : envelopeSchema(op.response);
    const responses: Record<string, unknown> = {
      '200': { description: 'success', content: { 'application/json': { schema: jsonSchema(success, 'output') } } },
      default: { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    };
    if (op.created) responses['201'] = { description: 'created', content: { 'application/json': { schema: jsonSchema(success, 'output') } } };
    (paths[`/v3_5${op.path}`] ??= {})[op.method] = {
      summary: op.summary,
      ...(op.scope ? { 'x-required-scope': op.scope } : {}),
      security: op.public ? [] : [{ bearer: [] }],
      parameters: [...params, ...queryParams],
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body, 'input') } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'DS admin API',
      version,
      description: `Operators' API of the Trust1Connector distribution service. Scopes: ${SCOPES.join(', ')}.`,
    },
    servers: [{ url: publicUrl }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A session token (ds login) or an admin API token (ds_adm_...)' } },
      schemas: { Error: jsonSchema(ErrorEnvelopeSchema, 'output') },
    },
    paths,
  };
}
