import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { buildProgram } from '../../index.js';
import { Context, defaultContextOptions } from '../../lib/context.js';
import { allCommands, commandPath } from '../../lib/examples.js';
import { removeTempDirs, runDs, tempDir } from '../../test/harness.js';

afterEach(removeTempDirs);

const program = buildProgram(new Context(defaultContextOptions()));
const commands = allCommands(program).filter((c) => c !== program);

describe.each(['bash', 'zsh', 'fish'])('ds completion %s', (shell) => {
  it('prints a script that names every command and subcommand, with no request', async () => {
    const r = await runDs(['completion', shell], { env: { DS_TOKEN: undefined } });
    expect(r.code).toBe(0);
    expect(r.requests).toEqual([]);
    expect(r.stderr).toBe('');
    expect(commands.length).toBeGreaterThan(60);
    for (const command of commands) expect(r.stdout, commandPath(command)).toContain(`ds ${commandPath(command)}`);
    // Options with their choices: --role of ds user create offers the roles.
    expect(r.stdout).toContain('--role');
    expect(r.stdout).toMatch(/admin'? '?viewer/);
  });
});

it('ds completion refuses a shell it does not know', async () => {
  const r = await runDs(['completion', 'powershell']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('Allowed choices are bash, zsh, fish');
});

describe('the bash script, run by bash', () => {
  /** What bash offers after typing `words` (the last one is the word being completed). */
  async function complete(words: string[]): Promise<string[]> {
    const dir = await tempDir();
    const script = join(dir, 'ds.bash');
    await writeFile(script, (await runDs(['completion', 'bash'])).stdout);
    const line = words.map((w) => `'${w}'`).join(' ');
    const { stdout } = await promisify(execFile)('bash', ['--norc', '--noprofile', '-c', `source '${script}'; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _ds_completion; printf '%s\\n' "\${COMPREPLY[@]}"`]);
    return stdout.split('\n').filter(Boolean).sort();
  }

  it.each<[string[], string[]]>([
    [['ds', ''], program.commands.flatMap((c) => [c.name(), ...c.aliases()]).sort()],
    [['ds', 'pro'], ['profile']],
    [['ds', 'version', 'con'], ['config']],
    [['ds', 'version', 'config', ''], ['get', 'set']],
    [['ds', '--url', 'http://x', 'org', 'l'], ['list', 'ls']],
    [['ds', 'user', 'create', 'bob', '--role', ''], ['admin', 'viewer']],
    [['ds', 'completion', ''], ['bash', 'fish', 'zsh']],
    [['ds', 'db', 'backup', ''], []],
    [['ds', 'user', 'update', '--no-'], ['--no-org', '--no-organization']],
    [['ds', 'org', 'ls', '--j'], ['--json']],
    [['ds', 'org', 'list', '--y'], ['--yes']],
  ])('%j offers %j', async (words, expected) => {
    expect(await complete(words)).toEqual(expected);
  });
});
