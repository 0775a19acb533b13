import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { registerOrgCreate } from './create.js';
import { registerOrgDelete } from './delete.js';
import { registerOrgGet } from './get.js';
import { registerOrgList } from './list.js';
import { registerOrgPolicy } from './policy.js';
import { registerOrgUpdate } from './update.js';

export function registerOrg(program: Command, ctx: Context): void {
  const org = program.command('org').description('manage organizations');
  for (const register of [registerOrgList, registerOrgGet, registerOrgCreate, registerOrgUpdate, registerOrgDelete, registerOrgPolicy]) register(org, ctx);
}
