import Table from 'cli-table3';
import { Option, type Command } from 'commander';
import { toCsv } from '@ds/shared';
import type { Context } from './context.js';

/** `--json` / `--csv`; neither means a table. */
export interface FormatOptions {
  json?: boolean;
  csv?: boolean;
}

/** Adds the mutually exclusive `--json` and `--csv` options to a command that prints data. */
export function withFormatOptions(command: Command): Command {
  return command
    .addOption(new Option('--json', 'print the API objects as JSON').conflicts('csv'))
    .addOption(new Option('--csv', 'print CSV (RFC 4180)').conflicts('json'));
}

/** A column of a table: its header and how to get the cell from a row. */
export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

/**
 * Shape of a zod object schema, enough to name the CSV columns of an empty list and to leave
 * out the once-only secrets (optional fields) that a list never carries.
 */
export interface ObjectSchemaLike {
  shape: Record<string, { safeParse(value: unknown): { success: boolean } }>;
}

/** Prints a list: a table of `columns`, or exactly the API objects as JSON, or all their fields as CSV. */
export function printList<T extends object>(
  ctx: Context,
  format: FormatOptions,
  rows: T[],
  columns: Column<T>[],
  options: { schema?: ObjectSchemaLike; empty?: string } = {},
): void {
  if (format.json) return void ctx.stdout.write(json(rows));
  if (format.csv) return void ctx.stdout.write(toCsv(rows as Record<string, unknown>[], csvKeys(rows, options.schema)));
  if (rows.length === 0) return ctx.note(options.empty ?? 'nothing to show');
  const table = newTable(columns.map((c) => c.header));
  for (const row of rows) table.push(columns.map((c) => cell(c.value(row))));
  ctx.stdout.write(table.toString() + '\n');
}

/**
 * Prints one object: a two-column table of `fields` (default: every field, nested ones flattened
 * to dotted names), or exactly the API object as JSON, or a one-row CSV of its fields.
 */
export function printObject(ctx: Context, format: FormatOptions, object: object, fields?: [string, unknown][]): void {
  if (format.json) return void ctx.stdout.write(json(object));
  if (format.csv) return void ctx.stdout.write(toCsv([object as Record<string, unknown>], Object.keys(object)));
  const rows = (fields ?? flatten(object)).map(([name, value]) => [name, cell(value)] as const);
  const table = newTable([], fitTwoColumns(rows, ctx.width));
  for (const [name, value] of rows) table.push({ [name]: value });
  ctx.stdout.write(table.toString() + '\n');
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** `{a: {b: 1}, c: [1, 2]}` → `[["a.b", 1], ["c", [1, 2]]]`; arrays of objects get indexed names. */
export function flatten(value: object, prefix = ''): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, inner] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (Array.isArray(inner) && inner.some((item) => isPlainObject(item))) {
      if (inner.length === 0) out.push([name, inner]);
      inner.forEach((item, index) => {
        if (isPlainObject(item)) out.push(...flatten(item, `${name}[${index}]`));
        else out.push([`${name}[${index}]`, item]);
      });
    } else if (isPlainObject(inner) && Object.keys(inner).length > 0) {
      out.push(...flatten(inner, name));
    } else {
      out.push([name, inner]);
    }
  }
  return out;
}

/** Text of a table cell: empty for null, lists joined with commas, objects as JSON. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.every((v) => typeof v !== 'object' || v === null) ? value.join(', ') : JSON.stringify(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// ---------------------------------------------------------------- CSV (RFC 4180)

/** The header of a CSV list: the schema's always-present fields, then any other field the rows carry. */
function csvKeys(rows: object[], schema: ObjectSchemaLike | undefined): string[] {
  const keys: string[] = [];
  if (schema) {
    for (const [key, field] of Object.entries(schema.shape)) if (!field.safeParse(undefined).success) keys.push(key);
  }
  for (const row of rows) for (const key of Object.keys(row)) if (!keys.includes(key)) keys.push(key);
  return keys;
}

/** RFC 4180 CSV (shared with the dashboard's downloads). */
export { csvField, toCsv } from '@ds/shared';

// ---------------------------------------------------------------- helpers

function newTable(head: string[], options: Table.TableConstructorOptions = {}): Table.Table {
  // No colours: the output is often piped or pasted, and the ANSI codes would end up in it.
  return new Table({ head, style: { head: [], border: [] }, ...options });
}

/** Column widths that make a name/value table fit the terminal, wrapping long values; none when it fits. */
export function fitTwoColumns(rows: readonly (readonly [string, string])[], width: number | undefined): Table.TableConstructorOptions {
  if (!width || rows.length === 0) return {};
  const longest = (texts: string[]) => Math.max(0, ...texts.flatMap((t) => t.split('\n')).map((line) => line.length));
  const nameWidth = longest(rows.map(([name]) => name)) + 2;
  const valueWidth = longest(rows.map(([, value]) => value)) + 2;
  // Three borders: left, middle, right.
  if (nameWidth + valueWidth + 3 <= width) return {};
  const available = Math.max(12, width - nameWidth - 3);
  return { colWidths: [nameWidth, available], wordWrap: true, wrapOnWordBoundary: true };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `3600` → `1h`, `90061` → `1d 1h 1m 1s`. */
export function formatDuration(seconds: number): string {
  const parts: string[] = [];
  let rest = Math.max(0, Math.floor(seconds));
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) parts.push(`${count}${unit}`);
  }
  return parts.length > 0 ? parts.join(' ') : '0s';
}

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
