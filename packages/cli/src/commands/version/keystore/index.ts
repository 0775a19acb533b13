import type { Command } from 'commander';
import type { Context } from '../../../lib/context.js';
import { registerKeystoreClear } from './clear.js';
import { registerKeystoreGet } from './get.js';
import { registerKeystoreSet } from './set.js';

export function registerVersionKeystore(version: Command, ctx: Context): void {
  const keystore = version.command('keystore').description('SSL keystore config sent to devices (per version, or "default")');
  registerKeystoreGet(keystore, ctx);
  registerKeystoreSet(keystore, ctx);
  registerKeystoreClear(keystore, ctx);
}
