import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { registerKeysList } from './list.js';
import { registerKeysRekey } from './rekey.js';
import { registerKeysRotate } from './rotate.js';

export function registerKeys(program: Command, ctx: Context): void {
  const keys = program.command('keys').description('the DS signing and encryption key pairs (public parts), their rotation, and the master key their private parts are encrypted under');
  for (const register of [registerKeysList, registerKeysRotate, registerKeysRekey]) register(keys, ctx);
}
