import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { registerDeviceDelete } from './delete.js';
import { registerDeviceGet } from './get.js';
import { registerDeviceList } from './list.js';

export function registerDevice(program: Command, ctx: Context): void {
  const device = program.command('device').description('registered T1C installations: list, inspect, delete');
  for (const register of [registerDeviceList, registerDeviceGet, registerDeviceDelete]) register(device, ctx);
}
