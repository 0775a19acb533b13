import { confirm, input, password, select } from '@inquirer/prompts';

/** The questions the CLI asks; an interface so tests can answer them without a terminal. */
export interface Prompter {
  input(options: { message: string; default?: string; validate?: (value: string) => boolean | string }): Promise<string>;
  password(options: { message: string; validate?: (value: string) => boolean | string }): Promise<string>;
  confirm(options: { message: string; default?: boolean }): Promise<boolean>;
  select<T>(options: { message: string; choices: { name: string; value: T; description?: string }[]; default?: T }): Promise<T>;
}

/** Prompts on the terminal with @inquirer/prompts, drawn on stderr so stdout keeps only data. */
export function inquirerPrompter(): Prompter {
  const context = { output: process.stderr };
  return {
    input: (options) => input(options, context),
    // No mask: not even the length of a password shows on screen.
    password: (options) => password(options, context),
    confirm: (options) => confirm(options, context),
    select: (options) => select(options, context),
  };
}
