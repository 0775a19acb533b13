import { ROLES, type Role } from '@ds/shared';
import { Option, type Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { missing } from '../../lib/errors.js';
import { promptNewPassword } from '../../lib/interaction.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { readSecretFromStdin } from '../../lib/stdin.js';
import { userFields } from './view.js';

export interface UserCreateOptions extends FormatOptions {
  username: string;
  role?: Role;
  organization?: string;
  passwordStdin?: boolean;
}

export function registerUserCreate(user: Command, ctx: Context): void {
  withFormatOptions(
    user
      .command('create')
      .argument('<username>', 'user name')
      .addOption(new Option('--role <role>', 'admin (may change everything) or viewer (read only)').choices(ROLES))
      .option('--org, --organization <name>', 'limit the user to one organization')
      .option('--password-stdin', 'read the password from stdin (else it is asked twice)')
      .description('create an admin user'),
  ).action((username: string, options: Omit<UserCreateOptions, 'username'>) => run({ ...options, username }, ctx));
}

export async function run(options: UserCreateOptions, ctx: Context): Promise<void> {
  // Fails first when not logged in, rather than after the password was typed.
  const client = await ctx.client();
  let role = options.role;
  if (role === undefined) {
    if (!ctx.isInteractive) throw missing('--role');
    role = await ctx.prompter.select<Role>({
      message: 'Role',
      choices: [
        { name: 'viewer', value: 'viewer', description: 'read only' },
        { name: 'admin', value: 'admin', description: 'may change everything' },
      ],
    });
  }
  const password = options.passwordStdin
    ? await readSecretFromStdin(ctx.readStdin, '--password-stdin')
    : await promptNewPassword(ctx, '--password-stdin', `Password for ${options.username}`);
  const user = await client.createUser({
    username: options.username,
    password,
    role,
    organization: options.organization ?? null,
  });
  ctx.note(`created ${user.role} ${user.username}`);
  printObject(ctx, options, user, userFields(user));
}
