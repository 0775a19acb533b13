import { DsApiError, isErrorCode, type ErrorCode } from '@ds/shared';

/** Process exit codes of `ds`; scripts depend on them. */
export const ExitCode = {
  OK: 0,
  ERROR: 1,
  CANCELLED: 2,
  UNAUTHENTICATED: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * The codes of errors `ds` finds itself, before or without an answer of DS; with `--json` they
 * are the `code` of the error envelope on stderr, beside DS's own codes (`ERROR_CODES` in shared).
 * A small closed set: scripts branch on it.
 */
export const CLI_ERROR_CODES = {
  USAGE: 'the command line is wrong or incomplete: an unknown option, a missing or invalid value, a destructive command without --yes',
  NOT_AUTHENTICATED: 'no credential for the DS URL (exit code 4); nothing was sent',
  CANCELLED: 'a confirmation was answered no, or a prompt interrupted (exit code 2)',
  NETWORK_ERROR: 'DS could not be reached',
  BAD_RESPONSE: 'DS answered something this ds does not understand',
  FAILED: 'anything else ds reports: a check that did not pass, a local file it cannot read or write',
} as const;
export type CliErrorCode = keyof typeof CLI_ERROR_CODES;

/** What `ds --json` writes to stderr when a command fails: DS's error envelope, one line. */
export interface CliErrorEnvelope {
  success: false;
  code: ErrorCode | CliErrorCode;
  description: string;
  requestId: string | null;
  details?: unknown;
  /** What to do about it, when ds knows (the `hint:` line of the human form). */
  hint?: string;
}

/** An error the CLI itself raises; the message is printed as `error: <message>`. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.ERROR,
    /** An extra line printed after the error, e.g. what to do about it. */
    readonly hint?: string,
    /** The code of the JSON envelope (default from the exit code), and what DS said when it came from an answer. */
    readonly info: { code?: ErrorCode | CliErrorCode; description?: string; requestId?: string | null; details?: unknown } = {},
  ) {
    super(message);
  }
}

/** The user declined a confirmation or interrupted a prompt. */
export class CancelledError extends CliError {
  override readonly name = 'CancelledError';
  constructor(message = 'cancelled') {
    super(message, ExitCode.CANCELLED, undefined, { code: 'CANCELLED' });
  }
}

/** A command line that cannot work as given (the JSON code USAGE); `hint` says what would. */
export function usage(message: string, hint?: string): CliError {
  return new CliError(message, ExitCode.ERROR, hint, { code: 'USAGE' });
}

/** Thrown when a value is needed but cannot be asked for; names the flag that provides it. */
export function missing(flag: string): CliError {
  return usage(`missing ${flag} (no prompt: not interactive)`);
}

export interface ErrorReport {
  exitCode: ExitCode;
  /** The human form, for stderr: `error: ...` and perhaps `hint: ...` (not yet escaped). */
  lines: string[];
  /** The `--json` form. */
  envelope: CliErrorEnvelope;
}

/**
 * Turns anything thrown by a command into the lines written to stderr, the JSON envelope and the
 * exit code. Only index.ts calls this; commands just throw.
 */
export function describeError(error: unknown): ErrorReport {
  if (error instanceof CliError) {
    const lines = [`error: ${error.message}`, ...(error.hint ? [`hint: ${error.hint}`] : [])];
    return { exitCode: error.exitCode, lines, envelope: cliEnvelope(error) };
  }
  if (error instanceof DsApiError) {
    const request = error.requestId ? ` (request ${error.requestId})` : '';
    const lines = [`error: ${error.code}: ${error.description}${request}`];
    const envelope: CliErrorEnvelope = {
      success: false,
      code: error.code,
      description: error.description,
      requestId: error.requestId,
      ...(error.details !== undefined ? { details: error.details } : {}),
    };
    if (error.status === 401) {
      if (error.code !== 'INVALID_CREDENTIALS') {
        lines.push('hint: log in with `ds login` (or set DS_TOKEN)');
        envelope.hint = 'log in with `ds login` (or set DS_TOKEN)';
      }
      return { exitCode: ExitCode.UNAUTHENTICATED, lines, envelope };
    }
    return { exitCode: ExitCode.ERROR, lines, envelope };
  }
  // Ctrl-C inside an inquirer prompt; matched by name so the CLI needs no dependency on @inquirer/core.
  if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')) {
    return { exitCode: ExitCode.CANCELLED, lines: ['error: cancelled'], envelope: envelopeOf('CANCELLED', 'cancelled') };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: ExitCode.ERROR, lines: [`error: ${message}`], envelope: envelopeOf('FAILED', message) };
}

/** A usage error reported by commander (`error: unknown option '--x'`), as an envelope. */
export function usageEnvelope(message: string): CliErrorEnvelope {
  return envelopeOf('USAGE', message.replace(/^error: /, '').trim());
}

function envelopeOf(code: CliErrorEnvelope['code'], description: string): CliErrorEnvelope {
  return { success: false, code, description, requestId: null };
}

/**
 * The envelope of a CliError: its own code; else a DS code its message starts with (`CONFLICT: ...`,
 * as commands that rephrase an answer of DS write it), which is then left out of the description;
 * else one that follows from the exit code.
 */
function cliEnvelope(error: CliError): CliErrorEnvelope {
  let code = error.info.code;
  let description = error.info.description ?? error.message;
  const prefixed = /^([A-Z][A-Z_]+): ([\s\S]*)$/.exec(description);
  if (error.info.description === undefined && prefixed && (isErrorCode(prefixed[1]) || Object.hasOwn(CLI_ERROR_CODES, prefixed[1]!)) && (code === undefined || code === prefixed[1])) {
    code = prefixed[1] as CliErrorEnvelope['code'];
    description = prefixed[2]!;
  }
  code ??= error.exitCode === ExitCode.UNAUTHENTICATED ? 'NOT_AUTHENTICATED' : error.exitCode === ExitCode.CANCELLED ? 'CANCELLED' : 'FAILED';
  return {
    success: false,
    code,
    description,
    requestId: error.info.requestId ?? null,
    ...(error.info.details !== undefined ? { details: error.info.details } : {}),
    ...(error.hint ? { hint: error.hint } : {}),
  };
}
