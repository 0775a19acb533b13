import { csvColumns, DsApiError, NameSchema } from '@ds/shared';
import { InvalidArgumentError } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';
import { json, plainOutput, Table, toCsv, tsv, type FormatOptions } from '../../lib/output.js';

// What the three reports share: a table with a TOTAL row and bars for people, and exactly the
// rows DS answered for programs (--json, --csv). Piped (or with --plain) the table is plain lines:
// its header and rows, tab-separated, counts as plain numbers, no bars and no TOTAL row (a total
// among the rows would be counted twice by whatever sums them).

/** A column of a report table. */
export interface ReportColumn<T> {
  header: string;
  /** The text of the cell. */
  value: (row: T) => string;
  /** Right-aligned (counts, sizes). */
  numeric?: boolean;
  /** The cell of the plain lines, when it differs from the table's (`1234` rather than `1,234`). */
  plain?: (row: T) => string | number;
  /** The text of the TOTAL row's cell; empty when not given. */
  total?: (rows: T[]) => string;
}

export interface ReportLayout<T> {
  columns: ReportColumn<T>[];
  /** The CSV header when DS sends no rows, and the order of the fields that are always there. */
  fields: string[];
  /** A bar per row, proportional to this value; only on a terminal. */
  bar?: ((row: T) => number) | undefined;
  /** Add a TOTAL row; only where the rows add up to something meaningful. */
  total: boolean;
  /** Said on stderr when there are no rows. */
  empty: string;
  /** A line said on stderr after the table (never with --json or --csv). */
  footnote?: string | undefined;
}

/** Prints report rows: a table (TOTAL row, bars on a terminal), or the rows exactly as DS sent them. */
export function printReport<T extends object>(ctx: Context, format: FormatOptions, rows: T[], layout: ReportLayout<T>): void {
  if (format.json) return void ctx.stdout.write(json(rows));
  if (format.csv) return void ctx.stdout.write(toCsv(rows, csvColumns(rows, layout.fields)));
  if (rows.length === 0) return ctx.note(layout.empty);
  if (plainOutput(ctx, format)) {
    ctx.stdout.write(tsv([layout.columns.map((c) => c.header), ...rows.map((row) => layout.columns.map((c) => (c.plain ?? c.value)(row)))]));
    if (layout.footnote) ctx.note(layout.footnote);
    return;
  }
  const bar = ctx.terminal ? layout.bar : undefined;
  const max = bar ? Math.max(0, ...rows.map(bar)) : 0;
  const head = layout.columns.map((c) => c.header);
  if (bar) head.push('');
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) {
    const cells: Table.Cell[] = layout.columns.map((c) => align(c, c.value(row)));
    if (bar) cells.push(barText(bar(row), max));
    table.push(cells);
  }
  if (layout.total) {
    const cells: Table.Cell[] = layout.columns.map((c, index) => (index === 0 ? 'TOTAL' : align(c, c.total?.(rows) ?? '')));
    if (bar) cells.push('');
    table.push(cells);
  }
  ctx.stdout.write(table.toString() + '\n');
  if (layout.footnote) ctx.note(layout.footnote);
}

function align<T>(column: ReportColumn<T>, content: string): Table.Cell {
  return column.numeric ? { content, hAlign: 'right' } : content;
}

/** How wide the longest bar is, in characters. */
export const BAR_WIDTH = 20;
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar of full blocks and one partial block, `value / max` of {@link BAR_WIDTH}; never empty for a value above zero. */
export function barText(value: number, max: number, width = BAR_WIDTH): string {
  if (max <= 0 || value <= 0) return '';
  const eighths = Math.max(1, Math.round((value / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
}

/** `1234567` → `1,234,567`: counts in tables (CSV and JSON keep the plain number). */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

export function sum<T>(rows: T[], value: (row: T) => number): number {
  return rows.reduce((total, row) => total + value(row), 0);
}

/**
 * Parser of a `--by` option: comma-separated values (the option may also be repeated), each a
 * CLI spelling from `names`, mapped to the API's name; duplicates dropped, order kept.
 */
export function byListParser<D extends string>(names: Record<string, D>, shown: string[]) {
  return (text: string, previous: D[] | undefined): D[] => {
    const list = [...(previous ?? [])];
    const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (items.length === 0) throw new InvalidArgumentError(`expected one or more of ${shown.join(', ')}, separated by commas`);
    for (const item of items) {
      const name = Object.hasOwn(names, item) ? names[item] : undefined;
      if (!name) throw new InvalidArgumentError(`unknown value "${item}": expected one or more of ${shown.join(', ')}, separated by commas`);
      if (!list.includes(name)) list.push(name);
    }
    return list;
  };
}

/** `--from` / `--to`: a day `YYYY-MM-DD` or a month `YYYY-MM` that exists in the calendar. */
export function parsePeriodBound(text: string): string {
  const value = text.trim();
  const match = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(value);
  if (match) {
    const [year, month, day] = [Number(match[1]), Number(match[2]), match[3] === undefined ? 1 : Number(match[3])];
    const date = new Date(Date.UTC(year, month - 1, day));
    if (date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day) return value;
  }
  throw new InvalidArgumentError('expected a day YYYY-MM-DD or a month YYYY-MM, such as 2026-03-15 or 2026-02');
}

/** `--org`, `--label`: a name as DS allows it. */
export function parseName(text: string): string {
  const result = NameSchema.safeParse(text);
  if (!result.success) throw new InvalidArgumentError(result.error.issues[0]?.message ?? 'not a valid name');
  return text;
}

/** A month `YYYY-MM` (months 01 to 12). */
export function parseMonth(text: string): string {
  const value = text.trim();
  const match = /^\d{4}-(\d{2})$/.exec(value);
  if (!match || Number(match[1]) < 1 || Number(match[1]) > 12) throw new InvalidArgumentError('expected a month YYYY-MM, such as 2026-02');
  return value;
}

/**
 * Turns an answer of DS into the same error line with a hint about what it means for this
 * command; other errors are left to the CLI's error handling.
 */
export function withHint(error: unknown, when: (error: DsApiError) => boolean, hint: string): unknown {
  if (!(error instanceof DsApiError) || !when(error)) return error;
  const request = error.requestId ? ` (request ${error.requestId})` : '';
  return new CliError(`${error.code}: ${error.description}${request}`, undefined, hint);
}
