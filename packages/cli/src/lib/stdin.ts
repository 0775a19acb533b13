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
  const text = await read();
  const secret = text.split(/\r?\n/, 1)[0] ?? '';
  if (secret === '') throw new CliError(`${flag}: nothing was read from stdin`);
  return secret;
}
