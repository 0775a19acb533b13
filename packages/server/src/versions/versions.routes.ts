import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { createdOr, handle, type BoundRoute } from '../lib/routes.js';
import * as service from './versions.service.js';

/** `/admin/versions` and `/admin/defaults` (the DS-wide configs versions fall back to, id `default`). */
export function versionRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.listVersions, ({ query }) => service.listVersions(services, query)),
    handle(API.getVersion, ({ params }) => service.getVersion(services, params.id)),
    handle(API.putVersion, async ({ params, body }) => {
      const { created, version } = await service.putVersion(services, params.id, body);
      return createdOr(version, created);
    }),
    handle(API.deleteVersion, ({ params, query }) => service.deleteVersion(services, params.id, query.force)),
    handle(API.verifyVersion, ({ params }) => service.verifyVersion(services, params.id)),
    handle(API.rotateVersionKey, ({ params, body }) => service.rotateVersionKey(services, params.id, body.graceSeconds)),
    handle(API.revokeVersionKey, ({ params }) => service.revokeVersionKeys(services, params.id)),
    handle(API.getVersionContextConfig, ({ params }) => service.getConfig(services, params.id, 'contextConfig')),
    handle(API.putVersionContextConfig, ({ params, body }) => service.putConfig(services, params.id, 'contextConfig', body.config)),
    handle(API.getVersionSslKeystoreConfig, ({ params }) => service.getConfig(services, params.id, 'sslKeystoreConfig')),
    handle(API.putVersionSslKeystoreConfig, ({ params, body }) => service.putConfig(services, params.id, 'sslKeystoreConfig', body.config)),
    handle(API.getDefaults, () => service.getDefaults(services)),
    handle(API.getDefaultContextConfig, () => service.getConfig(services, 'default', 'contextConfig')),
    handle(API.putDefaultContextConfig, ({ body }) => service.putConfig(services, 'default', 'contextConfig', body.config)),
    handle(API.getDefaultSslKeystoreConfig, () => service.getConfig(services, 'default', 'sslKeystoreConfig')),
    handle(API.putDefaultSslKeystoreConfig, ({ body }) => service.putConfig(services, 'default', 'sslKeystoreConfig', body.config)),
  ];
}
