import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { promptNewPassword } from '../../lib/interaction.js';
import { readSecretFromStdin } from '../../lib/stdin.js';

export interface UserPasswdOptions {
  username: string;
  passwordStdin?: boolean;
}

export function registerUserPasswd(user: Command, ctx: Context): void {
  user
    .command('passwd')
    .argument('<username>', 'user name')
    .option('--password-stdin', 'read the new password from stdin (else it is asked twice)')
    .description("set a user's password")
    .action((username: string, options: Omit<UserPasswdOptions, 'username'>) => run({ ...options, username }, ctx));
}

export async function run(options: UserPasswdOptions, ctx: Context): Promise<void> {
  // Fails first when not logged in, rather than after the password was typed.
  const client = await ctx.client();
  const password = options.passwordStdin
    ? await readSecretFromStdin(ctx.readStdin, '--password-stdin')
    : await promptNewPassword(ctx, '--password-stdin', `New password for ${options.username}`);
  const user = await client.setPassword(options.username, password);
  ctx.note(`changed the password of ${user.username}`);
}
