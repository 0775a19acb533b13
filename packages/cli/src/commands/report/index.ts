import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { registerReportAdoption } from './adoption.js';
import { registerReportDevices } from './devices.js';
import { registerReportDownloads } from './downloads.js';
import { registerReportTransactions } from './transactions.js';

export function registerReport(program: Command, ctx: Context): void {
  const report = program
    .command('report')
    .description('reports: transactions counted per label, devices, installer downloads, version adoption (tables with totals; --json and --csv give the rows)');
  for (const register of [registerReportTransactions, registerReportDevices, registerReportDownloads, registerReportAdoption]) register(report, ctx);
}
