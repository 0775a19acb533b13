import { WEBHOOK_EVENT_TYPES, WebhookDeliverySchema, WebhookSchema, webhookEventMatches, type Webhook, type WebhookDelivery } from '@ds/shared';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Context } from '../../lib/context.js';
import { missing } from '../../lib/errors.js';
import { confirmOrYes } from '../../lib/interaction.js';
import { warnShownOnce } from '../../lib/keys.js';
import { fetchList, withLimit, type LimitOptions } from '../../lib/list.js';
import { formatDuration, printList, printObject, withFormatOptions, type Column, type FormatOptions } from '../../lib/output.js';
import { collectList, parseDuration } from '../../lib/parse.js';

const webhookColumns: Column<Webhook>[] = [
  { header: 'id', value: (w) => w.id },
  { header: 'url', value: (w) => w.url },
  { header: 'events', value: (w) => w.events },
  { header: 'organization', value: (w) => w.organization ?? 'all' },
  { header: 'status', value: (w) => (w.status === 'disabled' ? `disabled: ${w.disabledReason ?? ''}` : w.failingSince ? `failing since ${w.failingSince}` : 'active') },
  { header: 'last success', value: (w) => w.lastSuccessAt },
];

function webhookFields(w: Webhook): [string, unknown][] {
  return [
    ...webhookColumns.map((c): [string, unknown] => [c.header, c.value(w)]),
    ['description', w.description],
    ['last failure', w.lastFailureAt],
    ['created', `${w.createdAt} by ${w.createdBy}`],
    ...(w.secret ? ([['secret', w.secret]] as [string, unknown][]) : []),
  ];
}

const deliveryColumns: Column<WebhookDelivery>[] = [
  { header: 'id', value: (d) => d.id },
  { header: 'event', value: (d) => d.eventType },
  { header: 'created', value: (d) => d.createdAt },
  { header: 'status', value: (d) => d.status },
  { header: 'attempts', value: (d) => d.attempts },
  { header: 'last result', value: (d) => d.lastError ?? (d.lastStatusCode === null ? null : String(d.lastStatusCode)) },
  { header: 'next attempt', value: (d) => d.nextAttemptAt },
];

function collectEvents(value: string, previous: string[] | undefined): string[] {
  const events = collectList(value, previous);
  const unknown = events.filter((e) => !WEBHOOK_EVENT_TYPES.some((t) => webhookEventMatches(e, t)));
  if (unknown.length > 0) throw new InvalidArgumentError(`${unknown.join(', ')} names no event; the events are ${WEBHOOK_EVENT_TYPES.join(', ')} (or a family such as version.*, or *)`);
  return events;
}

export function registerWebhook(program: Command, ctx: Context): void {
  const webhook = program.command('webhook').description('signed HTTP callbacks for DS events (Standard Webhooks), their deliveries and retries');

  withFormatOptions(withLimit(webhook.command('list').alias('ls').description('list webhooks and their state').option('--org <name>', 'only this organization’s'))).action(
    async (options: FormatOptions & LimitOptions & { org?: string }) => {
      const client = await ctx.client();
      const hooks = await fetchList(client, (page) => client.listWebhooks({ ...page, ...(options.org ? { organization: options.org } : {}) }), options.limit);
      printList(ctx, options, hooks, webhookColumns, { schema: WebhookSchema, empty: 'no webhooks' });
    },
  );

  withFormatOptions(
    webhook
      .command('create')
      // A positional argument, not --url: that is every command's DS URL (the webhook would go to DS's address otherwise).
      .argument('<endpoint>', 'the https URL DS POSTs events to')
      .option('--events <events>', `events (repeatable or comma separated), a family (version.*) or *: ${WEBHOOK_EVENT_TYPES.join(', ')}`, collectEvents)
      .option('--org <name>', 'only this organization’s events (users limited to an organization must name theirs)')
      .option('--description <text>', 'what it is for')
      .description('create a webhook; prints its signing secret once'),
  ).action(async (endpoint: string, options: FormatOptions & { events?: string[]; org?: string; description?: string }) => {
    if (!options.events || options.events.length === 0) throw missing('--events');
    const client = await ctx.client();
    const created = await client.createWebhook({
      url: endpoint,
      events: [...new Set(options.events)],
      ...(options.org ? { organization: options.org } : {}),
      ...(options.description !== undefined ? { description: options.description } : {}),
    });
    printObject(ctx, options, created, webhookFields(created));
    if (created.secret) warnShownOnce(ctx, 'signing secret');
  });

  withFormatOptions(webhook.command('get').argument('<id>', 'webhook id').description('show a webhook and its state')).action(async (id: string, options: FormatOptions) => {
    const client = await ctx.client();
    const hook = await client.getWebhook(id);
    printObject(ctx, options, hook, webhookFields(hook));
  });

  withFormatOptions(webhook.command('delete').argument('<id>', 'webhook id').description('delete a webhook and its deliveries (asks first; --yes when not interactive)')).action(
    async (id: string, options: FormatOptions) => {
      const client = await ctx.client();
      await confirmOrYes(ctx, `delete webhook ${id} and its deliveries`);
      const hook = await client.deleteWebhook(id);
      ctx.note(`deleted webhook ${hook.id} (${hook.url})`);
      if (options.json) printObject(ctx, options, hook);
    },
  );

  withFormatOptions(webhook.command('enable').argument('<id>', 'webhook id').description('enable a disabled webhook: its pending deliveries are sent again')).action(
    async (id: string, options: FormatOptions) => {
      const client = await ctx.client();
      const hook = await client.enableWebhook(id);
      printObject(ctx, options, hook, webhookFields(hook));
    },
  );

  withFormatOptions(
    webhook
      .command('rotate-secret')
      .argument('<id>', 'webhook id')
      .option('--grace <duration>', 'how long the old secret signs too (a second signature), so the receiver can switch: 1h, 24h, 7d; 0 stops it now (default 24h)', parseDuration)
      .description('replace the signing secret; prints the new one once (asks first; --yes when not interactive)'),
  ).action(async (id: string, options: FormatOptions & { grace?: number }) => {
    const client = await ctx.client();
    await confirmOrYes(ctx, `replace the signing secret of webhook ${id}`);
    const hook = await client.rotateWebhookSecret(id, options.grace);
    printObject(ctx, options, hook, webhookFields(hook));
    if (hook.secret) warnShownOnce(ctx, 'signing secret');
    ctx.note(options.grace === 0 ? 'the old secret no longer signs deliveries' : `deliveries are signed with the old secret too for ${formatDuration(options.grace ?? 86400)}; give the receiver the new one meanwhile`);
  });

  withFormatOptions(
    withLimit(
      webhook
        .command('deliveries')
        .argument('<id>', 'webhook id')
        .addOption(new Option('--status <status>', 'only deliveries in this state').choices(['pending', 'delivered', 'failed']))
        .description('list a webhook’s deliveries, newest first (--json: with every attempt)'),
    ),
  ).action(async (id: string, options: FormatOptions & LimitOptions & { status?: 'pending' | 'delivered' | 'failed' }) => {
    const client = await ctx.client();
    const list = await fetchList(client, (page) => client.listWebhookDeliveries(id, { ...page, ...(options.status ? { status: options.status } : {}) }), options.limit);
    printList(ctx, options, list, deliveryColumns, { schema: WebhookDeliverySchema, empty: 'no deliveries' });
  });

  withFormatOptions(
    webhook.command('redeliver').argument('<id>', 'webhook id').argument('<delivery>', 'delivery id (msg_...)').description('send a delivery again now, with the same webhook-id'),
  ).action(async (id: string, delivery: string, options: FormatOptions) => {
    const client = await ctx.client();
    const d = await client.redeliverWebhook(id, delivery);
    ctx.note(`delivery ${d.id} is queued again; the next attempt is due now`);
    if (options.json) printObject(ctx, options, d);
  });
}
