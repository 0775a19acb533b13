import { DsApiError } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';

export function registerSystemStatus(system: Command, ctx: Context): void {
  withFormatOptions(system.command('status').description('public status of the DS (no login needed)')).action((options: FormatOptions) =>
    run(options, ctx),
  );
}

export async function run(options: FormatOptions, ctx: Context): Promise<void> {
  const client = await ctx.anonymousClient();
  try {
    const status = await client.systemStatus();
    printObject(ctx, options, status);
  } catch (error) {
    // 503 means the DS runs but cannot reach its database; say that rather than "bad response".
    if (error instanceof DsApiError && error.status === 503) {
      throw new CliError(`DS at ${client.baseUrl} is not alive: ${error.description}`);
    }
    throw error;
  }
}
