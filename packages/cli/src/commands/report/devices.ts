import type { DeviceDimension, DeviceReportRow } from '@ds/shared';
import { InvalidArgumentError, type Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { parsePositive } from '../../lib/parse.js';
import { formatCount, parseName, printReport, sum, type ReportColumn } from './table.js';

/** `--by` spellings of the CLI (the API's names are accepted too). */
const BY: Record<string, DeviceDimension> = {
  os: 'os',
  browser: 'browser',
  version: 'version',
  status: 'status',
  org: 'organization',
  organization: 'organization',
  label: 'label',
  device: 'device',
};
const BY_SHOWN = ['os', 'browser', 'version', 'status', 'org', 'label', 'device'];

const HEADERS: Record<DeviceDimension, string> = {
  os: 'OS',
  browser: 'Browser',
  version: 'Version',
  status: 'Status',
  organization: 'Organization',
  label: 'Label',
  device: 'Device',
};

/** Dimensions under which a device counts once per value it reported: their rows do not add up. */
const OVERLAPPING: DeviceDimension[] = ['browser', 'label'];

export interface DevicesReportOptions extends FormatOptions {
  by?: DeviceDimension;
  organization?: string;
  label?: string;
  staleIntervals?: number;
  dailyLimited?: boolean;
}

export function registerReportDevices(report: Command, ctx: Context): void {
  withFormatOptions(
    report
      .command('devices')
      .description('devices per OS, browser, version, status, organization or label: how many, how many active, stopped, on a version not allowed')
      .option('--by <dimension>', `one row per value of ${BY_SHOWN.join(', ')} (default: one row for all devices)`, parseBy)
      .option('--org, --organization <name>', 'only devices that reported a label of this organization', parseName)
      .option('--label <name>', 'only devices that reported this label', parseName)
      .option('--stale-intervals <n>', 'a device has stopped when it has not synced for this many sync intervals (default 3)', parseStaleIntervals)
      .option('--daily-limited', 'only devices whose transactions the per-device daily limit refused in the last 30 days (with --by device: which ones)'),
  ).action((options: DevicesReportOptions) => run(options, ctx));
}

export async function run(options: DevicesReportOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  const rows = await client.devicesReport({
    by: options.by,
    organization: options.organization,
    label: options.label,
    staleIntervals: options.staleIntervals,
    ...(options.dailyLimited ? { dailyLimited: 'true' as const } : {}),
  });
  const by = options.by;
  const count = (header: string, value: (r: DeviceReportRow) => number): ReportColumn<DeviceReportRow> => ({
    header,
    value: (r) => formatCount(value(r)),
    plain: value,
    numeric: true,
    total: (all) => formatCount(sum(all, value)),
  });
  const columns: ReportColumn<DeviceReportRow>[] = [
    count('Devices', (r) => r.devices),
    count('Active 24h', (r) => r.active24h),
    count('Active 7d', (r) => r.active7d),
    count('Active 30d', (r) => r.active30d),
    count('Stopped', (r) => r.stopped),
    count('Not allowed', (r) => r.notAllowed),
    // Devices whose transactions the per-device daily limit refused in the last 30 days.
    count('Daily limit', (r) => r.dailyLimited),
  ];
  if (by) columns.unshift({ header: HEADERS[by], value: (r) => r.key ?? (by === 'label' || by === 'organization' ? '(none)' : '(unknown)') });
  const overlapping = by !== undefined && OVERLAPPING.includes(by);
  printReport(ctx, options, rows, {
    columns,
    fields: [...(by ? ['key'] : []), 'devices', 'active24h', 'active7d', 'active30d', 'stopped', 'notAllowed', 'dailyLimited'],
    bar: (r) => r.devices,
    // Without --by the one row is the total already.
    total: by !== undefined && !overlapping,
    empty: 'no devices',
    footnote: overlapping
      ? `no total: a device counts once under each ${by === 'browser' ? 'browser' : 'label'} it reported, so the rows add up to more than the number of devices`
      : undefined,
  });
}

function parseBy(text: string): DeviceDimension {
  const value = text.trim();
  const dimension = Object.hasOwn(BY, value) ? BY[value] : undefined;
  if (!dimension) throw new InvalidArgumentError(`expected one of ${BY_SHOWN.join(', ')}`);
  return dimension;
}

function parseStaleIntervals(text: string): number {
  const value = parsePositive(text);
  if (value > 1000) throw new InvalidArgumentError('expected a whole number from 1 to 1000');
  return value;
}
