import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { formatBytes, json } from '../../lib/output.js';
import { serverConfig, withDatabaseFlag, type ServerFlags } from '../server/flags.js';

export interface BackupOptions extends Pick<ServerFlags, 'database'> {
  file: string;
  json?: boolean;
}

export function registerDbBackup(db: Command, ctx: Context): void {
  withDatabaseFlag(db.command('backup').argument('<file>', 'where to write the copy'))
    .option('--json', 'print {path, bytes} as JSON')
    .description('copy the SQLite database consistently while DS runs (PostgreSQL: use pg_dump)')
    .action((file: string, options: Omit<BackupOptions, 'file'>) => run({ ...options, file }, ctx));
}

export async function run(options: BackupOptions, ctx: Context): Promise<void> {
  const { server, config } = await serverConfig(ctx, options);
  const result = await server.backupDatabase(config, options.file);
  if (options.json) return void ctx.stdout.write(json(result));
  ctx.out(`${result.path} (${formatBytes(result.bytes)})`);
}
