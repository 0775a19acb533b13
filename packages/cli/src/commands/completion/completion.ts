import { Argument, type Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { bashScript, fishScript, zshScript } from './scripts.js';

const SHELLS = { bash: bashScript, zsh: zshScript, fish: fishScript } as const;
type Shell = keyof typeof SHELLS;

export function registerCompletion(program: Command, ctx: Context, version: string): void {
  program
    .command('completion')
    .addArgument(new Argument('<shell>', 'the shell').choices(Object.keys(SHELLS)))
    .description('print the shell completion script of ds (commands, subcommands, options; no network)')
    .addHelpText(
      'after',
      '\nInstall:\n' +
        '  bash  echo \'source <(ds completion bash)\' >> ~/.bashrc\n' +
        '  zsh   echo \'source <(ds completion zsh)\' >> ~/.zshrc      (after compinit)\n' +
        '  fish  ds completion fish > ~/.config/fish/completions/ds.fish',
    )
    .action((shell: Shell) => run({ shell }, ctx, program, version));
}

export function run(options: { shell: Shell }, ctx: Context, program: Command, version: string): void {
  // The script has no control characters (names and descriptions are ds's own), so the escaping
  // of ctx.out leaves it exactly as generated.
  ctx.out(SHELLS[options.shell](program, version));
}
