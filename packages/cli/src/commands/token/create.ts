import { SCOPES, type Scope } from '@ds/shared';
import { InvalidArgumentError, type Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { missing } from '../../lib/errors.js';
import { valueOrPrompt } from '../../lib/interaction.js';
import { warnShownOnce } from '../../lib/keys.js';
import { formatDuration, printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';
import { collectList, parseLifetime } from '../../lib/parse.js';
import { tokenFields } from './view.js';

export interface TokenCreateOptions extends FormatOptions {
  name?: string;
  scope?: string[];
  expires?: number;
}

export function registerTokenCreate(token: Command, ctx: Context): void {
  withFormatOptions(
    token
      .command('create')
      .option('--name <name>', 'what the token is for, e.g. ci-release')
      .option('--scope <scopes>', `scope (repeatable or comma separated): ${SCOPES.join(', ')}`, collectScopes)
      .option(
        '--expires <lifetime>',
        "lifetime with its unit: 90d, 12h, 30m (default: DS's maximum token lifetime, 90 days unless DS_TOKEN_MAX_LIFETIME_SECONDS says otherwise; a token made with an API token never outlives that token)",
        parseLifetime,
      )
      .description('create an admin API token for scripts and CI (shown once)'),
  ).action((options: TokenCreateOptions) => run(options, ctx));
}

function collectScopes(value: string, previous: string[] | undefined): string[] {
  const scopes = collectList(value, previous);
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown scope ${unknown.join(', ')}; use ${SCOPES.join(', ')}`);
  return scopes;
}

export async function run(options: TokenCreateOptions, ctx: Context): Promise<void> {
  const client = await ctx.client();
  const name = await valueOrPrompt(ctx, options.name, '--name', { message: 'Token name (what it is for)' });
  let scopes = options.scope;
  if (scopes === undefined || scopes.length === 0) {
    if (!ctx.isInteractive) throw missing('--scope');
    const answer = await ctx.prompter.input({
      message: `Scopes, comma separated (${SCOPES.join(', ')})`,
      validate: (value) => {
        try {
          return collectScopes(value, []).length > 0 || 'name at least one scope';
        } catch (error) {
          return (error as Error).message;
        }
      },
    });
    scopes = collectScopes(answer, []);
  }
  const created = await client.createToken({
    name,
    scopes: [...new Set(scopes)] as Scope[],
    ...(options.expires !== undefined ? { expiresInSeconds: options.expires } : {}),
  });
  printObject(ctx, options, created, tokenFields(created));
  if (created.token) warnShownOnce(ctx, 'token');
  // The lifetime is DS's to decide without --expires: say what it decided, where a person sees it.
  if (created.expiresAt === null) ctx.note('the token never expires (this DS sets no maximum lifetime); revoke it with `ds token revoke ' + created.id + '`');
  else ctx.note(`the token expires at ${created.expiresAt} (in ${formatDuration((Date.parse(created.expiresAt) - Date.parse(created.createdAt)) / 1000)})`);
}
