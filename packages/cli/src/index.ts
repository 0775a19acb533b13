#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, type Option } from 'commander';
import { registerLogin } from './commands/auth/login.js';
import { registerLogout } from './commands/auth/logout.js';
import { registerWhoami } from './commands/auth/whoami.js';
import { registerCounters } from './commands/counters/index.js';
import { registerDb } from './commands/db/index.js';
import { registerDemo } from './commands/demo/demo.js';
import { registerDevice } from './commands/device/index.js';
import { registerKeys } from './commands/keys/index.js';
import { registerLabel } from './commands/label/index.js';
import { registerOrg } from './commands/org/index.js';
import { registerReport } from './commands/report/index.js';
import { registerInit } from './commands/server/init.js';
import { registerServe } from './commands/server/serve.js';
import { registerSimulate } from './commands/simulate/simulate.js';
import { registerSystem } from './commands/system/index.js';
import { registerToken } from './commands/token/index.js';
import { registerUser } from './commands/user/index.js';
import { registerVersion } from './commands/version/index.js';
import { configPath } from './lib/config.js';
import { Context, defaultContextOptions, type ContextOptions } from './lib/context.js';
import { describeError, ExitCode } from './lib/errors.js';
import { terminalText } from './lib/output.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** The `ds` program; every command's action closes over `ctx`. */
export function buildProgram(ctx: Context): Command {
  const program = new Command('ds')
    .description('ds: the command line of DS, the distribution service for Trust1Connector installations')
    .version(version, '-V, --version')
    .option('--url <url>', 'DS base URL (env DS_URL; default from the profile)')
    .option('--token <token>', 'admin token (env DS_TOKEN; default from the profile)')
    .option('--profile <name>', 'profile of the config file (env DS_PROFILE)')
    .option('-y, --yes', 'never prompt; confirms destructive commands')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    // Help, usage errors and --version: commander's messages quote the arguments as given.
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(terminalText(text, { multiline: true })),
      writeErr: (text) => ctx.stderr.write(terminalText(text, { multiline: true })),
    })
    .hook('preAction', (_program, action) => {
      ctx.globals = action.optsWithGlobals();
    });

  registerServe(program, ctx);
  registerInit(program, ctx);
  registerDemo(program, ctx);
  registerLogin(program, ctx);
  registerLogout(program, ctx);
  registerWhoami(program, ctx);
  registerOrg(program, ctx);
  registerLabel(program, ctx);
  registerVersion(program, ctx);
  registerDevice(program, ctx);
  registerUser(program, ctx);
  registerToken(program, ctx);
  registerKeys(program, ctx);
  registerReport(program, ctx);
  registerCounters(program, ctx);
  registerSimulate(program, ctx);
  registerSystem(program, ctx);
  registerDb(program, ctx);
  return program;
}

/**
 * Runs `ds` with `argv` (without node and the script) and resolves with the exit code.
 * This is the only place that turns errors into messages and exit codes.
 */
export async function main(argv: string[], overrides: Partial<ContextOptions> = {}): Promise<number> {
  const env = overrides.env ?? process.env;
  const ctx = new Context({ ...defaultContextOptions(), configPath: configPath(env), ...overrides });
  const program = buildProgram(ctx);
  if (namesCommand(argv)) dropVersionOption(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.OK;
  } catch (error) {
    // Commander has already printed its own message (usage errors, help, version).
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.OK : ExitCode.ERROR;
    // Errors quote DS's descriptions, which may quote what a device sent: escaped, and each one
    // line (a line break in a description must not start a line of its own, like a fake hint).
    const report = describeError(error);
    for (const line of report.lines) ctx.note(terminalText(line));
    if (env.DS_DEBUG && error instanceof Error && error.stack) ctx.note(error.stack);
    return report.exitCode;
  }
}

/** Global options that take a value, so their value is not taken for a command name. */
const GLOBAL_OPTIONS_WITH_VALUE = ['--url', '--token', '--profile'];

/** True when `argv` names a command (`ds device list ...`), not just global options (`ds --version`). */
function namesCommand(argv: string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return i + 1 < argv.length;
    if (!arg.startsWith('-')) return true;
    if (GLOBAL_OPTIONS_WITH_VALUE.includes(arg)) i++;
  }
  return false;
}

/**
 * Commander recognises a program option anywhere on the line, so `ds device list --version 3.8.1`
 * would print the version of ds. After a command name `--version` belongs to that command.
 */
function dropVersionOption(program: Command): void {
  const options = program.options as Option[];
  const at = options.findIndex((option) => option.long === '--version');
  if (at >= 0) options.splice(at, 1);
}

function isEntrypoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    // Through a bin link argv[1] is the link; compare real paths.
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntrypoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(terminalText(`error: ${error instanceof Error ? error.message : String(error)}`) + '\n');
      process.exitCode = ExitCode.ERROR;
    },
  );
}
