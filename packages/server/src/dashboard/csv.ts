import type { TransactionDimension, TransactionReportRow } from '@ds/shared';

// The transactions CSV of the dashboard is the one `ds report transactions --csv` prints for the
// same query: the row fields of the grouping in its order (`month` just before `day`), then
// `transactions`, then any other field DS sent; RFC 4180 (header line, CRLF, quoting).

/** The CSV columns of transaction rows grouped by `by`. */
export function transactionCsvFields(by: readonly TransactionDimension[], rows: readonly TransactionReportRow[]): string[] {
  const fields: string[] = [];
  for (const dimension of by) {
    if (dimension === 'day' && !fields.includes('month')) fields.push('month');
    if (!fields.includes(dimension)) fields.push(dimension);
  }
  fields.push('transactions');
  for (const row of rows) for (const key of Object.keys(row)) if (!fields.includes(key)) fields.push(key);
  return fields;
}

/** RFC 4180 text: a header line, CRLF line ends, fields quoted when they hold `,` `"` CR or LF. */
export function toCsv(rows: readonly object[], fields: readonly string[]): string {
  const lines = [fields.map(csvField).join(',')];
  for (const row of rows) lines.push(fields.map((key) => csvField(csvValue((row as Record<string, unknown>)[key]))).join(','));
  return lines.join('\r\n') + '\r\n';
}

function csvValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
