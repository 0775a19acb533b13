import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { registerSystemInfo } from './info.js';
import { registerSystemStatus } from './status.js';

export function registerSystem(program: Command, ctx: Context): void {
  const system = program.command('system').description('DS status and information');
  registerSystemInfo(system, ctx);
  registerSystemStatus(system, ctx);
}
