import { DsApiError, type InstallerCheck } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';
import { json, printList, toCsv, withFormatOptions, type Column, type FormatOptions } from '../../lib/output.js';
import { formatSize } from './view.js';

const STATUSES = ['ok', 'changed', 'missing', 'unchecked'] as const;
const FAILING: readonly InstallerCheck['status'][] = ['changed', 'missing'];

/** Enough of a SHA-256 to tell two apart at a glance; --json has the whole of it. */
const short = (sha256: string | null | undefined) => (sha256 ? sha256.slice(0, 12) : null);

function sizeCell(check: InstallerCheck): string | null {
  const { recorded, actual } = check;
  if (!actual) return recorded.size === null ? null : formatSize(recorded.size);
  if (recorded.size === null || recorded.size === actual.size) return formatSize(actual.size);
  return `${formatSize(recorded.size)} → ${formatSize(actual.size)}`;
}

export const checkColumns: Column<InstallerCheck>[] = [
  { header: 'os', value: (c) => c.os.toLowerCase() },
  { header: 'status', value: (c) => c.status },
  { header: 'recorded sha256', value: (c) => short(c.recorded.sha256) },
  { header: 'actual sha256', value: (c) => short(c.actual?.sha256) },
  { header: 'size', value: sizeCell },
  { header: 'detail', value: (c) => c.detail },
];

const CSV_KEYS = ['os', 'uri', 'status', 'recorded.sha256', 'recorded.size', 'actual.sha256', 'actual.size', 'detail'];

export function registerVersionVerify(version: Command, ctx: Context): void {
  withFormatOptions(
    version
      .command('verify')
      .argument('<id>', 'version, e.g. 3.8.1')
      .description('compare each installer with the SHA-256 and size DS recorded when it was saved')
      .addHelpText('after', '\nExit code 1 when an installer is changed or missing (so a CI job fails on it), 0 otherwise.'),
  ).action((id: string, options: FormatOptions) => run({ ...options, id }, ctx));
}

export async function run(options: FormatOptions & { id: string }, ctx: Context): Promise<void> {
  const client = await ctx.client();
  let checks: InstallerCheck[];
  try {
    checks = await client.verifyVersion(options.id);
  } catch (error) {
    if (error instanceof DsApiError && error.code === 'ROUTE_NOT_FOUND') {
      throw new CliError(`DS at ${client.baseUrl} cannot verify installers: it is older than this ds`);
    }
    throw error;
  }
  if (options.json) ctx.stdout.write(json(checks));
  // Dotted columns rather than JSON in a field: a spreadsheet or a CI script reads them directly.
  else if (options.csv) ctx.stdout.write(toCsv(checks.map(csvRow), CSV_KEYS));
  else printList(ctx, options, checks, checkColumns, { empty: `version ${options.id} has no installers` });

  const line = summary(checks);
  const failing = checks.filter((c) => FAILING.includes(c.status));
  if (failing.length === 0) return ctx.note(line);
  const names = failing.map((c) => `${c.os.toLowerCase()} ${c.status}`).join(', ');
  throw new CliError(
    line,
    undefined,
    `${names}: downloads of a changed installer are refused (409 INSTALLER_CHANGED); restore the file, ` +
      `or record what is there now with \`ds version installer add ${options.id} <os>=<uri>\``,
  );
}

/** `3 installers: 2 ok, 1 changed` (statuses in a fixed order, those with none left out). */
export function summary(checks: InstallerCheck[]): string {
  const counts = STATUSES.map((status) => [status, checks.filter((c) => c.status === status).length] as const).filter(([, n]) => n > 0);
  const head = `${checks.length} installer${checks.length === 1 ? '' : 's'}`;
  return counts.length === 0 ? head : `${head}: ${counts.map(([status, n]) => `${n} ${status}`).join(', ')}`;
}

function csvRow(c: InstallerCheck): Record<string, unknown> {
  return {
    os: c.os,
    uri: c.uri,
    status: c.status,
    'recorded.sha256': c.recorded.sha256,
    'recorded.size': c.recorded.size,
    'actual.sha256': c.actual?.sha256 ?? null,
    'actual.size': c.actual?.size ?? null,
    detail: c.detail,
  };
}
