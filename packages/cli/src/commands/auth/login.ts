import type { Command } from 'commander';
import { loginProfile, normalizeUrl, urlProblem } from '../../lib/config.js';
import type { Context } from '../../lib/context.js';
import { missing } from '../../lib/errors.js';
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
    .addHelpText(
      'after',
      '\nThe DS URL comes from --url, DS_URL, the profile, or a prompt (default http://127.0.0.1:3000).\n' +
        'The session is stored in a profile bound to that URL, which becomes the current profile: --profile names it;\n' +
        'else the current one when it is for this DS, else the one logged in to it before, else a new one named after the host.',
    )
    .action((options: LoginOptions) => run(options, ctx));
}

export async function run(options: LoginOptions, ctx: Context): Promise<void> {
  const resolved = await ctx.resolved();
  const file = await ctx.config.read();
  const selected = file.profiles[resolved.profile] ?? {};

  // The URL is only asked for when nothing named one: a flag or DS_URL is an explicit choice.
  let url = resolved.url;
  if ((resolved.urlSource === 'profile' || resolved.urlSource === 'default') && ctx.isInteractive) {
    url = await ctx.prompter.input({ message: 'DS URL', default: resolved.url, validate: (value) => urlProblem(value) ?? true });
  }
  url = normalizeUrl(url);
  const name = loginProfile(ctx.globals, ctx.env, file, url);
  const stored = name === resolved.profile ? selected : (file.profiles[name] ?? {});

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
  const previous = file.current;
  // The session is bound to the URL it was issued by, and the profile becomes the current one.
  await ctx.config.updateProfile(name, () => ({ url, token: result.token, username, expiresAt: result.expiresAt }), true);
  ctx.note(`logged in to ${url} as ${username} (profile "${name}", session expires ${result.expiresAt})`);
  if (previous !== undefined && previous !== name) ctx.note(`switched from profile "${previous}" to "${name}" (back with: ds profile use ${previous})`);
  if (resolved.tokenSource === 'env') ctx.note('note: DS_TOKEN is set and is used instead of the stored session token');
}
