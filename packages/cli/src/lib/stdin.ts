import type { Readable } from 'node:stream';
import { CliError } from './errors.js';

/** Reads a stream to its end as UTF-8. */
export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** A secret piped on stdin: the first line, without its line ending (as `docker login --password-stdin`). */
export async function readSecretFromStdin(read: () => Promise<string>, flag: string): Promise<string> {
  return (await readSecretsFromStdin(read, flag, ['the secret']))[0]!;
}

/** Several secrets piped on stdin, one per line, in the order `names` says (for the error). */
export async function readSecretsFromStdin(read: () => Promise<string>, flag: string, names: string[]): Promise<string[]> {
  const lines = (await read()).split(/\r?\n/);
  if ((lines[0] ?? '') === '') throw new CliError(`${flag}: nothing was read from stdin`);
  const secrets = names.map((_, i) => lines[i] ?? '');
  const missingAt = secrets.findIndex((s) => s === '');
  if (missingAt >= 0) throw new CliError(`${flag}: expected ${names.join(', then ')}, one per line; line ${missingAt + 1} (${names[missingAt]}) is empty`);
  return secrets;
}
