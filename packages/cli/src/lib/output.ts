import CliTable from 'cli-table3';
import { Option, type Command } from 'commander';
import { toCsv } from '@ds/shared';
import type { Context } from './context.js';

/** `--json` / `--csv` / `--plain`; none means a table on a terminal and plain lines elsewhere. */
export interface FormatOptions {
  json?: boolean;
  csv?: boolean;
  plain?: boolean;
}

/** Adds the mutually exclusive `--json`, `--csv` and `--plain` options to a command that prints data. */
export function withFormatOptions(command: Command): Command {
  return command
    .addOption(new Option('--json', 'print the API objects as JSON').conflicts(['csv', 'plain']))
    .addOption(new Option('--csv', 'print CSV (RFC 4180; nested values flattened to columns)').conflicts(['json', 'plain']))
    .addOption(new Option('--plain', 'print tab-separated lines, no borders (the default when stdout is not a terminal)').conflicts(['json', 'csv']));
}

/**
 * True when data for people goes out as plain lines rather than a drawn table: with `--plain`, and
 * whenever stdout is not a terminal (a pipe, a file), so `ds ... | grep`, `cut -f` and `awk -F'\t'`
 * never meet box-drawing characters.
 */
export function plainOutput(ctx: Context, format: FormatOptions): boolean {
  return format.plain === true || (ctx.stdout as { isTTY?: unknown }).isTTY !== true;
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
  if (plainOutput(ctx, format)) return void ctx.stdout.write(tsv([columns.map((c) => c.header), ...rows.map((row) => columns.map((c) => c.value(row)))]));
  const table = new Table({ head: columns.map((c) => c.header) });
  for (const row of rows) table.push(columns.map((c) => readable(c.value(row))));
  ctx.out(table.toString());
}

/**
 * Prints one object: a two-column table of `fields` (default: every field, nested ones flattened
 * to dotted names), or exactly the API object as JSON, or a one-row CSV of its fields.
 */
export function printObject(ctx: Context, format: FormatOptions, object: object, fields?: [string, unknown][]): void {
  if (format.json) return void ctx.stdout.write(json(object));
  if (format.csv) return void ctx.stdout.write(toCsv([object as Record<string, unknown>], Object.keys(object)));
  if (plainOutput(ctx, format)) return void ctx.stdout.write(tsv(fields ?? flatten(object)));
  const rows = (fields ?? flatten(object)).map(([name, value]) => [name, readable(value)] as const);
  const table = new Table(fitTwoColumns(rows.map(([name, value]) => [cell(name), cell(value)] as const), ctx.width));
  for (const [name, value] of rows) table.push({ [name]: value });
  ctx.out(table.toString());
}

/**
 * `--json`: exactly the API objects. JSON.stringify escapes C0 controls but writes DEL, C1 and
 * the bidi and invisible format characters raw, and JSON is often printed straight to a terminal:
 * they are written as `\uXXXX` escapes, which parse back to the very same strings.
 */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(RAW_IN_JSON, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}

/** JSON Lines: one compact JSON object a line (`ds audit export`), escaped as {@link json} escapes. */
export function jsonLines(values: unknown[]): string {
  return values.map((value) => JSON.stringify(value).replace(RAW_IN_JSON, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n').join('');
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

// ---------------------------------------------------------------- text for a terminal

// A device chooses its hostname, OS fields, user agents, labels, modules and use cases, and DS
// stores them as they came (issue 11). Whatever the CLI prints for people goes through
// terminalText, so none of it can act on the operator's terminal: no ESC/OSC sequence (title,
// clear screen, OSC 8 links), no C1 CSI, no carriage return over a line, no bidi override or
// invisible character. --json and --csv are written exactly (programs read them), never through it.

/** C0 (with line feed and tab), DEL, C1, and the Unicode controls that reorder text or are invisible. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/gu;
/** The characters of CONTROLS that JSON.stringify leaves raw (it escapes C0 itself); never structural in JSON. */
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/gu;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `text` made safe for a terminal: every control character shown as an escape (`\x1b`, `\x9b`,
 * `\r`, `\u202e`), everything else as it is (accents, CJK, emoji, backslashes). With `multiline`
 * line feeds and tabs stay (lines of text); without it (a table cell, a prompt) they show as `\n`
 * and `\t`. A zero width joiner inside an emoji sequence stays too, or 👩‍💻 would come apart.
 * The only escaping function of the CLI: tables, `ctx.out`, `ctx.note`, errors and prompts use it.
 */
export function terminalText(text: string, options: { multiline?: boolean } = {}): string {
  return text.replace(CONTROLS, (char: string, at: number) => {
    if (options.multiline && (char === '\n' || char === '\t')) return char;
    if (char === '\u200d' && joinsEmoji(text, at)) return char;
    const code = char.charCodeAt(0);
    return SHORT[char] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

function joinsEmoji(text: string, at: number): boolean {
  return /\p{Extended_Pictographic}[\u{fe0f}\u{1f3fb}-\u{1f3ff}]?$/u.test(text.slice(Math.max(0, at - 4), at)) && /^\p{Extended_Pictographic}/u.test(text.slice(at + 1, at + 3));
}

/**
 * Parts of a table cell that the CLI puts on lines of their own (`lines(summary, userAgent)`).
 * A line break inside a value is escaped like any control character (a device could otherwise
 * draw rows of its own); a value that should span lines says so with this.
 */
export class Lines {
  constructor(readonly parts: readonly unknown[]) {}
}

/** A table value shown as one line a part. */
export function lines(...parts: unknown[]): Lines {
  return new Lines(parts);
}

/** How a value reads in a table, before escaping: empty for null, yes/no, lists joined with commas, objects as JSON. */
function readable(value: unknown): string | Lines {
  if (value === null || value === undefined) return '';
  if (value instanceof Lines) return value;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.every((v) => typeof v !== 'object' || v === null) ? value.join(', ') : JSON.stringify(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The text drawn in a table cell: {@link readable}, escaped; its only line breaks are those between {@link lines}. */
export function cell(value: unknown): string {
  const text = readable(value);
  return text instanceof Lines ? text.parts.map(cell).join('\n') : terminalText(text);
}

/** What a table cell may hold: a value ({@link cell} draws it), or cli-table3's cell options around one. */
type Content = string | number | boolean | null | undefined | Lines;
type CellOptions = Omit<CliTable.CellOptions, 'content'> & { content: Content };

/**
 * The CLI's only table: cli-table3 without colours, whose header, row names and cells are all drawn
 * with {@link cell} (escaped) when the table is printed, whatever was pushed into it.
 */
export class Table {
  private readonly rows: Table.Row[] = [];
  constructor(private readonly options: CliTable.TableConstructorOptions = {}) {}

  push(...rows: Table.Row[]): void {
    this.rows.push(...rows);
  }

  toString(): string {
    // No colours: the output is often piped or pasted, and the ANSI codes would end up in it.
    // Were there any, they would be added here, by cli-table3, around text already escaped.
    const table = new CliTable({ style: { head: [], border: [] }, ...this.options, head: (this.options.head ?? []).map(cell) });
    for (const row of this.rows) {
      table.push(Array.isArray(row) ? row.map(drawn) : Object.fromEntries(Object.entries(row).map(([name, value]) => [cell(name), drawn(value)])));
    }
    return table.toString();
  }
}

// Types under the class's name, as cli-table3 has them (`Table.Cell`).
export declare namespace Table {
  type Cell = Content | CellOptions;
  /** A row of cells, or one `{ name: value }` row of a name/value table. */
  type Row = Cell[] | Record<string, Cell>;
}

function drawn(value: Table.Cell): CliTable.Cell {
  if (typeof value !== 'object' || value === null || value instanceof Lines) return cell(value);
  return { ...value, content: cell(value.content), ...(value.href === undefined ? {} : { href: terminalText(value.href) }) };
}

/** Columns a text takes on a terminal: wide (CJK) characters and emoji two, marks none. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const { segment } of graphemes.segment(text)) width += WIDE.test(segment) ? 2 : 1;
  return width;
}

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
const WIDE =
  /\p{Emoji_Presentation}|\u{fe0f}|[\u{1100}-\u{115f}\u{2e80}-\u{303e}\u{3041}-\u{33ff}\u{3400}-\u{4dbf}\u{4e00}-\u{9fff}\u{a000}-\u{a4cf}\u{ac00}-\u{d7a3}\u{f900}-\u{faff}\u{fe30}-\u{fe4f}\u{ff00}-\u{ff60}\u{ffe0}-\u{ffe6}\u{20000}-\u{3fffd}]/u;

// ---------------------------------------------------------------- plain lines (TSV)

// The plain form of a table, for pipes: one line per row, cells separated by one tab, no borders,
// no padding. A list starts with its header line; one object is one `name<TAB>value` line per
// field. The cells are those of the table (yes/no, lists joined with ", ", sizes readable), escaped
// so a row is always one line and a tab always separates cells: a backslash is written `\\`, a tab
// `\t`, a line feed `\n` (also between the parts of a cell a table shows on several lines), a
// carriage return `\r`, and any other control character as the table escapes it (`\x1b`,
// `\u202e`). Splitting a line on tabs and undoing those escapes gives the values back.

/** One cell of a plain line: the table's text, escaped as above. */
export function tsvField(value: unknown): string {
  return terminalText(plainText(value).replace(/\\/g, '\\\\'));
}

/** The text of one part of a multi-line cell, before escaping. */
function plainText(value: unknown): string {
  const text = readable(value);
  return text instanceof Lines ? text.parts.map(plainText).join('\n') : text;
}

/** Plain lines: each row's cells escaped ({@link tsvField}) and joined with tabs. */
export function tsv(rows: readonly (readonly unknown[])[]): string {
  return rows.map((row) => row.map(tsvField).join('\t') + '\n').join('');
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

/**
 * Column widths that make a name/value table fit the terminal, wrapping long values; none when it
 * fits. `rows` are the drawn texts ({@link cell}): escaped, so measured as they will show.
 */
export function fitTwoColumns(rows: readonly (readonly [string, string])[], width: number | undefined): CliTable.TableConstructorOptions {
  if (!width || rows.length === 0) return {};
  const longest = (texts: string[]) => Math.max(0, ...texts.flatMap((t) => t.split('\n')).map(displayWidth));
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

/** One JSON line, escaped as {@link json} escapes (the `--json` error envelope on stderr). */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(RAW_IN_JSON, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}
