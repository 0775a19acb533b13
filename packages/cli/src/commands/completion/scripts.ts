import type { Command, Option } from 'commander';

// Shell completion generated from the commander program itself, so it always names exactly the
// commands and options there are. The scripts are static (no call back into ds): a Tab costs no
// Node start-up and no request.

/** An option as completion needs it. */
export interface CompletionOption {
  /** `-y`, `--yes` */
  flags: string[];
  description: string;
  takesValue: boolean;
  choices: string[];
}

/** A command as completion needs it: its path of canonical names, and what may follow it. */
export interface CompletionNode {
  /** `['ds', 'org', 'list']` */
  path: string[];
  /** The name and its aliases (`list`, `ls`). */
  names: string[];
  description: string;
  options: CompletionOption[];
  children: CompletionNode[];
  /** The values the first argument may take (`ds completion <shell>`), if it is a choice. */
  argumentChoices: string[];
}

/** The tree of `program`; the program's own options are global: accepted after any command. */
export function completionTree(program: Command): { root: CompletionNode; globals: CompletionOption[] } {
  const globals = program.options.filter((o) => !o.hidden && o.long !== '--version').map(optionOf);
  const help: CompletionOption = { flags: ['-h', '--help'], description: 'show help', takesValue: false, choices: [] };
  const node = (command: Command, parent: string[]): CompletionNode => {
    const path = [...parent, command.name()];
    return {
      path,
      names: [command.name(), ...command.aliases()],
      description: command.description(),
      options: [...(parent.length === 0 ? program.options.filter((o) => o.long === '--version').map(optionOf) : command.options.filter((o) => !o.hidden).map(optionOf)), help],
      children: command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map((c) => node(c, path)),
      argumentChoices: command.registeredArguments[0]?.argChoices ?? [],
    };
  };
  return { root: node(program, []), globals };
}

function optionOf(option: Option): CompletionOption {
  return {
    flags: [option.short, option.long].filter((f): f is string => Boolean(f)),
    description: option.description,
    takesValue: option.required || option.optional,
    choices: option.argChoices ?? [],
  };
}

function walk(node: CompletionNode): CompletionNode[] {
  return [node, ...node.children.flatMap(walk)];
}

const key = (node: CompletionNode) => node.path.join(' ');

/** `'text'` for sh, bash and zsh. */
function shQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `'text'` for fish, whose single quotes escape only `\` and `'`. */
function fishQuote(text: string): string {
  return `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** One line of help text (descriptions may run over several). */
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** The case patterns that move the command path one word on, shared by bash and zsh. */
function stepCases(nodes: CompletionNode[], variable: string): string[] {
  const out: string[] = [];
  for (const node of nodes) {
    for (const child of node.children) {
      const patterns = child.names.map((name) => shQuote(`${key(node)} ${name}`)).join('|');
      out.push(`      ${patterns}) ${variable}=${shQuote(key(child))} ;;`);
    }
  }
  return out;
}

/** Patterns (`'ds user create --role'`, `*' --url'`) of options that take a value, for sh-like shells. */
function valuePatterns(nodes: CompletionNode[], globals: CompletionOption[], filter: (o: CompletionOption) => boolean): string[] {
  const patterns: string[] = [];
  for (const option of globals.filter((o) => o.takesValue && filter(o))) for (const flag of option.flags) patterns.push(`*${shQuote(` ${flag}`)}`);
  for (const node of nodes) {
    for (const option of node.options.filter((o) => o.takesValue && filter(o))) for (const flag of option.flags) patterns.push(shQuote(`${key(node)} ${flag}`));
  }
  return patterns;
}

/** One `pattern|pattern) action ;;` line, or none without patterns (an empty pattern list is a syntax error). */
function caseLine(indent: string, patterns: string[], action: string): string[] {
  return patterns.length > 0 ? [`${indent}${patterns.join('|')}) ${action} ;;`] : [];
}

function choiceCases(nodes: CompletionNode[], globals: CompletionOption[], action: (choices: string[]) => string): string[] {
  const out: string[] = [];
  for (const option of globals.filter((o) => o.choices.length > 0)) {
    out.push(`    ${option.flags.map((f) => `*${shQuote(` ${f}`)}`).join('|')}) ${action(option.choices)} ;;`);
  }
  for (const node of nodes) {
    for (const option of node.options.filter((o) => o.choices.length > 0)) {
      out.push(`    ${option.flags.map((f) => shQuote(`${key(node)} ${f}`)).join('|')}) ${action(option.choices)} ;;`);
    }
  }
  return out;
}

/** `ds completion bash`: `source <(ds completion bash)`, or save it in bash-completion's folder. */
export function bashScript(program: Command, version: string): string {
  const { root, globals } = completionTree(program);
  const nodes = walk(root);
  const globalFlags = globals.flatMap((o) => o.flags);
  const lines = [
    `# bash completion for ds ${version}, generated by \`ds completion bash\`.`,
    '# Load it with: source <(ds completion bash)',
    '_ds_completion() {',
    '  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} path=ds word i skip=0',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    word=${COMP_WORDS[i]}',
    '    if ((skip)); then skip=0; continue; fi',
    '    case "$path $word" in',
    ...caseLine('      ', valuePatterns(nodes, globals, () => true), 'skip=1; continue'),
    '    esac',
    '    case "$path $word" in',
    ...stepCases(nodes, 'path'),
    '    esac',
    '  done',
    '  case "$path $prev" in',
    ...choiceCases(nodes, globals, (choices) => `COMPREPLY=($(compgen -W ${shQuote(choices.join(' '))} -- "$cur")); return`),
    ...caseLine('    ', valuePatterns(nodes, globals, (o) => o.choices.length === 0), 'return'),
    '  esac',
    '  local words',
    '  if [[ $cur == -* ]]; then',
    '    case "$path" in',
    ...nodes.map((n) => `      ${shQuote(key(n))}) words=${shQuote([...n.options.flatMap((o) => o.flags), ...globalFlags].join(' '))} ;;`),
    '    esac',
    '  else',
    '    case "$path" in',
    ...nodes.filter((n) => n.children.length > 0).map((n) => `      ${shQuote(key(n))}) words=${shQuote(n.children.flatMap((c) => c.names).join(' '))} ;;`),
    ...nodes.filter((n) => n.argumentChoices.length > 0).map((n) => `      ${shQuote(key(n))}) words=${shQuote(n.argumentChoices.join(' '))} ;;`),
    '    esac',
    '  fi',
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '}',
    // -o default: where ds knows nothing to offer (a file argument, a free value), file names.
    'complete -o default -F _ds_completion ds',
  ];
  return lines.join('\n') + '\n';
}

/** `ds completion zsh`: `source <(ds completion zsh)`, or save it as `_ds` in a folder of $fpath. */
export function zshScript(program: Command, version: string): string {
  const { root, globals } = completionTree(program);
  const nodes = walk(root);
  // _describe reads `name:description`; a colon in a name is written `\:`.
  const item = (name: string, description: string) => shQuote(`${name.replace(/:/g, '\\:')}:${oneLine(description)}`);
  const lines = [
    '#compdef ds',
    `# zsh completion for ds ${version}, generated by \`ds completion zsh\`.`,
    '# Load it with: source <(ds completion zsh), or save it as _ds in a folder of $fpath.',
    '_ds() {',
    // Not `path`: in zsh that is the array tied to PATH.
    '  local at=ds word prev i skip=0',
    '  local -a items',
    '  for ((i = 2; i < CURRENT; i++)); do',
    '    word=${words[i]}',
    '    if ((skip)); then skip=0; continue; fi',
    '    case "$at $word" in',
    ...caseLine('      ', valuePatterns(nodes, globals, () => true), 'skip=1; continue'),
    '    esac',
    '    case "$at $word" in',
    ...stepCases(nodes, 'at'),
    '    esac',
    '  done',
    '  prev=${words[CURRENT-1]}',
    '  case "$at $prev" in',
    ...choiceCases(nodes, globals, (choices) => `compadd -- ${choices.map(shQuote).join(' ')}; return`),
    ...caseLine('    ', valuePatterns(nodes, globals, (o) => o.choices.length === 0), '_files; return'),
    '  esac',
    '  if [[ ${words[CURRENT]} == -* ]]; then',
    '    case "$at" in',
    ...nodes.map(
      (n) =>
        `      ${shQuote(key(n))}) items=(${[...n.options, ...globals].flatMap((o) => o.flags.map((f) => item(f, o.description))).join(' ')}) ;;`,
    ),
    '    esac',
    '  else',
    '    case "$at" in',
    ...nodes
      .filter((n) => n.children.length > 0)
      .map((n) => `      ${shQuote(key(n))}) items=(${n.children.flatMap((c) => c.names.map((name) => item(name, c.description))).join(' ')}) ;;`),
    ...nodes.filter((n) => n.argumentChoices.length > 0).map((n) => `      ${shQuote(key(n))}) items=(${n.argumentChoices.map((choice) => item(choice, choice)).join(' ')}) ;;`),
    '    esac',
    '  fi',
    "  if (( ${#items} )); then _describe -t commands 'ds' items; else _files; fi",
    '}',
    'if [[ ${funcstack[1]} == _ds ]]; then _ds "$@"; else compdef _ds ds; fi',
  ];
  return lines.join('\n') + '\n';
}

/** `ds completion fish`: `ds completion fish > ~/.config/fish/completions/ds.fish`. */
export function fishScript(program: Command, version: string): string {
  const { root, globals } = completionTree(program);
  const nodes = walk(root);
  const valueFlags = (options: CompletionOption[]) => options.filter((o) => o.takesValue).flatMap((o) => o.flags);
  const skipPatterns = [
    ...valueFlags(globals).map((f) => fishQuote(`* ${f}`)),
    ...nodes.flatMap((n) => valueFlags(n.options).map((f) => fishQuote(`${key(n)} ${f}`))),
  ];
  const option = (condition: string, o: CompletionOption) => {
    const parts = [`complete -c ds -n ${condition}`];
    for (const flag of o.flags) parts.push(flag.startsWith('--') ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`);
    if (o.choices.length > 0) parts.push(`-x -a ${fishQuote(o.choices.join(' '))}`);
    else if (o.takesValue) parts.push('-r');
    parts.push(`-d ${fishQuote(oneLine(o.description))}`);
    return parts.join(' ');
  };
  const at = (n: CompletionNode) => fishQuote(`__ds_at ${shQuote(key(n))}`);
  const lines = [
    `# fish completion for ds ${version}, generated by \`ds completion fish\`.`,
    '# Install it with: ds completion fish > ~/.config/fish/completions/ds.fish',
    'function __ds_path',
    '    set -l tokens (commandline -opc)',
    '    set -l at ds',
    '    set -l skip 0',
    '    for word in $tokens[2..-1]',
    '        if test $skip = 1',
    '            set skip 0',
    '            continue',
    '        end',
    '        switch "$at $word"',
    `            case ${skipPatterns.join(' ')}`,
    '                set skip 1',
    '                continue',
    '        end',
    '        switch "$at $word"',
    ...nodes.flatMap((n) =>
      n.children.flatMap((c) => [`            case ${c.names.map((name) => fishQuote(`${key(n)} ${name}`)).join(' ')}`, `                set at ${fishQuote(key(c))}`]),
    ),
    '        end',
    '    end',
    '    echo $at',
    'end',
    'function __ds_at',
    '    test (__ds_path) = "$argv[1]"',
    'end',
    ...globals.map((o) => option(fishQuote('true'), o)),
    ...nodes.flatMap((n) => [
      // Where a subcommand must come, no file names.
      ...(n.children.length > 0 ? [`complete -c ds -n ${at(n)} -f`] : []),
      ...n.children.flatMap((c) => c.names.map((name) => `complete -c ds -n ${at(n)} -a ${fishQuote(name)} -d ${fishQuote(oneLine(c.description))}`)),
      ...(n.argumentChoices.length > 0 ? [`complete -c ds -n ${at(n)} -f -a ${fishQuote(n.argumentChoices.join(' '))}`] : []),
      ...n.options.map((o) => option(at(n), o)),
    ]),
  ];
  return lines.join('\n') + '\n';
}
