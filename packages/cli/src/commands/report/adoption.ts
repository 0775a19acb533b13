import { AdoptionReportQuerySchema, adoptionReportFields, type AdoptionDimension, type AdoptionReportRow } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { byListParser, formatCount, parseName, parsePeriodBound, printReport, type ReportColumn } from './table.js';

/** `--by` spellings of the CLI (the API's names are accepted too). */
const BY: Record<string, AdoptionDimension> = {
  day: 'day',
  month: 'month',
  org: 'organization',
  organization: 'organization',
  label: 'label',
  os: 'os',
  version: 'version',
};
const BY_SHOWN = ['day', 'month', 'org', 'label', 'os', 'version'];

export interface AdoptionReportOptions extends FormatOptions {
  organization?: string;
  label?: string;
  os?: string;
  version?: string;
  from?: string;
  to?: string;
  by?: AdoptionDimension[];
}

export function registerReportAdoption(report: Command, ctx: Context): void {
  withFormatOptions(
    report
      .command('adoption')
      .description(
        'devices per version from the daily snapshots: the current month per day (today as of now), earlier months as their last day (default: this month, by day and version)',
      )
      .option('--org, --organization <name>', 'only devices that serve this organization', parseName)
      .option('--label <name>', 'only devices that reported this label', parseName)
      .option('--os <name>', 'only devices of this OS (the name they registered with: Windows, macOS, Linux)')
      .option('--version <id>', 'only devices on this version')
      .option('--from <period>', 'first day (YYYY-MM-DD, this month) or month (YYYY-MM)', parsePeriodBound)
      .option('--to <period>', 'last day (YYYY-MM-DD, this month) or month (YYYY-MM)', parsePeriodBound)
      .option('--by <list>', `group by these, comma separated: ${BY_SHOWN.join(', ')} (default: day,version)`, byListParser(BY, BY_SHOWN)),
  ).action((options: AdoptionReportOptions) => run(options, ctx));
}

export async function run(options: AdoptionReportOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  // The server's default when --by is not given; the table needs to know the columns.
  const by = options.by ?? AdoptionReportQuerySchema.shape.by.parse(undefined);
  const rows = await client.adoptionReport({
    from: options.from,
    to: options.to,
    organization: options.organization,
    label: options.label,
    os: options.os,
    version: options.version,
    by: options.by,
  });
  const timed = by.includes('day') || by.includes('month');
  printReport(ctx, options, rows, {
    columns: [
      ...by.map(dimensionColumn),
      { header: 'Devices', value: (r) => formatCount(r.devices), plain: (r) => r.devices, numeric: true },
      { header: 'Errors', value: (r) => formatCount(r.errors), plain: (r) => r.errors, numeric: true },
      ...(by.includes('version') ? [{ header: 'Share', value: (r: AdoptionReportRow) => percent(r.share ?? 0), plain: (r: AdoptionReportRow) => r.share ?? 0, numeric: true }] : []),
    ],
    fields: adoptionReportFields(by),
    bar: (r) => (by.includes('version') ? (r.share ?? 0) : r.devices),
    // Snapshots are not added up: the same device is in every day's row.
    total: false,
    empty: 'no devices in this period (a day has a snapshot once it has ended; today is counted as of now)',
    footnote: timed ? undefined : 'as of the last snapshot of the period (today: now)',
  });
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function dimensionColumn(dimension: AdoptionDimension): ReportColumn<AdoptionReportRow> {
  switch (dimension) {
    case 'month':
      return { header: 'Month', value: (r) => r.month ?? '' };
    // A closed month is kept as its last snapshot: its row has no day.
    case 'day':
      return { header: 'Day', value: (r) => r.day ?? (r.month ? `${r.month} (end of month)` : '') };
    // null: an organization deleted since.
    case 'organization':
      return { header: 'Organization', value: (r) => r.organization ?? '(deleted)' };
    case 'label':
      return { header: 'Label', value: (r) => r.label ?? '' };
    case 'os':
      return { header: 'OS', value: (r) => r.os ?? '(unknown)' };
    case 'version':
      return { header: 'Version', value: (r) => r.version ?? '' };
  }
}
