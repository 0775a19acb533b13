// CSV as RFC 4180 describes it, the one encoder of `ds ... --csv` and the dashboard's downloads.
//
// A cell never holds JSON: a spreadsheet cannot use it, and a script would need a second parser.
// Nested values are flattened, the same way in every CSV DS writes (csvRecord):
// - an object gives one column per field, named with a dot: `os.name`, `os.version`,
//   `os.architecture`, `contextConfig.digest`, `counts.devices.total`;
// - a list of values is one cell, the values joined with `;`: labels `acme-web;acme-app`,
//   scopes `versions:read;versions:write`, CORS origins;
// - a list of installers (objects with an `os` and a `uri`) gives one column per OS, named by the OS in lower
//   case, holding its URI: `installers.win64`, `installers.macosarm` (their checksums and sizes:
//   `ds version installer list <id> --csv`);
// - a list of API keys (objects with a `prefix` and a `status`) is one cell, `prefix (status)`
//   joined with `;`: `ds_ins_AbC1… (active);ds_ins_XyZ2… (grace)`;
// - any other list of objects gives columns numbered from 1: `counters.1.label`, `counters.1.module`.

/** Quotes a field when it holds a comma, a quote, CR or LF; quotes inside are doubled. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** What a flattened CSV cell holds before it is written. */
export type CsvValue = string | number | boolean | null;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function flattenInto(name: string, value: unknown, out: Map<string, CsvValue>): void {
  if (value === null || value === undefined) {
    out.set(name, null);
  } else if (Array.isArray(value)) {
    if (value.every((item) => !isObject(item) && !Array.isArray(item))) {
      out.set(name, value.map((item) => (item === null || item === undefined ? '' : String(item))).join(';'));
    } else if (value.every((item) => isObject(item) && typeof item.os === 'string' && typeof item.uri === 'string')) {
      for (const item of value as { os: string; uri: string }[]) out.set(`${name}.${item.os.toLowerCase()}`, item.uri);
    } else if (value.every((item) => isObject(item) && typeof item.prefix === 'string' && typeof item.status === 'string')) {
      out.set(name, (value as { prefix: string; status: string }[]).map((key) => `${key.prefix} (${key.status})`).join(';'));
    } else {
      value.forEach((item, index) => flattenInto(`${name}.${index + 1}`, item, out));
    }
  } else if (isObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) out.set(name, null);
    for (const [key, inner] of entries) flattenInto(`${name}.${key}`, inner, out);
  } else {
    out.set(name, value as CsvValue);
  }
}

/** One row as CSV cells: nested values flattened to named columns (see the rules above). */
export function csvRecord(row: object): Map<string, CsvValue> {
  const out = new Map<string, CsvValue>();
  for (const [key, value] of Object.entries(row)) flattenInto(key, value, out);
  return out;
}

function csvText(value: CsvValue | undefined): string {
  if (value === null || value === undefined) return '';
  // Labels, modules and use cases come from devices in the field: text a spreadsheet would run
  // as a formula gets a leading apostrophe (OWASP, CSV injection). Numbers are never touched.
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(value)) return `'${value}`;
  return String(value);
}

/**
 * A header line, then one line per row; CRLF line ends. `keys` are the row's fields in the order
 * wanted; a field holding nested values becomes the columns it flattens to (`os` → `os.name`,
 * `os.version`, `os.architecture`), in the order the rows first have them.
 */
export function toCsv(rows: readonly object[], keys: readonly string[]): string {
  if (keys.length === 0) return '';
  const records = rows.map(csvRecord);
  const columns = csvHeader(records, keys);
  const lines = [columns.map(csvField).join(',')];
  for (const record of records) lines.push(columns.map((column) => csvField(csvText(record.get(column)))).join(','));
  return lines.join('\r\n') + '\r\n';
}

/**
 * The columns of `keys` after flattening, each key's in the order the rows first have them. A
 * column under which some row nests columns (`contextConfig.own` null in one row, an object in
 * another) is left out when no row has a value of its own there: the nested columns say it all.
 */
function csvHeader(records: Map<string, CsvValue>[], keys: readonly string[]): string[] {
  const columns: string[] = [];
  for (const key of keys) {
    const mine: string[] = [key];
    for (const record of records) for (const column of record.keys()) if (column.startsWith(`${key}.`) && !mine.includes(column)) mine.push(column);
    const empty = (column: string) => records.every((record) => [undefined, null, ''].includes(record.get(column) as never));
    columns.push(...mine.filter((column) => !(empty(column) && mine.some((other) => other.startsWith(`${column}.`)))));
  }
  return columns;
}

/** The known columns first, then any other field a row carries (a newer DS may send more). */
export function csvColumns(rows: readonly object[], known: readonly string[]): string[] {
  const keys = [...known];
  for (const row of rows) for (const key of Object.keys(row)) if (!keys.includes(key)) keys.push(key);
  return keys;
}
