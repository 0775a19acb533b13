import {
  AdoptionReportQuerySchema,
  AdoptionReportRowSchema,
  DeviceReportQuerySchema,
  DeviceReportRowSchema,
  DownloadReportQuerySchema,
  DownloadReportRowSchema,
  RolloverRequestSchema,
  RolloverResultSchema,
  TransactionReportQuerySchema,
  TransactionReportRowSchema,
} from '../schemas/reports.js';
import { z } from 'zod';
import { defineRoute } from './route.js';

/** `/admin/reports` (transactions, devices, downloads) and the month rollover on demand. */
export const reportRoutes = {
  transactionsReport: defineRoute({
    name: 'transactionsReport',
    method: 'GET',
    path: '/admin/reports/transactions',
    summary:
      'Transactions summed by the dimensions in by; the current month per day, earlier months per month. from/to: a day of the current month (YYYY-MM-DD) or a month (YYYY-MM), default the current month; by: comma-separated day, month, organization, label, module, useCase, device (current month only), default month',
    auth: { kind: 'admin', scope: 'reports:read', tenancy: 'filtered' },
    query: TransactionReportQuerySchema,
    response: z.array(TransactionReportRowSchema),
    example: { query: { organization: 'acme', from: '2026-10', to: '2026-10', by: 'label,module,useCase' } },
  }),
  devicesReport: defineRoute({
    name: 'devicesReport',
    method: 'GET',
    path: '/admin/reports/devices',
    summary:
      'Device counts, active in 24 h / 7 d / 30 d, stopped syncing (silent for staleIntervals sync intervals, default 3) and on versions not allowed; by one of os, browser, version, status, organization, label',
    auth: { kind: 'admin', scope: 'reports:read', tenancy: 'filtered' },
    query: DeviceReportQuerySchema,
    response: z.array(DeviceReportRowSchema),
    example: { query: { organization: 'acme', by: 'os' } },
  }),
  downloadsReport: defineRoute({
    name: 'downloadsReport',
    method: 'GET',
    path: '/admin/reports/downloads',
    summary: 'Installer downloads by day, month, os, browser and version (default: the current month by day)',
    auth: { kind: 'admin', scope: 'reports:read', tenancy: 'unrestricted', why: 'downloads belong to no organization' },
    query: DownloadReportQuerySchema,
    response: z.array(DownloadReportRowSchema),
    example: { query: { by: 'month,os' } },
  }),
  adoptionReport: defineRoute({
    name: 'adoptionReport',
    method: 'GET',
    path: '/admin/reports/adoption',
    summary:
      'Devices per version from the daily adoption snapshots (today computed when asked); the current month per day, earlier months as their last snapshot. from/to: a day of the current month or a month, default the current month; by: comma-separated day, month, organization, label, os, version, default day,version',
    auth: { kind: 'admin', scope: 'reports:read', tenancy: 'filtered' },
    query: AdoptionReportQuerySchema,
    response: z.array(AdoptionReportRowSchema),
    example: { query: { organization: 'acme', from: '2026-09', to: '2026-10', by: 'month,version' } },
  }),
  rolloverCounters: defineRoute({
    name: 'rolloverCounters',
    method: 'POST',
    path: '/admin/counters/rollover',
    summary: 'Roll over one closed month, or every pending one (409 while another DS process does it)',
    auth: { kind: 'admin', scope: 'counters:write', tenancy: 'unrestricted', why: 'the counters of every organization roll over together' },
    body: RolloverRequestSchema,
    response: z.array(RolloverResultSchema),
    example: { body: {} },
  }),
};
