import type { Command } from 'commander';
import { DEFAULT_URL } from '../../lib/config.js';
import type { Context } from '../../lib/context.js';
import { CliError, missing } from '../../lib/errors.js';
import { readSecretFromStdin } from '../../lib/stdin.js';

export interface LoginOptions {
  username?: string;
  passwordStdin?: boolean;
}

export function registerLogin(program: Command, ctx: Context): void {
  program
    .command('login')
    .description('log in to a DS and store the session token in the profile')
    .option('--username <name>', 'admin user name (default: admin)')
    .option('--password-stdin', 'read the password from stdin')
    .addHelpText('after', '\nThe DS URL comes from --url, DS_URL, the profile, or a prompt (default http://127.0.0.1:3000).')
    .action((options: LoginOptions) => run(options, ctx));
}

export async function run(options: LoginOptions, ctx: Context): Promise<void> {
  const resolved = await ctx.resolved();
  const stored = (await ctx.config.read()).profiles[resolved.profile] ?? {};

  // The URL is only asked for when nothing named one: a flag or DS_URL is an explicit choice.
  let url = resolved.url;
  if ((resolved.urlSource === 'profile' || resolved.urlSource === 'default') && ctx.isInteractive) {
    url = await ctx.prompter.input({ message: 'DS URL', default: stored.url ?? DEFAULT_URL, validate: validateUrl });
  }
  const urlProblem = validateUrl(url);
  if (urlProblem !== true) throw new CliError(`DS URL ${url}: ${urlProblem}`);

  let username = options.username;
  if (username === undefined) {
    const fallback = stored.username ?? 'admin';
    username = ctx.isInteractive ? await ctx.prompter.input({ message: 'Username', default: fallback }) : fallback;
  }

  let password: string;
  if (options.passwordStdin) password = await readSecretFromStdin(ctx.readStdin, '--password-stdin');
  else if (ctx.isInteractive) password = await ctx.prompter.password({ message: 'Password' });
  else throw missing('--password-stdin');

  const client = await ctx.anonymousClient(url);
  const result = await client.login(username, password);
  await ctx.config.updateProfile(resolved.profile, (profile) => ({
    ...profile,
    url: client.baseUrl,
    token: result.token,
    username,
    expiresAt: result.expiresAt,
  }));
  ctx.note(`logged in to ${client.baseUrl} as ${username} (profile "${resolved.profile}", session expires ${result.expiresAt})`);
  if (resolved.tokenSource === 'env') ctx.note('note: DS_TOKEN is set and is used instead of the stored session token');
}

function validateUrl(value: string): true | string {
  try {
    const parsed = new URL(value);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? true : 'must be an http(s) URL';
  } catch {
    return 'must be a URL such as http://127.0.0.1:3000';
  }
}

