import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { registerDbBackup } from './backup.js';
import { registerDbMigrate } from './migrate.js';

export function registerDb(program: Command, ctx: Context): void {
  const db = program.command('db').description('database maintenance on this machine (uses DATABASE_URL, not a DS URL)');
  registerDbMigrate(db, ctx);
  registerDbBackup(db, ctx);
}
