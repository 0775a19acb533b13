import { readFile } from 'node:fs/promises';
import type { ContextConfig } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../../lib/context.js';
import { CliError } from '../../../lib/errors.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../../lib/output.js';
import { collect, parseDuration, parsePositive, splitPair } from '../../../lib/parse.js';
import { conditionally } from '../changes.js';
import { configViewFields } from './view.js';

export interface ConfigSetOptions extends FormatOptions {
  id: string;
  cors?: string[];
  syncInterval?: number;
  syncFailureLimit?: number;
  set?: string[];
  unset?: string[];
  file?: string;
  clear?: boolean;
}

export function registerConfigSet(config: Command, ctx: Context): void {
  withFormatOptions(
    config
      .command('set')
      .argument('<id>', 'version, or "default" for the DS-wide defaults')
      .option('--cors <origin>', 'allowed origin, e.g. https://*.example.com (repeatable; replaces the list)', collect)
      .option('--sync-interval <duration>', 'seconds between syncs (at least 60; also 5m, 1h, ...)', parseDuration)
      .option('--sync-failure-limit <n>', 'failed syncs in a row after which a device shuts down', parsePositive)
      .option('--set <key=json>', 'any other key; the value is JSON, or else taken as a string (repeatable)', collect)
      .option('--unset <key>', 'remove a key (repeatable)', collect)
      .option('--file <path>', 'start from this JSON file instead of the current config')
      .option('--clear', 'start from nothing; alone, removes the config (the defaults apply again)')
      .description("change a version's context config; the flags are merged into the current one"),
  ).action((id: string, options: Omit<ConfigSetOptions, 'id'>) => run({ ...options, id }, ctx));
}

export async function run(options: ConfigSetOptions, ctx: Context): Promise<void> {
  const changes = [options.cors, options.syncInterval, options.syncFailureLimit, options.set, options.unset, options.file];
  const changesSomething = changes.some((change) => change !== undefined);
  if (!changesSomething && !options.clear) {
    throw new CliError('nothing to set: pass --cors, --sync-interval, --sync-failure-limit, --set, --unset, --file or --clear');
  }
  if (options.clear && options.file !== undefined) throw new CliError('--clear and --file cannot be combined');
  const client = await ctx.client();

  let config: ContextConfig | null;
  let etag: string | null = null;
  if (options.clear && !changesSomething) {
    config = null;
  } else if (options.clear || options.file !== undefined) {
    config = applyFlags(options.clear ? {} : await readConfigFile(options.file!), options);
  } else {
    // The flags merge into the current config: sent with the ETag of that read, so a change
    // someone else made in between is refused (412) rather than undone.
    const current = await client.getContextConfigWithEtag(options.id);
    etag = current.etag;
    config = applyFlags(isObject(current.data.own) ? (current.data.own as ContextConfig) : {}, options);
  }
  const view =
    etag === null
      ? await client.putContextConfig(options.id, config)
      : await conditionally(options.id, `\`ds version config set ${options.id}\``, () => client.putContextConfig(options.id, config, { ifMatch: etag }));
  ctx.note(config === null ? `removed the context config of ${options.id}` : `updated the context config of ${options.id}`);
  printObject(ctx, options, view, configViewFields(view, options.id));
}

/** The flags on top of `base`; exported for tests. */
export function applyFlags(base: ContextConfig, options: Omit<ConfigSetOptions, 'id'>): ContextConfig {
  const config: Record<string, unknown> = { ...base };
  for (const pair of options.set ?? []) {
    const [key, text] = splitSet(pair);
    config[key] = parseValue(text);
  }
  for (const key of options.unset ?? []) delete config[key];
  if (options.cors !== undefined) config.corsAllowlist = options.cors;
  if (options.syncInterval !== undefined) config.syncIntervalSeconds = options.syncInterval;
  if (options.syncFailureLimit !== undefined) config.syncFailureLimit = options.syncFailureLimit;
  return config as ContextConfig;
}

function splitSet(pair: string): [string, string] {
  try {
    const [key, value] = splitPair(pair, 'key=value');
    return [key, value];
  } catch {
    throw new CliError(`--set ${pair}: expected key=value`);
  }
}

/** `3` → 3, `true` → true, `["a"]` → ["a"], `"x"` → "x", anything else → the text itself. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function readConfigFile(path: string): Promise<ContextConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(`--file: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`--file: ${path} is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) throw new CliError(`--file: ${path} must hold a JSON object`);
  return value as ContextConfig;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
