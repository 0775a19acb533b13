import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { registerTokenCreate } from './create.js';
import { registerTokenList } from './list.js';
import { registerTokenRevoke } from './revoke.js';

export function registerToken(program: Command, ctx: Context): void {
  const token = program.command('token').description('manage admin API tokens');
  for (const register of [registerTokenList, registerTokenCreate, registerTokenRevoke]) register(token, ctx);
}
