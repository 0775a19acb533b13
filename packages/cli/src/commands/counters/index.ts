import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { registerCountersRollover } from './rollover.js';

export function registerCounters(program: Command, ctx: Context): void {
  const counters = program.command('counters').description('transaction counters: the month rollover (reports: ds report transactions)');
  registerCountersRollover(counters, ctx);
}
