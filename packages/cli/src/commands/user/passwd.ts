import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { missing } from '../../lib/errors.js';
import { promptNewPassword } from '../../lib/interaction.js';
import { readSecretsFromStdin } from '../../lib/stdin.js';

export interface UserPasswdOptions {
  username: string;
  passwordStdin?: boolean;
}

export function registerUserPasswd(user: Command, ctx: Context): void {
  user
    .command('passwd')
    .argument('<username>', 'user name')
    .option('--password-stdin', 'read the new password from stdin; for your own, the current password on the first line and the new one on the second')
    .description("set a user's password (your own needs your current password and a login session)")
    .action((username: string, options: Omit<UserPasswdOptions, 'username'>) => run({ ...options, username }, ctx));
}

export async function run(options: UserPasswdOptions, ctx: Context): Promise<void> {
  // Fails first when not logged in, rather than after the password was typed.
  const client = await ctx.client();
  const own = (await client.whoami()).username === options.username;
  let currentPassword: string | undefined;
  let password: string;
  if (options.passwordStdin) {
    const names = own ? ['your current password', 'the new password'] : ['the new password'];
    const secrets = await readSecretsFromStdin(ctx.readStdin, '--password-stdin', names);
    password = secrets[secrets.length - 1]!;
    if (own) currentPassword = secrets[0];
  } else {
    if (!ctx.isInteractive) throw missing('--password-stdin');
    if (own) currentPassword = await ctx.prompter.password({ message: 'Current password' });
    password = await promptNewPassword(ctx, '--password-stdin', `New password for ${options.username}`);
  }
  const user = await client.setPassword(options.username, password, currentPassword);
  ctx.note(`changed the password of ${user.username}${own ? '; your other sessions have ended' : ' and ended their sessions'}`);
}
