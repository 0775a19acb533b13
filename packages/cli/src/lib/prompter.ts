import { confirm, input, password, select } from '@inquirer/prompts';
import { terminalText } from './output.js';

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

/**
 * `prompter` with its questions and the names of its choices escaped (one line each): they may
 * quote what DS sent (an installer URI, organization names). Defaults are values, left as they are.
 */
export function escapingPrompter(prompter: Prompter): Prompter {
  const text = (value: string) => terminalText(value);
  return {
    input: (options) => prompter.input({ ...options, message: text(options.message) }),
    password: (options) => prompter.password({ ...options, message: text(options.message) }),
    confirm: (options) => prompter.confirm({ ...options, message: text(options.message) }),
    select: (options) =>
      prompter.select({
        ...options,
        message: text(options.message),
        choices: options.choices.map((choice) => ({
          ...choice,
          name: text(choice.name),
          ...(choice.description === undefined ? {} : { description: text(choice.description) }),
        })),
      }),
  };
}
