import { UserSchema } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { fetchList, withLimit, type LimitOptions } from '../../lib/list.js';
import { printList, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { userColumns } from './view.js';

export interface UserListOptions extends FormatOptions, LimitOptions {}

export function registerUserList(user: Command, ctx: Context): void {
  withFormatOptions(withLimit(user.command('list').alias('ls').description('list admin users'))).action(
    (options: UserListOptions) => run(options, ctx),
  );
}

export async function run(options: UserListOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  const users = await fetchList(client, (page) => client.listUsers(page), options.limit);
  printList(ctx, options, users, userColumns, { schema: UserSchema, empty: 'no users' });
}
