import type { Command } from 'commander';
import type { Context } from '../../../lib/context.js';
import { registerInstallerAdd } from './add.js';
import { registerInstallerList } from './list.js';
import { registerInstallerRemove } from './remove.js';

export function registerVersionInstaller(version: Command, ctx: Context): void {
  const installer = version.command('installer').description("a version's installers, one per OS, with their SHA-256 and size");
  registerInstallerList(installer, ctx);
  registerInstallerAdd(installer, ctx);
  registerInstallerRemove(installer, ctx);
}
