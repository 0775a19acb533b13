import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { deviceFields } from './view.js';

export function registerDeviceGet(device: Command, ctx: Context): void {
  withFormatOptions(
    device.command('get').argument('<id>', 'device id').description("show a device with its labels, browsers (User-Agents) and this month's counters"),
  ).action((id: string, options: FormatOptions) => run({ ...options, id }, ctx));
}

export async function run(options: FormatOptions & { id: string }, ctx: Context): Promise<void> {
  const device = await (await ctx.client()).getDevice(options.id);
  printObject(ctx, options, device, deviceFields(device));
}
