import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { handle, type BoundRoute } from '../lib/routes.js';
import * as service from './audit.service.js';

/** `/admin/audit`: the audit log and the check of its chain. */
export function auditRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.listAudit, ({ principal, query }) => service.listAudit(services, principal, query)),
    handle(API.verifyAudit, () => service.verifyAudit(services)),
  ];
}
