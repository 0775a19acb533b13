import { API, DsApiError, type AdminClient } from '@ds/shared';
import type { Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { getOrUndefined } from '../../lib/remote.js';
import { withServeFlags, type ServerFlags } from '../server/flags.js';
import { serveUntilSignalled, startServing, type Served } from '../server/serve.js';
import { runSimulation } from '../simulate/engine.js';
import { createDemoData, DEMO_LABELS, DEMO_ORGANIZATION, DEMO_ROLLOUT, type DemoData } from './data.js';

/**
 * The simulated installations of the demo: most on the recommended version, some on the older one.
 * 21 on 3.8.1, so the rollout's first wave (25 %) holds some of them: none with a chance of 0.2 %.
 */
const DEMO_DEVICES: Record<string, number> = { '3.8.1': 21, '3.7.0': 3 };
const DEMO_SYNCS = 3;
const DEMO_SEED = 2026;

export function registerDemo(program: Command, ctx: Context): void {
  withServeFlags(
    program
      .command('demo')
      .description('run DS like `ds serve` with demo data: an organization, labels, versions with installers, and simulated installations')
      .addHelpText(
        'after',
        '\nOn first start the data is made as user admin (password from DS_ADMIN_PASSWORD, else the generated one);\n' +
          'when organization "demo" exists it is left as it is. Stop with Ctrl-C.',
      ),
  ).action((options: ServerFlags) => run(options, ctx));
}

export async function run(options: ServerFlags, ctx: Context): Promise<void> {
  const served = await startServing(options, ctx);
  let lines: string[];
  try {
    lines = await prepare(served, ctx);
  } catch (error) {
    served.stopListening();
    await served.running.close();
    throw error;
  }
  ctx.note(box(lines));
  await serveUntilSignalled(served, ctx);
}

/** Logs in, makes the demo data when there is none, and answers the lines of the welcome box. */
async function prepare(served: Served, ctx: Context): Promise<string[]> {
  const { running, config } = served;
  const url = running.url;
  const generated = running.initialAdminPassword;
  const password = ctx.env.DS_ADMIN_PASSWORD || generated;
  const head = [`DS demo: ${url}${config.publicUrl !== url ? ` (public URL ${config.publicUrl})` : ''}`, ''];
  const login = [
    `Log in:  ds login --url ${url}`,
    ...(generated ? [`         username admin, password ${generated}  (shown once)`] : []),
    `Dashboard:  ${url}/dashboard  (the same user and password)`,
  ];
  const placeholders = { labelKey: '<label API key>', installationKey: '<installation key>' };
  const now = ctx.clock.now();
  // The demo's usage reaches back three months: the report starts there.
  const reportFrom = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1)).toISOString().slice(0, 7);

  if (!password) {
    ctx.note('demo: this database was initialised before and DS_ADMIN_PASSWORD is not set: no demo data is made, DS just serves');
    return [...head, ...login, '', 'No demo data was made (the admin password is not known).', ...tryLines(url, placeholders, reportFrom)];
  }
  let admin: AdminClient;
  try {
    const anonymous = await ctx.anonymousClient(url);
    admin = anonymous.withToken((await anonymous.login('admin', password)).token);
  } catch (error) {
    if (!(error instanceof DsApiError && error.code === 'INVALID_CREDENTIALS')) throw error;
    ctx.note('demo: DS_ADMIN_PASSWORD is not the password of user admin on this database: no demo data is made, DS just serves');
    return [...head, ...login, '', 'No demo data was made (DS_ADMIN_PASSWORD did not log in).', ...tryLines(url, placeholders, reportFrom)];
  }

  if (await getOrUndefined(() => admin.getOrganization(DEMO_ORGANIZATION))) {
    ctx.note(`demo: organization "${DEMO_ORGANIZATION}" exists: keeping the data as it is`);
    return [
      ...head,
      ...login,
      '',
      `The demo data exists already; its keys were shown when it was made.`,
      `New ones: ds label rotate-key ${DEMO_LABELS[0]}, ds version rotate-key 3.8.1`,
      ...tryLines(url, placeholders, reportFrom),
    ];
  }

  const data = await createDemoData(admin, config.installerRoot);
  ctx.note(`demo: created organization "${DEMO_ORGANIZATION}", labels ${DEMO_LABELS.join(' and ')}, versions 3.7.0, 3.8.1 and 3.8.2 (installers in ${data.installerFolder})`);
  await startRollout(ctx, admin, data);
  await simulate(ctx, url, data);

  const labelKey = data.labelKeys[DEMO_LABELS[0]] ?? null;
  const installationKey = data.installationKeys['3.8.1'] ?? null;
  return [
    ...head,
    ...login,
    '',
    labelKey ? `Label API key of ${DEMO_LABELS[0]}:  ${labelKey}` : `Label ${DEMO_LABELS[0]} existed already: its key is not shown`,
    installationKey ? `Installation key of 3.8.1:  ${installationKey}` : 'Version 3.8.1 existed already: its installation key is not shown',
    'These keys are shown once: DS keeps only their hashes.',
    ...tryLines(url, { labelKey: labelKey ?? placeholders.labelKey, installationKey: installationKey ?? placeholders.installationKey }, reportFrom),
  ];
}

/**
 * Starts the rollout of 3.8.2 (first wave 25 %) when the demo made that version, so the dashboard's
 * Versions page and `ds rollout status` have one in progress; the simulated 3.8.1 devices inside
 * the wave then update to it.
 */
async function startRollout(ctx: Context, admin: AdminClient, data: DemoData): Promise<void> {
  if (!data.installationKeys[DEMO_ROLLOUT.version]) return;
  await admin.call(API.putRollout, { params: { id: DEMO_ROLLOUT.version }, body: { waves: [...DEMO_ROLLOUT.waves] } });
  ctx.note(`demo: started a rollout of ${DEMO_ROLLOUT.version} in waves of ${DEMO_ROLLOUT.waves.join(', ')} %`);
}

/** A short simulation so DS has devices and counters to show. */
const DEMO_DAYS = 90;

async function simulate(ctx: Context, url: string, data: DemoData): Promise<void> {
  let devices = 0;
  let syncs = 0;
  let transactions = 0;
  for (const [version, count] of Object.entries(DEMO_DEVICES)) {
    const installationKey = data.installationKeys[version];
    if (!installationKey) continue;
    const { summary } = await runSimulation({
      baseUrl: url,
      installationKey,
      devices: count,
      syncs: DEMO_SYNCS,
      concurrency: 8,
      keyType: 'mixed',
      intervalMs: 0,
      // Usage spread over the last three months, so reports and the dashboard show a trend and
      // closed months (DS files those dates under their archived months).
      spreadDays: DEMO_DAYS,
      labels: [...DEMO_LABELS],
      seed: DEMO_SEED + devices,
      fetch: ctx.fetch,
      clock: ctx.clock,
      // The older devices stay on 3.7.0 (the dashboard shows more than one version); those on
      // 3.8.1 inside the rollout's first wave install 3.8.2.
      updates: version !== '3.7.0',
    });
    devices += summary.registrations;
    syncs += summary.syncsOk;
    transactions += summary.transactionsSent;
    if (summary.failures > 0) ctx.note(`demo: ${summary.failures} simulated requests for ${version} failed (${JSON.stringify(summary.errors)})`);
  }
  ctx.note(`demo: simulated ${devices} installations: ${syncs} syncs, ${transactions} transactions`);
}

function tryLines(url: string, keys: { labelKey: string; installationKey: string }, reportFrom: string): string[] {
  return [
    '',
    'Try:',
    '  ds device list',
    `  ds report transactions --from ${reportFrom} --by month,label`,
    `  ds rollout status ${DEMO_ROLLOUT.version}`,
    '  ds report adoption --by version',
    '  ds report devices --by browser',
    `  ds simulate --devices 50 --verify --installation-key ${keys.installationKey}`,
    `  curl -H 'apikey: ${keys.labelKey}' ${url}/v3_5/tokens/application`,
    '',
    'Stop with Ctrl-C.',
  ];
}

/** Draws `lines` in a box. */
export function box(lines: string[]): string {
  const width = Math.max(...lines.map((line) => line.length));
  return [`┌${'─'.repeat(width + 2)}┐`, ...lines.map((line) => `│ ${line.padEnd(width)} │`), `└${'─'.repeat(width + 2)}┘`].join('\n');
}
