import type { Command } from 'commander';
import type { Context } from '../../../lib/context.js';
import { registerConfigGet } from './get.js';
import { registerConfigSet } from './set.js';

export function registerVersionConfig(version: Command, ctx: Context): void {
  const config = version.command('config').description('context config sent to devices (per version, or "default")');
  registerConfigGet(config, ctx);
  registerConfigSet(config, ctx);
}
