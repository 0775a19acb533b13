import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { userFields } from './view.js';

export function registerUserGet(user: Command, ctx: Context): void {
  withFormatOptions(user.command('get').argument('<username>', 'user name').description('show an admin user')).action(
    (username: string, options: FormatOptions) => run({ ...options, username }, ctx),
  );
}

export async function run(options: FormatOptions & { username: string }, ctx: Context): Promise<void> {
  const user = await (await ctx.client()).getUser(options.username);
  printObject(ctx, options, user, userFields(user));
}
