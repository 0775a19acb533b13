import { API } from '@ds/shared';
import type { Services } from '../context.js';
import { handle, type BoundRoute } from '../lib/routes.js';
import { adoptionReport } from './adoption.js';
import { devicesReport } from './devices.js';
import { downloadsReport } from './downloads.js';
import { transactionsReport } from './transactions.js';

/** `/admin/reports`: transactions, devices, downloads and adoption. */
export function reportRoutes(services: Services): BoundRoute[] {
  return [
    handle(API.transactionsReport, ({ principal, query }) => transactionsReport(services, principal, query)),
    handle(API.devicesReport, ({ principal, query }) => devicesReport(services, principal, query)),
    handle(API.downloadsReport, ({ principal, query }) => downloadsReport(services, principal, query)),
    handle(API.adoptionReport, ({ principal, query }) => adoptionReport(services, principal, query)),
  ];
}
