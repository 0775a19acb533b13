import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { registerKeysList } from './list.js';
import { registerKeysRotate } from './rotate.js';

export function registerKeys(program: Command, ctx: Context): void {
  const keys = program.command('keys').description('the DS signing and encryption key pairs (public parts) and their rotation');
  for (const register of [registerKeysList, registerKeysRotate]) register(keys, ctx);
}
