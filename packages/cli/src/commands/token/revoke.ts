import type { AdminClient } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { tokenFields } from './view.js';

export function registerTokenRevoke(token: Command, ctx: Context): void {
  withFormatOptions(token.command('revoke').argument('<id|name>', 'token id, or the name you created it with (see `ds token list`)').description('revoke an admin API token')).action(
    (id: string, options: FormatOptions) => run({ ...options, id }, ctx),
  );
}

export async function run(options: FormatOptions & { id: string }, ctx: Context): Promise<void> {
  const client = await ctx.client();
  await confirmOrYes(ctx, `revoke token ${options.id}`);
  const token = await client.revokeToken(await tokenId(client, options.id, ctx.clock.now()));
  ctx.note(`revoked token ${token.name} (${token.id})`);
  printObject(ctx, options, token, tokenFields(token));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The id of the token `idOrName` names among one's own: by id, else by the name it was created
 * with among the live ones (not revoked, not expired). Another id is passed on as it is (an admin
 * revoking someone else's token); anything else is no token of ours.
 */
async function tokenId(client: AdminClient, idOrName: string, now: Date): Promise<string> {
  const own = await client.all((page) => client.listTokens(page));
  if (own.some((t) => t.id === idOrName)) return idOrName;
  const live = (t: { revokedAt: string | null; expiresAt: string | null }) => t.revokedAt === null && (t.expiresAt === null || Date.parse(t.expiresAt) > now.getTime());
  const named = own.filter((t) => t.name === idOrName && live(t));
  if (named.length === 1) return named[0]!.id;
  if (named.length > 1) throw new CliError(`${named.length} of your live tokens are named ${idOrName}: ${named.map((t) => t.id).join(', ')}`, undefined, 'revoke one by its id', { code: 'CONFLICT' });
  if (UUID.test(idOrName)) return idOrName;
  throw new CliError(`you have no live token with the id or name ${idOrName}`, undefined, "ds token list shows yours; ds token list --all everyone's (revoke those by id)", { code: 'NOT_FOUND' });
}
