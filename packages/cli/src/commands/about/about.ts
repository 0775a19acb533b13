import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { printObject, withFormatOptions, type FormatOptions } from '../../lib/output.js';

/** What `ds about` prints: this ds, and where it would connect (no request is made). */
export interface About {
  version: string;
  node: string;
  platform: string;
  configFile: string;
  profile: string;
  url: string;
}

export function registerAbout(program: Command, ctx: Context, version: string): void {
  withFormatOptions(
    program
      .command('about')
      .description("this ds: its version, Node.js, the config file, and the profile and DS URL in effect (no request; the server's version: ds system status)"),
  ).action((options: FormatOptions) => run(options, ctx, version));
}

export async function run(options: FormatOptions, ctx: Context, version: string): Promise<void> {
  const resolved = await ctx.resolved();
  const about: About = {
    version,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    configFile: ctx.config.path,
    profile: resolved.profile,
    url: resolved.url,
  };
  printObject(ctx, options, about, [
    ['ds', about.version],
    ['node', about.node],
    ['platform', about.platform],
    ['config file', about.configFile],
    ['profile', about.profile],
    ['url', `${about.url} (from ${resolved.urlSource})`],
  ]);
}
