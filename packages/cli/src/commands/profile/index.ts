import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { registerProfileDelete } from './delete.js';
import { registerProfileList } from './list.js';
import { registerProfileShow } from './show.js';
import { registerProfileUse } from './use.js';

export function registerProfile(program: Command, ctx: Context): void {
  const profile = program.command('profile').description('the DS URLs and sessions of the config file: list, switch, show, delete');
  for (const register of [registerProfileList, registerProfileShow, registerProfileUse, registerProfileDelete]) register(profile, ctx);
}
