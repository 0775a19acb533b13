import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { registerUserCreate } from './create.js';
import { registerUserDelete } from './delete.js';
import { registerUserGet } from './get.js';
import { registerUserList } from './list.js';
import { registerUserPasswd } from './passwd.js';
import { registerUserUpdate } from './update.js';

export function registerUser(program: Command, ctx: Context): void {
  const user = program.command('user').description('manage admin users');
  for (const register of [registerUserList, registerUserGet, registerUserCreate, registerUserUpdate, registerUserDelete, registerUserPasswd]) register(user, ctx);
}
