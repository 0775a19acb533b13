import { API } from '@ds/shared';
import type { Context } from 'hono';
import type { Services } from '../context.js';
import { createdOr, handle, type BoundRoute } from '../lib/routes.js';
import { preconditionsOf } from './etag.js';
import * as service from './versions.service.js';

/** Answers `data` with the version's ETag header. */
function tagged<D>(c: Context, data: D, etag: string): D {
  c.header('ETag', etag);
  return data;
}

/** `/admin/versions` and `/admin/defaults` (the DS-wide configs versions fall back to, id `default`). */
export function versionRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.listVersions, ({ query }) => service.listVersions(services, query)),
    handle(API.getVersion, async ({ c, params }) => {
      const { version, etag } = await service.getTaggedVersion(services, params.id);
      return tagged(c, version, etag);
    }),
    handle(API.putVersion, async ({ c, params, body }) => {
      const { created, version, etag } = await service.putVersion(services, params.id, body, preconditionsOf(c));
      return tagged(c, createdOr(version, created), etag);
    }),
    handle(API.deleteVersion, ({ c, params, query }) => service.deleteVersion(services, params.id, query.force, preconditionsOf(c))),
    handle(API.verifyVersion, ({ params }) => service.verifyVersion(services, params.id)),
    handle(API.rotateVersionKey, async ({ c, params, body }) => {
      const { result, etag } = await service.rotateVersionKey(services, params.id, body.graceSeconds, preconditionsOf(c));
      return tagged(c, result, etag);
    }),
    handle(API.revokeVersionKey, async ({ c, params }) => {
      const { version, etag } = await service.revokeVersionKeys(services, params.id, preconditionsOf(c));
      return tagged(c, version, etag);
    }),
    handle(API.getVersionContextConfig, async ({ c, params }) => {
      const { view, etag } = await service.getTaggedConfig(services, params.id, 'contextConfig');
      return tagged(c, view, etag);
    }),
    handle(API.putVersionContextConfig, async ({ c, params, body }) => {
      const { view, etag } = await service.putVersionConfig(services, params.id, 'contextConfig', body.config, preconditionsOf(c));
      return tagged(c, view, etag);
    }),
    handle(API.getVersionSslKeystoreConfig, async ({ c, params }) => {
      const { view, etag } = await service.getTaggedConfig(services, params.id, 'sslKeystoreConfig');
      return tagged(c, view, etag);
    }),
    handle(API.putVersionSslKeystoreConfig, async ({ c, params, body }) => {
      const { view, etag } = await service.putVersionConfig(services, params.id, 'sslKeystoreConfig', body.config, preconditionsOf(c));
      return tagged(c, view, etag);
    }),
    handle(API.getDefaults, () => service.getDefaults(services)),
    handle(API.getDefaultContextConfig, () => service.getConfig(services, 'default', 'contextConfig')),
    handle(API.putDefaultContextConfig, ({ body }) => service.putConfig(services, 'default', 'contextConfig', body.config)),
    handle(API.getDefaultSslKeystoreConfig, () => service.getConfig(services, 'default', 'sslKeystoreConfig')),
    handle(API.putDefaultSslKeystoreConfig, ({ body }) => service.putConfig(services, 'default', 'sslKeystoreConfig', body.config)),
  ];
}
