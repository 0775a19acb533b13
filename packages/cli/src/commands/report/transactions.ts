import { billingGroups, TransactionReportQuerySchema, transactionReportFields, type TransactionDimension, type TransactionReportRow } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { byListParser, formatCount, parseName, parsePeriodBound, printReport, sum, type ReportColumn } from './table.js';

/** `--by` spellings of the CLI (the API's names are accepted too). */
const BY: Record<string, TransactionDimension> = {
  day: 'day',
  month: 'month',
  org: 'organization',
  organization: 'organization',
  label: 'label',
  module: 'module',
  'use-case': 'useCase',
  useCase: 'useCase',
  device: 'device',
};
const BY_SHOWN = ['day', 'month', 'org', 'label', 'module', 'use-case', 'device'];

export interface TransactionsReportOptions extends FormatOptions {
  organization?: string;
  label?: string;
  module?: string;
  useCase?: string;
  from?: string;
  to?: string;
  by?: TransactionDimension[];
}

export function registerReportTransactions(report: Command, ctx: Context): void {
  withFormatOptions(
    report
      .command('transactions')
      .description(
        'transactions counted per label: the current month per day, earlier months per month (default: this month, by month); --csv, the billing export, always groups by month too',
      )
      .option('--org, --organization <name>', 'only labels of this organization', parseName)
      .option('--label <name>', 'only this label', parseName)
      .option('--module <name>', 'only this module (e.g. beid, emv)')
      .option('--use-case <name>', 'only this use case (e.g. sign)')
      .option('--from <period>', 'first day (YYYY-MM-DD, this month) or month (YYYY-MM)', parsePeriodBound)
      .option('--to <period>', 'last day (YYYY-MM-DD, this month) or month (YYYY-MM)', parsePeriodBound)
      .option('--by <list>', `group by these, comma separated: ${BY_SHOWN.join(', ')} (default: month)`, byListParser(BY, BY_SHOWN)),
  ).action((options: TransactionsReportOptions) => run(options, ctx));
}

export async function run(options: TransactionsReportOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  // The server's default when --by is not given; the table needs to know the columns.
  const asked = options.by ?? TransactionReportQuerySchema.shape.by.parse(undefined);
  // The CSV is the billing export: every row says which month it bills, even for --by label.
  const by = options.csv ? billingGroups(asked) : asked;
  const rows = await client.transactionsReport({
    from: options.from,
    to: options.to,
    organization: options.organization,
    label: options.label,
    module: options.module,
    useCase: options.useCase,
    by: options.by === undefined && !options.csv ? undefined : by,
  });
  printReport(ctx, options, rows, {
    columns: [...by.map(dimensionColumn), { header: 'Transactions', value: (r) => formatCount(r.transactions), plain: (r) => r.transactions, numeric: true, total: (all) => formatCount(sum(all, (r) => r.transactions)) }],
    fields: transactionReportFields(by),
    bar: by.includes('day') || by.includes('month') ? (r) => r.transactions : undefined,
    total: true,
    empty: 'no transactions in this period',
  });
}

function dimensionColumn(dimension: TransactionDimension): ReportColumn<TransactionReportRow> {
  switch (dimension) {
    case 'month':
      return { header: 'Month', value: (r) => r.month ?? '' };
    // A closed month is kept per month only: its row has no day.
    case 'day':
      return { header: 'Day', value: (r) => r.day ?? (r.month ? `${r.month} (whole month)` : '') };
    // null: counted for no organization (a label DS did not know then), or for one deleted since.
    case 'organization':
      return { header: 'Organization', value: (r) => r.organization ?? '(unattributed)' };
    case 'label':
      return { header: 'Label', value: (r) => r.label ?? '' };
    case 'module':
      return { header: 'Module', value: (r) => r.module ?? '' };
    case 'useCase':
      return { header: 'Use case', value: (r) => r.useCase ?? '' };
    case 'device':
      return { header: 'Device', value: (r) => r.device ?? '' };
  }
}
