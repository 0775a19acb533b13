import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { promptNewPassword } from '../../lib/interaction.js';
import { readSecretFromStdin } from '../../lib/stdin.js';
import { serverConfig, withDatabaseFlag, withKeyTypeFlag, type ServerFlags } from './flags.js';

export interface InitOptions extends Pick<ServerFlags, 'database' | 'keyType'> {
  adminPasswordStdin?: boolean;
}

export function registerInit(program: Command, ctx: Context): void {
  withKeyTypeFlag(withDatabaseFlag(program.command('init')))
    .option('--admin-password-stdin', 'read the password of the first admin from stdin')
    .description('create and migrate the database, the DS keys and the first admin user, without serving')
    .addHelpText(
      'after',
      '\nThe admin password comes from --admin-password-stdin, else DS_ADMIN_PASSWORD, else a prompt on a terminal,\nelse it is generated and printed once.',
    )
    .action((options: InitOptions) => run(options, ctx));
}

export async function run(options: InitOptions, ctx: Context): Promise<void> {
  // Configuration first: a bad DATABASE_URL should fail before anyone types a password.
  const { server, config } = await serverConfig(ctx, options);
  let adminPassword: string | undefined;
  if (options.adminPasswordStdin) adminPassword = await readSecretFromStdin(ctx.readStdin, '--admin-password-stdin');
  else if (ctx.env.DS_ADMIN_PASSWORD) adminPassword = ctx.env.DS_ADMIN_PASSWORD;
  else if (ctx.isInteractive) adminPassword = await promptNewPassword(ctx, '--admin-password-stdin', 'Password for the first admin user');

  const result = await server.initDs(config, adminPassword === undefined ? {} : { adminPassword });
  if (!result.created) {
    ctx.note(`DS at ${withoutPassword(config.databaseUrl)} was already initialised; nothing changed${adminPassword ? ' (the password was not used)' : ''}`);
    return;
  }
  ctx.note(`initialised DS at ${withoutPassword(config.databaseUrl)}: created the user "admin"`);
  if (result.generatedPassword) {
    ctx.note('its generated password (shown once; change it with `ds user passwd admin`):');
    ctx.out(result.generatedPassword);
  }
}

/** A database URL fit to print: a PostgreSQL password is masked; file paths stay as they are. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
