#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, type Option } from 'commander';
import { registerAbout } from './commands/about/about.js';
import { registerLogin } from './commands/auth/login.js';
import { registerLogout } from './commands/auth/logout.js';
import { registerWhoami } from './commands/auth/whoami.js';
import { registerCompletion } from './commands/completion/completion.js';
import { registerCounters } from './commands/counters/index.js';
import { registerDb } from './commands/db/index.js';
import { registerDemo } from './commands/demo/demo.js';
import { registerDevice } from './commands/device/index.js';
import { registerKeys } from './commands/keys/index.js';
import { registerLabel } from './commands/label/index.js';
import { registerOrg } from './commands/org/index.js';
import { registerProfile } from './commands/profile/index.js';
import { registerReport } from './commands/report/index.js';
import { registerRollout } from './commands/rollout/index.js';
import { registerInit } from './commands/server/init.js';
import { registerServe } from './commands/server/serve.js';
import { registerSimulate } from './commands/simulate/simulate.js';
import { registerSystem } from './commands/system/index.js';
import { registerToken } from './commands/token/index.js';
import { registerAudit } from './commands/audit/index.js';
import { registerWebhook } from './commands/webhook/index.js';
import { registerUser } from './commands/user/index.js';
import { registerVersion } from './commands/version/index.js';
import { configPath } from './lib/config.js';
import { Context, defaultContextOptions, type ContextOptions } from './lib/context.js';
import { describeError, ExitCode, usageEnvelope } from './lib/errors.js';
import { addExamples } from './lib/examples.js';
import { jsonLine, terminalText } from './lib/output.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** The `ds` program; every command's action closes over `ctx`. */
export function buildProgram(ctx: Context, options: { jsonErrors?: boolean } = {}): Command {
  const program = new Command('ds')
    .description('ds: the command line of DS, the distribution service for Trust1Connector installations')
    .version(version, '-V, --version', 'print the version of ds (ds about: more; ds system status: the server\'s)')
    .option('--url <url>', 'DS base URL (env DS_URL; default from the profile)')
    .option('--token <token>', 'admin token (env DS_TOKEN; default from the profile)')
    .option('--profile <name>', 'profile of the config file (env DS_PROFILE; see ds profile list)')
    .option('-y, --yes', 'never prompt; confirms destructive commands')
    // Every command's help also lists these, which are accepted after any command.
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    // Help, usage errors and --version: commander's messages quote the arguments as given. With
    // --json a usage error is the JSON envelope main() writes, not commander's text.
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(terminalText(text, { multiline: true })),
      writeErr: (text) => ctx.stderr.write(terminalText(text, { multiline: true })),
      outputError: (text, write) => {
        if (!options.jsonErrors) write(text);
      },
    })
    .hook('preAction', (_program, action) => {
      ctx.globals = action.optsWithGlobals();
    });
  if (!options.jsonErrors) program.showHelpAfterError('(add --help for usage)');

  registerServe(program, ctx);
  registerInit(program, ctx);
  registerDemo(program, ctx);
  registerLogin(program, ctx);
  registerLogout(program, ctx);
  registerWhoami(program, ctx);
  registerProfile(program, ctx);
  registerOrg(program, ctx);
  registerLabel(program, ctx);
  registerVersion(program, ctx);
  registerRollout(program, ctx);
  registerDevice(program, ctx);
  registerUser(program, ctx);
  registerToken(program, ctx);
  registerKeys(program, ctx);
  registerAudit(program, ctx);
  registerWebhook(program, ctx);
  registerReport(program, ctx);
  registerCounters(program, ctx);
  registerSimulate(program, ctx);
  registerSystem(program, ctx);
  registerDb(program, ctx);
  registerAbout(program, ctx, version);
  registerCompletion(program, ctx, version);
  addExamples(program);
  return program;
}

/**
 * Runs `ds` with `argv` (without node and the script) and resolves with the exit code.
 * This is the only place that turns errors into messages and exit codes.
 */
export async function main(argv: string[], overrides: Partial<ContextOptions> = {}): Promise<number> {
  const env = overrides.env ?? process.env;
  const ctx = new Context({ ...defaultContextOptions(), configPath: configPath(env), ...overrides });
  // Before parsing, --json on the line decides how a usage error is written; after, the parsed options do.
  const jsonOnLine = requestsJson(argv);
  const program = buildProgram(ctx, { jsonErrors: jsonOnLine });
  if (namesCommand(argv)) dropVersionOption(program);
  let parsed = false;
  program.hook('preAction', () => {
    parsed = true;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its own message (usage errors, help, version), unless --json.
      if (error.exitCode === 0) return ExitCode.OK;
      if (jsonOnLine) ctx.stderr.write(jsonLine(usageEnvelope(error.code === 'commander.help' ? 'a command is missing (see ds --help)' : error.message)));
      return ExitCode.ERROR;
    }
    const report = describeError(error);
    if (parsed ? ctx.globals.json === true : jsonOnLine) {
      // --json: the error as DS's error envelope, one line, exact (escaped only as --json output is).
      ctx.stderr.write(jsonLine(report.envelope));
    } else {
      // Errors quote DS's descriptions, which may quote what a device sent: escaped, and each one
      // line (a line break in a description must not start a line of its own, like a fake hint).
      for (const line of report.lines) ctx.note(terminalText(line));
    }
    if (env.DS_DEBUG && error instanceof Error && error.stack) ctx.note(error.stack);
    return report.exitCode;
  }
}

/** True when `--json` is on the line before `--` (as an option, not the value of one: close enough before parsing). */
function requestsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
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
  // `ds ... | head` closes the pipe early: that ends the output, it is not an error with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(process.exitCode ?? 0);
    });
  }
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
