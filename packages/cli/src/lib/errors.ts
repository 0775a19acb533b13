import { DsApiError } from '@ds/shared';

/** Process exit codes of `ds`; scripts depend on them. */
export const ExitCode = {
  OK: 0,
  ERROR: 1,
  CANCELLED: 2,
  UNAUTHENTICATED: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI itself raises; the message is printed as `error: <message>`. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.ERROR,
    /** An extra line printed after the error, e.g. what to do about it. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The user declined a confirmation or interrupted a prompt. */
export class CancelledError extends CliError {
  override readonly name = 'CancelledError';
  constructor(message = 'cancelled') {
    super(message, ExitCode.CANCELLED);
  }
}

/** Thrown when a value is needed but cannot be asked for; names the flag that provides it. */
export function missing(flag: string): CliError {
  return new CliError(`missing ${flag} (no prompt: not interactive)`);
}

export interface ErrorReport {
  exitCode: ExitCode;
  lines: string[];
}

/**
 * Turns anything thrown by a command into the lines written to stderr and the exit code.
 * Only index.ts calls this; commands just throw.
 */
export function describeError(error: unknown): ErrorReport {
  if (error instanceof CliError) {
    return { exitCode: error.exitCode, lines: [`error: ${error.message}`, ...(error.hint ? [`hint: ${error.hint}`] : [])] };
  }
  if (error instanceof DsApiError) {
    const request = error.requestId ? ` (request ${error.requestId})` : '';
    const lines = [`error: ${error.code}: ${error.description}${request}`];
    if (error.status === 401) {
      if (error.code !== 'INVALID_CREDENTIALS') lines.push('hint: log in with `ds login` (or set DS_TOKEN)');
      return { exitCode: ExitCode.UNAUTHENTICATED, lines };
    }
    return { exitCode: ExitCode.ERROR, lines };
  }
  // Ctrl-C inside an inquirer prompt; matched by name so the CLI needs no dependency on @inquirer/core.
  if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')) {
    return { exitCode: ExitCode.CANCELLED, lines: ['error: cancelled'] };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: ExitCode.ERROR, lines: [`error: ${message}`] };
}
