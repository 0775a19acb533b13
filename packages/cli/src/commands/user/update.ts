import { ROLES, type Role } from '@ds/shared';
import { Option, type Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { usage } from '../../lib/errors.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { userFields } from './view.js';

export interface UserUpdateOptions extends FormatOptions {
  username: string;
  role?: Role;
  /** A name, or false for `--no-org` (sees all of DS). */
  organization?: string | false;
}

export function registerUserUpdate(user: Command, ctx: Context): void {
  withFormatOptions(
    user
      .command('update')
      .argument('<username>', 'user name')
      .addOption(new Option('--role <role>', 'admin (may change everything) or viewer (read only)').choices(ROLES))
      .option('--org, --organization <name>', 'limit the user to this organization')
      .option('--no-org, --no-organization', 'lift the limit: the user sees all of DS')
      .description("change a user's role or organization; their sessions and tokens get the new rights on their next request"),
  ).action((username: string, options: Omit<UserUpdateOptions, 'username'>) => run({ ...options, username }, ctx));
}

export async function run(options: UserUpdateOptions, ctx: Context): Promise<void> {
  if (options.role === undefined && options.organization === undefined) throw usage('nothing to update: pass --role, --org <name> or --no-org');
  const client = await ctx.client();
  const before = await client.getUser(options.username);
  const user = await client.updateUser(options.username, {
    ...(options.role !== undefined ? { role: options.role } : {}),
    ...(options.organization !== undefined ? { organization: options.organization === false ? null : options.organization } : {}),
  });
  const changes = [
    ...(before.role !== user.role ? [`role ${before.role} → ${user.role}`] : []),
    ...(before.organization !== user.organization ? [`organization ${before.organization ?? '(all)'} → ${user.organization ?? '(all)'}`] : []),
  ];
  ctx.note(changes.length > 0 ? `updated ${user.username}: ${changes.join(', ')}` : `${user.username} is already so: nothing changed`);
  printObject(ctx, options, user, userFields(user));
}
