import type { Context } from './context.js';
import { CancelledError, CliError, missing, usage } from './errors.js';

/** The value of a flag, or the answer to a prompt when interactive, or an error naming the flag. */
export async function valueOrPrompt(
  ctx: Context,
  value: string | undefined,
  flag: string,
  prompt: { message: string; default?: string; validate?: (value: string) => boolean | string },
): Promise<string> {
  if (value !== undefined) return value;
  if (!ctx.isInteractive) throw missing(flag);
  return ctx.prompter.input(prompt);
}

/** A new password, typed twice on a terminal. */
export async function promptNewPassword(ctx: Context, flag: string, message = 'New password'): Promise<string> {
  if (!ctx.isInteractive) throw missing(flag);
  const validate = (value: string) => value.length >= 12 || 'must be at least 12 characters';
  const first = await ctx.prompter.password({ message, validate });
  const second = await ctx.prompter.password({ message: 'Repeat the password' });
  if (first !== second) throw new CliError('the passwords do not match');
  return first;
}

/**
 * Asks before a destructive action (`action` reads like `delete organization "acme"`). `--yes`
 * skips the question; without a terminal (or in CI) the action is refused unless `--yes` was
 * given, so a script never blocks on a prompt nor destroys anything by surprise.
 */
export async function confirmOrYes(ctx: Context, action: string): Promise<void> {
  if (ctx.globals.yes) return;
  if (!ctx.isInteractive) throw usage(`refusing to ${action} without confirmation: pass --yes (no prompt: not interactive)`);
  const ok = await ctx.prompter.confirm({ message: `${action[0]!.toUpperCase()}${action.slice(1)}?`, default: false });
  if (!ok) throw new CancelledError();
}
