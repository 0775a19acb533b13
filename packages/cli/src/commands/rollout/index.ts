import { API, RolloutEventSchema, RolloutWavesSchema, type Rollout, type RolloutEvent, type RolloutPut } from '@ds/shared';
import { InvalidArgumentError, type Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { CliError } from '../../lib/errors.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { fetchList, withLimit, type LimitOptions } from '../../lib/list.js';
import { Table, formatDuration, plainOutput, printList, printObject, tsv, withFormatOptions, type Column, type FormatOptions } from '../../lib/output.js';
import { parseDuration, parsePositive } from '../../lib/parse.js';

/** `1,5,25,100` → [1, 5, 25, 100], checked as DS checks it. */
export function parseWaves(text: string): number[] {
  const items = text.split(',').map((s) => s.trim().replace(/%$/, ''));
  if (items.some((s) => !/^\d+$/.test(s))) throw new InvalidArgumentError('expected whole percentages separated by commas, such as 1,5,25,100');
  const result = RolloutWavesSchema.safeParse(items.map(Number));
  if (!result.success) throw new InvalidArgumentError(result.error.issues[0]?.message ?? 'invalid waves');
  return result.data;
}

/** `2%` (or `2`) → 0.02: a percentage of the updated devices. */
export function parsePercent(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  if (!m) throw new InvalidArgumentError('expected a percentage such as 2% or 0.5%');
  if (/\.\d{3,}/.test(m[1]!)) throw new InvalidArgumentError('a percentage has at most two decimals (DS keeps hundredths of a percent), such as 0.25%');
  const value = Number(m[1]);
  if (value > 100) throw new InvalidArgumentError('a percentage is at most 100%');
  return value / 100;
}

interface RolloutFlags {
  waves?: number[];
  waveHold?: number;
  maxFailureRate?: number;
  minSample?: number;
  stuckAfter?: number;
}

function withRolloutFlags(command: Command, defaults: boolean): Command {
  const d = (text: string) => (defaults ? ` (default ${text})` : '');
  return command
    .option('--waves <list>', `the share of devices of each wave, in %, ending with 100${d('1,5,25,100')}`, parseWaves)
    .option('--wave-hold <duration>', `how long each wave runs before the next one starts by itself: 90m, 24h, 2d${d('24h')}`, parseDuration)
    .option('--max-failure-rate <percent>', `pause by itself when more of the updated devices fail: 2%${d('2%')}`, parsePercent)
    .option('--min-sample <n>', `judge failures only from this many updated devices on${d('20')}`, parsePositive)
    .option('--stuck-after <syncs>', `an offered device still on its old version this many syncs later is stuck; an updated one silent that long has failed${d('3')}`, parsePositive);
}

function body(options: RolloutFlags): RolloutPut {
  return {
    ...(options.waves !== undefined ? { waves: options.waves } : {}),
    ...(options.waveHold !== undefined ? { waveHoldSeconds: options.waveHold } : {}),
    ...(options.maxFailureRate !== undefined ? { maxFailureRate: options.maxFailureRate } : {}),
    ...(options.minSample !== undefined ? { minSample: options.minSample } : {}),
    ...(options.stuckAfter !== undefined ? { stuckAfter: options.stuckAfter } : {}),
  };
}

const pct = (rate: number | null) => (rate === null ? '-' : `${Math.round(rate * 10000) / 100}%`);

function rolloutFields(r: Rollout): [string, unknown][] {
  const g = r.gate;
  return [
    ['version', r.version],
    ['state', r.state],
    ['offered to', `${r.percent}% of devices`],
    ['wave', `${r.waveIndex + 1} of ${r.waves.length} (${r.waves.map((w, i) => (i === r.waveIndex ? `[${w}%]` : `${w}%`)).join(' ')})`],
    ['wave started', r.waveStartedAt],
    ['next wave', r.nextWaveAt ?? '-'],
    ['wave hold', formatDuration(r.waveHoldSeconds)],
    ['gate', `offered ${g.offered}, updated ${g.updated}, failed ${g.failed}, stuck ${g.stuck} (since ${g.since})`],
    ['failure rate', `${pct(g.failureRate)} (limit ${pct(r.maxFailureRate)} from ${r.minSample} updated)${g.tripped ? ' TRIPPED' : ''}`],
    ['stuck after', `${r.stuckAfter} syncs`],
    ...(r.pausedReason ? ([['paused', r.pausedReason]] as [string, unknown][]) : []),
    ['started', r.startedAt],
    ...(r.completedAt ? ([['completed', r.completedAt]] as [string, unknown][]) : []),
  ];
}

/** The rollout, then (for people) its waves. */
function printRollout(ctx: Context, options: FormatOptions, r: Rollout): void {
  printObject(ctx, options, r, rolloutFields(r));
  if (options.json || options.csv) return;
  const head = ['wave', 'share', 'status', 'started', 'offered', 'updated', 'failed', 'stuck'];
  const rows = r.waveStats.map((w) => [w.index + 1, `${w.percent}%`, w.status, w.startedAt ?? '-', w.offered, w.updated, w.failed, w.stuck]);
  if (plainOutput(ctx, options)) {
    ctx.stdout.write(tsv([head, ...rows]));
    return;
  }
  const table = new Table({ head });
  for (const row of rows) table.push(row.map(String));
  ctx.out(table.toString());
}

const eventColumns: Column<RolloutEvent>[] = [
  { header: 'at', value: (e) => e.at },
  { header: 'event', value: (e) => e.kind },
  { header: 'share', value: (e) => (e.fromPercent === e.toPercent ? `${e.toPercent ?? '-'}%` : `${e.fromPercent ?? '-'}% -> ${e.toPercent ?? '-'}%`) },
  { header: 'by', value: (e) => e.actor },
  { header: 'numbers', value: (e) => (e.numbers ? `offered ${e.numbers.offered}, updated ${e.numbers.updated}, failed ${e.numbers.failed}, stuck ${e.numbers.stuck}` : '') },
  { header: 'detail', value: (e) => e.detail ?? '' },
];

/** The rollout and its ETag: 404 says how to start one. */
async function read(ctx: Context, version: string) {
  const client = await ctx.client();
  return client.tagged(API.getRollout, { params: { id: version } });
}

const ACTIONS = {
  pause: { route: API.pauseRollout, description: 'pause a rollout: the version is offered to no further device (those that updated keep it)', done: 'paused' },
  resume: { route: API.resumeRollout, description: 'resume a paused rollout; its health gate counts the devices offered from now on', done: 'resumed' },
  promote: { route: API.promoteRollout, description: 'advance to the next wave now, without waiting for the hold (at 100% the version becomes recommended)', done: 'promoted' },
  abort: { route: API.abortRollout, description: 'abort a rollout: 0%, every device not on the version is offered the previous recommended one', done: 'aborted' },
} as const;

export function registerRollout(program: Command, ctx: Context): void {
  const rollout = program.command('rollout').description('staged rollouts of a version: waves of devices, a health gate that pauses by itself, history');

  withFormatOptions(withRolloutFlags(rollout.command('start').argument('<version>', 'the version to roll out, e.g. 3.10.0'), true))
    .description('start a staged rollout of a version (also restarts an aborted one)')
    .action(async (version: string, options: RolloutFlags & FormatOptions) => {
      const client = await ctx.client();
      const existing = await client.tagged(API.getRollout, { params: { id: version } }).catch((error: unknown) => {
        if ((error as { code?: string }).code === 'NOT_FOUND') return undefined;
        throw error;
      });
      if (existing && existing.data.state !== 'aborted') {
        throw new CliError(`a rollout of ${version} exists already (${existing.data.state}); change it with \`ds rollout update ${version}\`, see it with \`ds rollout status ${version}\``);
      }
      const { data } = await client.tagged(API.putRollout, { params: { id: version }, body: body(options) }, existing ? { ifMatch: existing.etag ?? undefined } : {});
      ctx.note(`${existing ? 'restarted' : 'started'} the rollout of ${version}: ${data.percent}% of devices are offered it now`);
      printRollout(ctx, options, data);
    });

  withFormatOptions(withRolloutFlags(rollout.command('update').argument('<version>', 'the version being rolled out'), false))
    .description('change the waves or the health gate of a rollout in progress (never raises the share already offered)')
    .action(async (version: string, options: RolloutFlags & FormatOptions) => {
      const put = body(options);
      if (Object.keys(put).length === 0) throw new CliError('nothing to change: pass at least one of --waves, --wave-hold, --max-failure-rate, --min-sample, --stuck-after');
      const current = await read(ctx, version);
      const { data } = await (await ctx.client()).tagged(API.putRollout, { params: { id: version }, body: put }, { ifMatch: current.etag ?? undefined });
      ctx.note(`changed the rollout of ${version}`);
      printRollout(ctx, options, data);
    });

  withFormatOptions(rollout.command('status').argument('<version>', 'the version being rolled out'))
    .description('show a rollout: its state, waves and health gate numbers')
    .action(async (version: string, options: FormatOptions) => {
      printRollout(ctx, options, (await read(ctx, version)).data);
    });

  for (const [verb, action] of Object.entries(ACTIONS)) {
    withFormatOptions(rollout.command(verb).argument('<version>', 'the version being rolled out').option('--note <text>', 'why; kept in the history'))
      .description(action.description)
      .action(async (version: string, options: FormatOptions & { note?: string }) => {
        if (verb === 'abort') await confirmOrYes(ctx, `abort the rollout of ${version} (devices not on it are offered the previous recommended version)`);
        // Sent with the ETag read first: of two operators promoting at once, one advances a wave
        // and the other is told the rollout changed (412), rather than both advancing one.
        const current = await read(ctx, version);
        const client = await ctx.client();
        const { data } = await client.tagged(action.route, { params: { id: version }, body: options.note ? { note: options.note } : {} }, { ifMatch: current.etag ?? undefined });
        ctx.note(`${action.done} the rollout of ${version}: ${data.state}, offered to ${data.percent}% of devices`);
        printRollout(ctx, options, data);
      });
  }

  withFormatOptions(withLimit(rollout.command('history').argument('<version>', 'the version being rolled out')))
    .description('every change of a rollout, oldest first, with who or what made it (an operator, the schedule, the health gate)')
    .action(async (version: string, options: FormatOptions & LimitOptions) => {
      const client = await ctx.client();
      const events = await fetchList(client, (page) => client.list(API.rolloutHistory, { params: { id: version }, query: page }), options.limit);
      printList(ctx, options, events, eventColumns, { schema: RolloutEventSchema, empty: `no history for ${version}` });
    });
}
