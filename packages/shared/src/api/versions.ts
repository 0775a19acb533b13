import { SemverSchema } from '../schemas/common.js';
import {
  ConfigViewSchema,
  ContextConfigPutSchema,
  DefaultsSchema,
  DeleteResultSchema,
  EmptyBodySchema,
  ForceQuerySchema,
  InstallationKeyResultSchema,
  InstallerCheckSchema,
  RotateKeyRequestSchema,
  SslKeystoreConfigPutSchema,
  VersionPutSchema,
  VersionSchema,
} from '../schemas/admin.js';
import { PageQuerySchema } from '../schemas/common.js';
import { z } from 'zod';
import { PathSegmentSchema, defineRoute, pathParam } from './route.js';

const IdParam = z.object({ id: PathSegmentSchema });
const version = { params: { id: '3.8.1' } };
const read = { kind: 'admin', scope: 'versions:read', tenancy: 'shared' } as const;
const write = { kind: 'admin', scope: 'versions:write', tenancy: 'unrestricted', why: 'versions belong to all of DS' } as const;

// Optimistic concurrency (RFC 9110 13.1.1): a version's answers carry its ETag, and a change sent
// with If-Match is made only if the version is still in the state the caller read, checked in the
// transaction that writes. Absent (or `*` on an existing version), the last write wins, as before.
const ETAG =
  "The version's entity tag: changes whenever the version, its installers, own configs or installation keys change (not when a key is used, nor when DS-wide defaults change); send it back in If-Match";
const IF_MATCH =
  'An ETag of this version (from GET or an earlier change): the change is made only if the version is still in that state, else 412 PRECONDITION_FAILED and nothing changes. `*`: only if the version exists. Absent: unconditionally';
const answersEtag = { response: { ETag: ETAG } };
const conditional = { request: { 'If-Match': IF_MATCH }, response: { ETag: ETAG } };

/** `/admin/versions`, their installers, installation keys and configs, and `/admin/defaults`. */
export const versionRoutes = {
  listVersions: defineRoute({
    name: 'listVersions',
    method: 'GET',
    path: '/admin/versions',
    summary: 'List versions, highest semver first',
    auth: read,
    query: PageQuerySchema,
    response: VersionSchema,
    paginated: true,
  }),
  getVersion: defineRoute({
    name: 'getVersion',
    method: 'GET',
    path: '/admin/versions/{id}',
    summary: 'Get a version',
    headers: answersEtag,
    auth: read,
    params: IdParam,
    response: VersionSchema,
    example: version,
  }),
  putVersion: defineRoute({
    name: 'putVersion',
    method: 'PUT',
    path: '/admin/versions/{id}',
    summary: 'Create (201, with installationApiKey shown once) or update (200) a version',
    headers: {
      request: { 'If-Match': IF_MATCH, 'If-None-Match': '`*`: only create the version; 412 PRECONDITION_FAILED if it exists' },
      response: { ETag: ETAG },
    },
    auth: write,
    params: z.object({ id: pathParam(SemverSchema, 'version id') }),
    body: VersionPutSchema,
    response: VersionSchema,
    created: true,
    example: { params: { id: '3.9.0' }, body: { recommended: true, installers: [{ os: 'win64', uri: 'https://cdn.example.com/t1c/3.9.0/t1c-x64.msi' }] } },
  }),
  deleteVersion: defineRoute({
    name: 'deleteVersion',
    method: 'DELETE',
    path: '/admin/versions/{id}',
    summary: 'Delete a version (409 while devices run it unless forced)',
    headers: { request: { 'If-Match': IF_MATCH } },
    auth: write,
    params: IdParam,
    query: ForceQuerySchema,
    response: DeleteResultSchema,
    example: version,
  }),
  verifyVersion: defineRoute({
    name: 'verifyVersion',
    method: 'GET',
    path: '/admin/versions/{id}/verify',
    summary: 'Hash each file: installer again and compare with its record (http(s): unchecked)',
    auth: read,
    params: IdParam,
    response: z.array(InstallerCheckSchema),
    example: version,
  }),
  rotateVersionKey: defineRoute({
    name: 'rotateVersionKey',
    method: 'POST',
    path: '/admin/versions/{id}/rotate-key',
    summary: 'New installation API key (shown once); the old one works for graceSeconds',
    headers: conditional,
    auth: write,
    params: IdParam,
    body: RotateKeyRequestSchema,
    response: InstallationKeyResultSchema,
    example: { ...version, body: {} },
  }),
  revokeVersionKey: defineRoute({
    name: 'revokeVersionKey',
    method: 'POST',
    path: '/admin/versions/{id}/revoke-key',
    summary: 'Revoke every installation API key of the version',
    headers: conditional,
    auth: write,
    params: IdParam,
    body: EmptyBodySchema,
    response: VersionSchema,
    example: { ...version, body: {} },
  }),
  getVersionContextConfig: defineRoute({
    name: 'getVersionContextConfig',
    method: 'GET',
    path: '/admin/versions/{id}/context-config',
    summary: 'Context config: own, effective, digest',
    headers: answersEtag,
    auth: read,
    params: IdParam,
    response: ConfigViewSchema,
    example: version,
  }),
  putVersionContextConfig: defineRoute({
    name: 'putVersionContextConfig',
    method: 'PUT',
    path: '/admin/versions/{id}/context-config',
    summary: 'Set (or clear with null) the context config',
    headers: conditional,
    auth: write,
    params: IdParam,
    body: ContextConfigPutSchema,
    response: ConfigViewSchema,
    example: { ...version, body: { config: { corsAllowlist: ['https://*.acme.com'], syncIntervalSeconds: 1800 } } },
  }),
  getVersionSslKeystoreConfig: defineRoute({
    name: 'getVersionSslKeystoreConfig',
    method: 'GET',
    path: '/admin/versions/{id}/ssl-keystore-config',
    summary: 'SSL keystore config: own, effective, digest',
    headers: answersEtag,
    auth: read,
    params: IdParam,
    response: ConfigViewSchema,
    example: version,
  }),
  putVersionSslKeystoreConfig: defineRoute({
    name: 'putVersionSslKeystoreConfig',
    method: 'PUT',
    path: '/admin/versions/{id}/ssl-keystore-config',
    summary: 'Set (or clear with null) the SSL keystore config',
    headers: conditional,
    auth: write,
    params: IdParam,
    body: SslKeystoreConfigPutSchema,
    response: ConfigViewSchema,
    example: { ...version, body: { config: null } },
  }),
  getDefaults: defineRoute({
    name: 'getDefaults',
    method: 'GET',
    path: '/admin/defaults',
    summary: 'DS-wide default configs',
    auth: read,
    response: DefaultsSchema,
  }),
  getDefaultContextConfig: defineRoute({
    name: 'getDefaultContextConfig',
    method: 'GET',
    path: '/admin/defaults/context-config',
    summary: 'Default context config',
    auth: read,
    response: ConfigViewSchema,
  }),
  putDefaultContextConfig: defineRoute({
    name: 'putDefaultContextConfig',
    method: 'PUT',
    path: '/admin/defaults/context-config',
    summary: 'Set the default context config',
    auth: write,
    body: ContextConfigPutSchema,
    response: ConfigViewSchema,
    example: { body: { config: { syncFailureLimit: 12 } } },
  }),
  getDefaultSslKeystoreConfig: defineRoute({
    name: 'getDefaultSslKeystoreConfig',
    method: 'GET',
    path: '/admin/defaults/ssl-keystore-config',
    summary: 'Default SSL keystore config',
    auth: read,
    response: ConfigViewSchema,
  }),
  putDefaultSslKeystoreConfig: defineRoute({
    name: 'putDefaultSslKeystoreConfig',
    method: 'PUT',
    path: '/admin/defaults/ssl-keystore-config',
    summary: 'Set the default SSL keystore config',
    auth: write,
    body: SslKeystoreConfigPutSchema,
    response: ConfigViewSchema,
    example: { body: { config: null } },
  }),
};
