import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { describeRemoved } from '../../lib/remote.js';

export function registerDeviceDelete(device: Command, ctx: Context): void {
  withFormatOptions(
    device
      .command('delete')
      .argument('<id>', 'device id')
      .description('delete a device; it must register again before it can sync (asks first; --yes when not interactive)'),
  ).action((id: string, options: FormatOptions) => run({ ...options, id }, ctx));
}

export async function run(options: FormatOptions & { id: string }, ctx: Context): Promise<void> {
  const client = await ctx.client();
  await confirmOrYes(ctx, `delete device ${options.id} (it must register again before it can sync)`);
  const result = await client.deleteDevice(options.id);
  if (options.json || options.csv) return printObject(ctx, options, result);
  const counters = result.removed.deviceCounters ?? 0;
  const others = describeRemoved({ ...result, removed: Object.fromEntries(Object.entries(result.removed).filter(([what]) => what !== 'deviceCounters')) });
  ctx.out(`deleted device ${result.deleted}${counters > 0 ? ` and its ${counters} counter${counters === 1 ? '' : 's'} of this month` : ''}${others}`);
  ctx.note('the installation must register again (with its installation key) before DS accepts its syncs; its label counters are kept');
}
