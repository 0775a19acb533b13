// CSV as RFC 4180 describes it, the one encoder of `ds ... --csv` and the dashboard's downloads.

/** Quotes a field when it holds a comma, a quote, CR or LF; quotes inside are doubled. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  // Labels, modules and use cases come from devices in the field: text a spreadsheet would run
  // as a formula gets a leading apostrophe (OWASP, CSV injection). Numbers are never touched.
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(value)) return `'${value}`;
  return String(value);
}

/** A header line of `keys`, then one line per row; CRLF line ends, nested values as JSON in one field. */
export function toCsv(rows: readonly object[], keys: readonly string[]): string {
  if (keys.length === 0) return '';
  const lines = [keys.map(csvField).join(',')];
  for (const row of rows) lines.push(keys.map((key) => csvField(csvValue((row as Record<string, unknown>)[key]))).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** The known columns first, then any other field a row carries (a newer DS may send more). */
export function csvColumns(rows: readonly object[], known: readonly string[]): string[] {
  const keys = [...known];
  for (const row of rows) for (const key of Object.keys(row)) if (!keys.includes(key)) keys.push(key);
  return keys;
}
