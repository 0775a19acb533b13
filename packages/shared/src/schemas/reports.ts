import { z } from 'zod';
import { DaySchema, MonthSchema, NameSchema } from './common.js';

// Reports over counters, devices and downloads (API.md section 4). One schema per query and per
// row; the server validates with them, the CLI and the dashboard read with them.

/** A day `YYYY-MM-DD` or a month `YYYY-MM`: the bounds of a report period. */
export const PeriodBoundSchema = z.union([DaySchema, MonthSchema], { error: 'must be a day YYYY-MM-DD or a month YYYY-MM' });

/** `a,b,c` in a query string, or the same repeated: a list of enum values without duplicates. */
function commaList<const T extends readonly [string, ...string[]]>(values: T) {
  return z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.enum(values, { error: `must be one of ${values.join(', ')}` })))
    .transform((list) => [...new Set(list)]);
}

export const TRANSACTION_DIMENSIONS = ['day', 'month', 'organization', 'label', 'module', 'useCase', 'device'] as const;
export type TransactionDimension = (typeof TRANSACTION_DIMENSIONS)[number];

const FilterSchema = z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters');

/**
 * `GET /admin/reports/transactions`. The current month is kept per day and earlier months per
 * month: `from`/`to` are days within the current month or months (any month, including the
 * current one). Defaults: the current month. `device` is kept for the current month only.
 */
export const TransactionReportQuerySchema = z.strictObject({
  from: PeriodBoundSchema.optional(),
  to: PeriodBoundSchema.optional(),
  organization: NameSchema.optional(),
  label: NameSchema.optional(),
  module: FilterSchema.optional(),
  useCase: FilterSchema.optional(),
  /** Group by these, in this order; none gives one total row. Default `month`. */
  by: commaList(TRANSACTION_DIMENSIONS).default(['month']),
});
export type TransactionReportQuery = z.output<typeof TransactionReportQuerySchema>;
export type TransactionReportQueryInput = z.input<typeof TransactionReportQuerySchema>;

/**
 * One row of the transactions report: the grouped dimensions and the sum. `month` is present
 * when grouped by day or month; `day` (grouped by day) is null for a closed month, which is kept
 * per month. `organization` is the organization the transactions were counted for (counters are
 * bound to the label's organization when they are counted, so deleting a label or moving its name
 * never moves history); null for unattributed transactions (of a label DS did not know when they
 * were counted: billed to no one, seen only by users who see all of DS) and for an organization
 * deleted since.
 */
export const TransactionReportRowSchema = z.object({
  month: MonthSchema.optional(),
  day: DaySchema.nullable().optional(),
  organization: z.string().nullable().optional(),
  label: z.string().optional(),
  module: z.string().optional(),
  useCase: z.string().optional(),
  device: z.string().optional(),
  transactions: z.number().int(),
});
export type TransactionReportRow = z.infer<typeof TransactionReportRowSchema>;

/**
 * The fields of transaction rows grouped by `by`, in its order (`month` comes with `day`, just
 * before it), then `transactions`: the columns of the CSV export, in the CLI and the dashboard.
 */
export function transactionReportFields(by: readonly TransactionDimension[]): string[] {
  const fields: string[] = [];
  for (const dimension of by) {
    if (dimension === 'day' && !fields.includes('month')) fields.push('month');
    if (!fields.includes(dimension)) fields.push(dimension);
  }
  return [...fields, 'transactions'];
}

/**
 * The grouping of a transactions CSV (the billing export of the CLI and the dashboard): `by`, with
 * `month` first unless it groups by month or day already, so every row says which month it bills,
 * and a period of several months is never summed into rows that belong to none of them.
 */
export function billingGroups(by: readonly TransactionDimension[]): TransactionDimension[] {
  return by.includes('month') || by.includes('day') ? [...by] : ['month', ...by];
}

export const DEVICE_DIMENSIONS = ['os', 'browser', 'version', 'status', 'organization', 'label', 'device'] as const;
export type DeviceDimension = (typeof DEVICE_DIMENSIONS)[number];

/** `GET /admin/reports/devices` */
export const DeviceReportQuerySchema = z.strictObject({
  /** One row per value of this dimension; none gives one row for all devices. */
  by: z.enum(DEVICE_DIMENSIONS, { error: `must be one of ${DEVICE_DIMENSIONS.join(', ')}` }).optional(),
  organization: NameSchema.optional(),
  label: NameSchema.optional(),
  /** A device has stopped syncing when its last sync is older than this many sync intervals. */
  staleIntervals: z.coerce.number().int().min(1).max(1000).default(3),
  /** Only devices whose transactions the daily limit refused in the last 30 days (with `by=device`: which ones). */
  dailyLimited: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => v === 'true' || v === '1'),
});
export type DeviceReportQuery = z.output<typeof DeviceReportQuerySchema>;
export type DeviceReportQueryInput = z.input<typeof DeviceReportQuerySchema>;

/**
 * Device counts for one value of the dimension (`key`, null when unknown: no user agent, no
 * label; the device id with `device`). With `browser` or `label`, a device counts once under each
 * value it reported.
 */
export const DeviceReportRowSchema = z.object({
  key: z.string().nullable().optional(),
  devices: z.number().int(),
  active24h: z.number().int(),
  active7d: z.number().int(),
  active30d: z.number().int(),
  /** Last seen (last sync, or registration) longer ago than `staleIntervals` sync intervals. */
  stopped: z.number().int(),
  /** On a version that is not allowed, or no longer known to DS. */
  notAllowed: z.number().int(),
  /**
   * Had transactions refused by the per-device daily limit (`DS_DEVICE_DAILY_TRANSACTION_LIMIT`)
   * in the last 30 days: implausible use, worth a look.
   */
  dailyLimited: z.number().int(),
});
export type DeviceReportRow = z.infer<typeof DeviceReportRowSchema>;

export const DOWNLOAD_DIMENSIONS = ['day', 'month', 'os', 'browser', 'version'] as const;
export type DownloadDimension = (typeof DOWNLOAD_DIMENSIONS)[number];

/** `GET /admin/reports/downloads`; `from`/`to` are days or months. Default: the current month by day. */
export const DownloadReportQuerySchema = z.strictObject({
  from: PeriodBoundSchema.optional(),
  to: PeriodBoundSchema.optional(),
  os: z.string().min(1).max(32).optional(),
  version: z.string().min(1).max(64).optional(),
  by: commaList(DOWNLOAD_DIMENSIONS).default(['day']),
});
export type DownloadReportQuery = z.output<typeof DownloadReportQuerySchema>;
export type DownloadReportQueryInput = z.input<typeof DownloadReportQuerySchema>;

export const DownloadReportRowSchema = z.object({
  day: DaySchema.optional(),
  month: MonthSchema.optional(),
  os: z.string().optional(),
  browser: z.string().nullable().optional(),
  version: z.string().optional(),
  /** Download requests answered with the installer (200 or 206). */
  downloads: z.number().int(),
  /** Of those, the ones that sent the installer to its last byte. */
  completed: z.number().int(),
  bytes: z.number().int(),
});
export type DownloadReportRow = z.infer<typeof DownloadReportRowSchema>;

export const ADOPTION_DIMENSIONS = ['day', 'month', 'organization', 'label', 'os', 'version'] as const;
export type AdoptionDimension = (typeof ADOPTION_DIMENSIONS)[number];

/**
 * `GET /admin/reports/adoption`: devices per version from the daily snapshots (today's is computed
 * when asked). Periods as for transactions: days of the current month, or months; a closed month
 * is kept as its last snapshot (the devices at its end). Default: the current month by day and version.
 */
export const AdoptionReportQuerySchema = z.strictObject({
  from: PeriodBoundSchema.optional(),
  to: PeriodBoundSchema.optional(),
  organization: NameSchema.optional(),
  label: NameSchema.optional(),
  /** The OS name devices registered with (Windows, macOS, Linux...). */
  os: z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters').optional(),
  version: z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters').optional(),
  /** Group by these, in this order. Without day or month, the period's last snapshot. */
  by: commaList(ADOPTION_DIMENSIONS).default(['day', 'version']),
});
export type AdoptionReportQuery = z.output<typeof AdoptionReportQuerySchema>;
export type AdoptionReportQueryInput = z.input<typeof AdoptionReportQuerySchema>;

/**
 * Devices on one version (and organization, label, OS when grouped by them) in one snapshot: a
 * day of the current month, or the last snapshot of a closed month (`day` null), or with neither
 * day nor month grouped, the last snapshot of the period. A device counts once under each label it
 * reported (and each organization it serves); otherwise once. `share` (grouped by version) is the
 * part of the devices of the same row without version that runs this one, from 0 to 1.
 */
export const AdoptionReportRowSchema = z.object({
  month: MonthSchema.optional(),
  day: DaySchema.nullable().optional(),
  organization: z.string().nullable().optional(),
  label: z.string().optional(),
  os: z.string().nullable().optional(),
  version: z.string().optional(),
  devices: z.number().int(),
  /** Of those, the devices whose last reported status was ERROR. */
  errors: z.number().int(),
  share: z.number().min(0).max(1).optional(),
});
export type AdoptionReportRow = z.infer<typeof AdoptionReportRowSchema>;

/** The fields of adoption rows grouped by `by`, in its order (`month` comes with `day`), then the counts. */
export function adoptionReportFields(by: readonly AdoptionDimension[]): string[] {
  const fields: string[] = [];
  for (const dimension of by) {
    if (dimension === 'day' && !fields.includes('month')) fields.push('month');
    if (!fields.includes(dimension)) fields.push(dimension);
  }
  return [...fields, 'devices', 'errors', ...(by.includes('version') ? ['share'] : [])];
}

/** `POST /admin/counters/rollover` */
export const RolloverRequestSchema = z.strictObject({
  /** One closed month; without it, every closed month that still has work. */
  month: MonthSchema.optional(),
});
export type RolloverRequest = z.infer<typeof RolloverRequestSchema>;

/** What the rollover of one month did (all zero when it had been done already). */
export const RolloverResultSchema = z.object({
  month: MonthSchema,
  /** Daily label rows flattened into archived month rows (and removed). */
  dailyRowsArchived: z.number().int(),
  /** Per-device rows of that month set to zero for the new month. */
  deviceRowsReset: z.number().int(),
  /** Per-device rows not updated during that month, removed. */
  deviceRowsDeleted: z.number().int(),
  /** When the month's rollover first completed (this run or an earlier one). */
  completedAt: z.iso.datetime(),
});
export type RolloverResult = z.infer<typeof RolloverResultSchema>;
