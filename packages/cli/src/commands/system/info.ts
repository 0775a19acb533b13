import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';

export function registerSystemInfo(system: Command, ctx: Context): void {
  withFormatOptions(system.command('info').description('counts, database and uptime of the DS')).action((options: FormatOptions) => run(options, ctx));
}

export async function run(options: FormatOptions, ctx: Context): Promise<void> {
  const info = await (await ctx.client()).systemInfo();
  printObject(ctx, options, info);
}
