import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { json } from '../../lib/output.js';
import { serverConfig, withDatabaseFlag, type ServerFlags } from '../server/flags.js';

export interface MigrateOptions extends Pick<ServerFlags, 'database'> {
  json?: boolean;
}

export function registerDbMigrate(db: Command, ctx: Context): void {
  withDatabaseFlag(db.command('migrate'))
    .option('--json', 'print the applied migrations as a JSON array')
    .description('apply the database migrations that are missing (ds serve does this too)')
    .action((options: MigrateOptions) => run(options, ctx));
}

export async function run(options: MigrateOptions, ctx: Context): Promise<void> {
  const { server, config } = await serverConfig(ctx, options);
  const applied = await server.migrateDatabase(config);
  if (options.json) return void ctx.stdout.write(json(applied));
  for (const name of applied) ctx.out(name);
  ctx.note(applied.length === 0 ? 'the database is up to date' : `applied ${applied.length} migration${applied.length === 1 ? '' : 's'}`);
}
