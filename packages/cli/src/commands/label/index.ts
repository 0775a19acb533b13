import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { registerLabelCreate } from './create.js';
import { registerLabelDelete } from './delete.js';
import { registerLabelGet } from './get.js';
import { registerLabelList } from './list.js';
import { registerLabelRevokeKey } from './revoke-key.js';
import { registerLabelRotateKey } from './rotate-key.js';
import { registerLabelUpdate } from './update.js';

export function registerLabel(program: Command, ctx: Context): void {
  const label = program.command('label').description('manage labels (applications) and their API keys');
  for (const register of [
    registerLabelList,
    registerLabelGet,
    registerLabelCreate,
    registerLabelUpdate,
    registerLabelDelete,
    registerLabelRotateKey,
    registerLabelRevokeKey,
  ]) {
    register(label, ctx);
  }
}
