import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { describeRemoved } from '../../lib/remote.js';

export function registerUserDelete(user: Command, ctx: Context): void {
  withFormatOptions(
    user.command('delete').argument('<username>', 'user name').description('delete an admin user and their tokens (asks first)'),
  ).action((username: string, options: FormatOptions) => run({ ...options, username }, ctx));
}

export async function run(options: FormatOptions & { username: string }, ctx: Context): Promise<void> {
  const client = await ctx.client();
  await confirmOrYes(ctx, `delete user "${options.username}"`);
  const result = await client.deleteUser(options.username);
  if (options.json || options.csv) return printObject(ctx, options, result);
  ctx.out(`deleted user ${result.deleted}${describeRemoved(result)}`);
}
