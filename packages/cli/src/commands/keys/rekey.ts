import type { rekeyDatabase, RekeyResult } from '@ds/server';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { json } from '../../lib/output.js';
import type { ServerModule } from '../../lib/server-api.js';
import { readSecretFromStdin } from '../../lib/stdin.js';
import { withoutPassword } from '../server/init.js';
import { serverConfig, withDatabaseFlag, withMasterKeyFileFlag, type ServerFlags } from '../server/flags.js';

export interface KeysRekeyOptions extends Pick<ServerFlags, 'database' | 'masterKeyFile'> {
  newKeyFile?: string;
  newKeyStdin?: boolean;
  json?: boolean;
}

/** The function of @ds/server this command adds to the local commands' ServerModule. */
export interface RekeyServerModule {
  rekeyDatabase: typeof rekeyDatabase;
}

export function registerKeysRekey(keys: Command, ctx: Context): void {
  withMasterKeyFileFlag(withDatabaseFlag(keys.command('rekey')))
    .option('--new-key-file <file>', 'file holding the new master key (32 random bytes, base64)')
    .option('--new-key-stdin', 'read the new master key from stdin')
    .option('--json', 'print what was done as JSON')
    .description(
      're-encrypt the DS private keys under a new master key, all in one transaction; runs here against the database, like ds db migrate (stop every DS process first; asks first; --yes when not interactive)',
    )
    .addHelpText(
      'after',
      `
The current master key is the one DS would use: DS_MASTER_KEY, DS_MASTER_KEY_FILE or --master-key-file,
else (SQLite) master.key beside the database. The new key never goes on the command line.
No key file is changed: afterwards, give DS the new key before starting it, and keep the old one as
long as you keep backups made before now (they need it).`,
    )
    .action((options: KeysRekeyOptions) => run(options, ctx));
}

export async function run(options: KeysRekeyOptions, ctx: Context): Promise<void> {
  if (Boolean(options.newKeyFile) === Boolean(options.newKeyStdin)) throw new CliError('give the new master key with --new-key-file <file> or --new-key-stdin (one of them)');
  const { server, config } = await serverConfig(ctx, options);
  const rekey = (server as ServerModule & Partial<RekeyServerModule>).rekeyDatabase;
  if (!rekey) throw new CliError('this build of @ds/server cannot re-encrypt keys (no rekeyDatabase)');
  const newKey = options.newKeyFile
    ? { file: options.newKeyFile }
    : { text: await readSecretFromStdin(ctx.readStdin, '--new-key-stdin'), source: 'the new key from stdin' };
  await confirmOrYes(ctx, `re-encrypt the DS private keys of ${withoutPassword(config.databaseUrl)} under a new master key (stop every DS process first; DS then starts only with the new key)`);
  const result = await rekey(config, newKey);
  for (const warning of result.warnings) ctx.note(`warning: ${warning}`);
  for (const name of result.migrations) ctx.note(`applied migration ${name}`);
  if (options.json) ctx.stdout.write(json(result));
  else for (const [kid, what] of perKey(result)) ctx.out(`${kid}  ${what}`);
  for (const line of summary(result)) ctx.note(line);
}

function perKey(result: RekeyResult): [string, string][] {
  return [
    ...result.reencrypted.map((kid): [string, string] => [kid, `re-encrypted from master key ${result.from?.id} to ${result.to.id}`]),
    ...result.encrypted.map((kid): [string, string] => [kid, `encrypted under master key ${result.to.id} (was stored in clear)`]),
    ...result.unchanged.map((kid): [string, string] => [kid, `already under master key ${result.to.id}`]),
  ];
}

/** What was done, and what the operator has to do now. */
function summary(result: RekeyResult): string[] {
  const changed = result.reencrypted.length + result.encrypted.length;
  const keys = (n: number) => `${n} DS private key${n === 1 ? '' : 's'}`;
  if (changed === 0) return [`nothing to do: ${result.unchanged.length === 0 ? 'the database holds no DS keys' : `every DS key is already under master key ${result.to.id}`}`];
  const lines = [
    result.reencrypted.length > 0
      ? `re-encrypted ${keys(result.reencrypted.length)} from master key ${result.from?.id} to master key ${result.to.id}`
      : `encrypted ${keys(result.encrypted.length)} under master key ${result.to.id}`,
  ];
  if (result.reencrypted.length > 0 && result.encrypted.length > 0) lines.push(`and encrypted ${keys(result.encrypted.length)} that were stored in clear`);
  const where =
    result.keySource.kind === 'env'
      ? 'set DS_MASTER_KEY (or DS_MASTER_KEY_FILE) of every DS process to it'
      : `put it in ${result.keySource.description}${result.keySource.kind === 'default-file' ? ` (install -m 600 <new key file> ${result.keySource.description})` : ' for every DS process'}`;
  lines.push(`DS now starts only with the new master key ${result.to.id}: ${where} before starting DS`);
  if (result.from) lines.push(`keep the old master key ${result.from.id} as long as you keep backups made before now`);
  return lines;
}
