import { createWriteStream } from 'node:fs';
import { AuditEntrySchema, type AuditEntry, type AuditListQuery } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';
import { fetchList, withLimit, type LimitOptions } from '../../lib/list.js';
import { jsonLines, printList, printObject, withFormatOptions, type Column, type FormatOptions } from '../../lib/output.js';
import { parseSince, sinceTime, type Since } from '../../lib/parse.js';

export interface AuditFilterOptions {
  since?: Since;
  until?: Since;
  actor?: string;
  resource?: string;
  action?: string;
  org?: string;
}

const auditColumns: Column<AuditEntry>[] = [
  { header: 'seq', value: (e) => e.seq },
  { header: 'at', value: (e) => e.at },
  { header: 'actor', value: (e) => e.actor.name },
  { header: 'action', value: (e) => e.action },
  { header: 'resource', value: (e) => (e.resource.id === null ? e.resource.type : `${e.resource.type}:${e.resource.id}`) },
  { header: 'organization', value: (e) => e.organization },
  { header: 'address', value: (e) => e.address },
  { header: 'request id', value: (e) => e.requestId },
];

function withFilters(command: Command): Command {
  return command
    .option('--since <time>', 'entries at or after this ISO time, or this long ago (24h, 7d)', parseSince)
    .option('--until <time>', 'entries before this ISO time, or this long ago', parseSince)
    .option('--actor <name>', 'entries of this actor: a username, system or "health gate"')
    .option('--resource <type[:id]>', 'entries about this kind of resource (version), or this one (version:3.9.0)')
    .option('--action <action>', 'entries of this action (version.changed) or family (version.*)')
    .option('--org <name>', 'entries of this organization');
}

function query(options: AuditFilterOptions, ctx: Context): Omit<AuditListQuery, 'limit' | 'cursor'> {
  const now = ctx.clock.now();
  return {
    ...(options.since ? { since: sinceTime(options.since, now) } : {}),
    ...(options.until ? { until: sinceTime(options.until, now) } : {}),
    ...(options.actor ? { actor: options.actor } : {}),
    ...(options.resource ? { resource: options.resource } : {}),
    ...(options.action ? { action: options.action } : {}),
    ...(options.org ? { organization: options.org } : {}),
  };
}

export function registerAudit(program: Command, ctx: Context): void {
  const audit = program.command('audit').description('the audit log: who changed what, when and from where; its hash chain');

  withFormatOptions(withLimit(withFilters(audit.command('list').alias('ls').description('list audit entries, newest first')))).action(
    async (options: AuditFilterOptions & FormatOptions & LimitOptions) => {
      const client = await ctx.client();
      const entries = await fetchList(client, (page) => client.listAudit({ ...page, ...query(options, ctx) }), options.limit);
      printList(ctx, options, entries, auditColumns, { schema: AuditEntrySchema, empty: 'no audit entries' });
    },
  );

  withFormatOptions(audit.command('verify').description('check the hash chain of the audit log; fails (exit code 1) naming the first broken link')).action(
    async (options: FormatOptions) => {
      const client = await ctx.client();
      const result = await client.verifyAudit();
      printObject(ctx, options, result, [
        ['ok', result.ok],
        ['checked', result.checked],
        ['first', result.firstSeq],
        ['last', result.lastSeq],
        ['anchor hash', result.anchorHash],
        ['head hash', result.headHash],
        ...(result.broken ? ([['broken', `${result.broken.seq ?? '?'}${result.broken.id ? ` (${result.broken.id})` : ''}: ${result.broken.reason}`]] as [string, unknown][]) : []),
      ]);
      if (!result.ok) {
        throw new CliError(`the audit chain is broken at entry ${result.broken?.seq ?? '?'}: ${result.broken?.reason ?? 'unknown'}`, undefined, undefined, { code: 'FAILED' });
      }
      if (!options.json) ctx.note(`the audit chain holds: ${result.checked} entries; keep the head hash somewhere else to detect a rewrite of the whole log`);
    },
  );

  withFilters(
    audit
      .command('export')
      .description('write audit entries as JSON lines, oldest first, for a SIEM (stdout, or --output FILE)')
      .option('--output <file>', 'write to this file instead of stdout (appended to)'),
  ).action(async (options: AuditFilterOptions & { output?: string }) => {
    const client = await ctx.client();
    const out = options.output ? createWriteStream(options.output, { flags: 'a', mode: 0o600 }) : undefined;
    let count = 0;
    try {
      let cursor: string | undefined;
      do {
        const page = await client.listAudit({ limit: 500, order: 'asc', ...(cursor ? { cursor } : {}), ...query(options, ctx) });
        if (out) {
          if (!out.write(jsonLines(page.data))) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        } else ctx.stdout.write(jsonLines(page.data));
        count += page.data.length;
        cursor = page.next ?? undefined;
      } while (cursor);
    } finally {
      if (out) await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    }
    if (options.output) ctx.note(`wrote ${count} audit entries to ${options.output}`);
  });
}
