import type { DownloadDimension, DownloadReportQuery, DownloadReportRow } from '@ds/shared';
import { DownloadReportQuerySchema } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { formatBytes, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { byListParser, formatCount, parsePeriodBound, printReport, sum, withHint, type ReportColumn } from './table.js';

const BY: Record<string, DownloadDimension> = { day: 'day', month: 'month', os: 'os', browser: 'browser', version: 'version' };
const BY_SHOWN = Object.keys(BY);

export interface DownloadsReportOptions extends FormatOptions {
  from?: string;
  to?: string;
  os?: string;
  version?: string;
  by?: DownloadDimension[];
}

export function registerReportDownloads(report: Command, ctx: Context): void {
  withFormatOptions(
    report
      .command('downloads')
      .description('installer downloads, and how many of them completed (default: this month, by day); not for users limited to an organization')
      .option('--from <period>', 'first day (YYYY-MM-DD) or month (YYYY-MM)', parsePeriodBound)
      .option('--to <period>', 'last day (YYYY-MM-DD) or month (YYYY-MM)', parsePeriodBound)
      .option('--os <os>', 'only installers for this OS (e.g. WIN64, MACOSARM)')
      .option('--version <version>', 'only installers of this T1C version')
      .option('--by <list>', `group by these, comma separated: ${BY_SHOWN.join(', ')} (default: day)`, byListParser(BY, BY_SHOWN)),
  ).action((options: DownloadsReportOptions) => run(options, ctx));
}

export async function run(options: DownloadsReportOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  let rows: DownloadReportRow[];
  try {
    rows = await client.downloadsReport({ from: options.from, to: options.to, os: options.os, version: options.version, by: options.by });
  } catch (error) {
    throw withHint(
      error,
      (e) => e.status === 403 && e.code === 'FORBIDDEN',
      'the download report covers all of DS (downloads belong to no organization): use a login or token that is not limited to an organization',
    );
  }
  // The server's default when --by is not given; the table needs to know the columns.
  const by: DownloadReportQuery['by'] = options.by ?? DownloadReportQuerySchema.shape.by.parse(undefined);
  const count = (header: string, value: (r: DownloadReportRow) => number): ReportColumn<DownloadReportRow> => ({
    header,
    value: (r) => formatCount(value(r)),
    plain: value,
    numeric: true,
    total: (all) => formatCount(sum(all, value)),
  });
  printReport(ctx, options, rows, {
    columns: [
      ...by.map(dimensionColumn),
      count('Downloads', (r) => r.downloads),
      count('Completed', (r) => r.completed),
      { header: 'Bytes', value: (r) => formatBytes(r.bytes), plain: (r) => r.bytes, numeric: true, total: (all) => formatBytes(sum(all, (r) => r.bytes)) },
    ],
    fields: [...by, 'downloads', 'completed', 'bytes'],
    bar: by.includes('day') || by.includes('month') ? (r) => r.downloads : undefined,
    total: true,
    empty: 'no downloads in this period',
  });
}

function dimensionColumn(dimension: DownloadDimension): ReportColumn<DownloadReportRow> {
  switch (dimension) {
    case 'day':
      return { header: 'Day', value: (r) => r.day ?? '' };
    case 'month':
      return { header: 'Month', value: (r) => r.month ?? '' };
    case 'os':
      return { header: 'OS', value: (r) => r.os ?? '' };
    // null: the download's User-Agent named no browser DS knows (curl, scripts).
    case 'browser':
      return { header: 'Browser', value: (r) => r.browser ?? '(unknown)' };
    case 'version':
      return { header: 'Version', value: (r) => r.version ?? '' };
  }
}
