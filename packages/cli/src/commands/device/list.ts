import { DEVICE_STATUSES, DeviceSchema } from '@ds/shared';
import { Option, type Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { fetchList, withLimit, type LimitOptions } from '../../lib/list.js';
import { printList, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { parseSince, sinceTime, type Since } from '../../lib/parse.js';
import { deviceColumns } from './view.js';

export interface DeviceListOptions extends FormatOptions, LimitOptions {
  organization?: string;
  label?: string;
  version?: string;
  status?: (typeof DEVICE_STATUSES)[number];
  os?: string;
  since?: Since;
}

export function registerDeviceList(device: Command, ctx: Context): void {
  withFormatOptions(
    withLimit(
      device
        .command('list')
        .alias('ls')
        .description('list devices, most recently registered first')
        .option('--org, --organization <name>', 'only devices that reported a label of this organization')
        .option('--label <name>', 'only devices that reported this label')
        .option('--version <version>', 'only devices running this T1C version')
        .addOption(new Option('--status <status>', 'only devices in this state').choices(DEVICE_STATUSES))
        .option('--os <name>', 'only devices on this operating system (as reported, e.g. Windows, macOS, Linux)')
        .option('--since <time>', 'only devices that synced since this ISO time, or this long ago (24h, 7d)', parseSince),
    ),
  ).action((options: DeviceListOptions) => run(options, ctx));
}

export async function run(options: DeviceListOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  const filters = {
    organization: options.organization,
    label: options.label,
    version: options.version,
    status: options.status,
    os: options.os,
    since: options.since ? sinceTime(options.since, ctx.clock.now()) : undefined,
  };
  const devices = await fetchList(client, (page) => client.listDevices({ ...page, ...filters }), options.limit);
  printList(ctx, options, devices, deviceColumns, { schema: DeviceSchema, empty: 'no devices' });
}
