import { csvColumns, transactionReportFields, type TransactionDimension, type TransactionReportRow } from '@ds/shared';

// The transactions CSV of the dashboard is the one `ds report transactions --csv` prints for the
// same query: the same columns (shared) and the same RFC 4180 encoder (shared). Its query groups
// by month and day whatever the split (dashboard.service's transactionQuery), so every row carries
// the month it bills, as billingGroups makes the CLI's; csv.test.ts holds it to that.

export { toCsv } from '@ds/shared';

/** The CSV columns of transaction rows grouped by `by`, then any other field a row carries. */
export function transactionCsvFields(by: readonly TransactionDimension[], rows: readonly TransactionReportRow[]): string[] {
  return csvColumns(rows, transactionReportFields(by));
}
