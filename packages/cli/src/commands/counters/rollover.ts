import { RolloverResultSchema, type RolloverResult } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { printList, withFormatOptions, type Column, type FormatOptions } from '../../lib/output.js';
import { parseMonth, withHint } from '../report/table.js';

export interface RolloverOptions extends FormatOptions {
  month?: string;
}

const columns: Column<RolloverResult>[] = [
  { header: 'Month', value: (r) => r.month },
  { header: 'Daily rows archived', value: (r) => r.dailyRowsArchived },
  { header: 'Device rows reset', value: (r) => r.deviceRowsReset },
  { header: 'Device rows deleted', value: (r) => r.deviceRowsDeleted },
  { header: 'Completed at', value: (r) => r.completedAt },
];

export function registerCountersRollover(counters: Command, ctx: Context): void {
  withFormatOptions(
    counters
      .command('rollover')
      .description('close finished months now (DS also does it by itself): archive their daily label counters per month, reset the device counters; safe to repeat')
      .option('--month <YYYY-MM>', 'only this closed month (default: every closed month that still has work)', parseMonth),
  ).action((options: RolloverOptions) => run(options, ctx));
}

export async function run(options: RolloverOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  let results: RolloverResult[];
  try {
    results = await client.rolloverCounters(options.month ? { month: options.month } : {});
  } catch (error) {
    throw withHint(error, (e) => e.status === 409, 'another DS process is running the rollover right now; run it again in a moment (it is safe to repeat)');
  }
  if (options.json || options.csv) return printList(ctx, options, results, columns, { schema: RolloverResultSchema });
  if (results.length === 0) return ctx.out(options.month ? `nothing to roll over for ${options.month}` : 'nothing to roll over');
  printList(ctx, options, results, columns);
  for (const r of results) {
    if (r.dailyRowsArchived + r.deviceRowsReset + r.deviceRowsDeleted === 0) ctx.note(`${r.month}: nothing changed (rolled over at ${r.completedAt})`);
  }
}
