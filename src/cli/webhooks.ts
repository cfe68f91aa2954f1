import { Command, InvalidArgumentError } from 'commander';
import { NOTICE_TYPES } from '../domain/notice-types.js';
import type { ApiClient } from './client.js';
import { printFields, printJson, printTable } from './output.js';
import { boolean, integer, list, requireYes } from './parse.js';

type Globals = () => { client: ApiClient; json: boolean };

function events(value: string): string[] {
  const names = list(value);
  const unknown = names.filter((n) => !(NOTICE_TYPES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) throw new InvalidArgumentError(`must be a comma-separated list of ${NOTICE_TYPES.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}.`);
  return names;
}

const path = (account: string, id?: string) => `/v1/accounts/${encodeURIComponent(account)}/webhooks${id === undefined ? '' : `/${encodeURIComponent(id)}`}`;

function printWebhook(webhook: any, secret?: string): void {
  printFields([
    ['id', webhook.id],
    ['url', webhook.url],
    ['events', webhook.events.join(', ')],
    ['description', webhook.description],
    ['active', webhook.active],
    ['failing', webhook.failing ? `since ${webhook.failingSince}` : 'no'],
    ...(webhook.previousSecretExpiresAt ? ([['old secret signs until', webhook.previousSecretExpiresAt]] as [string, unknown][]) : []),
    ...(secret ? ([['signing secret', secret]] as [string, unknown][]) : []),
  ]);
  if (secret) process.stdout.write('\nThe signing secret is shown this once: keep it with the receiver, which verifies deliveries with it.\n');
}

/** `keyport webhooks ...`: an account's webhook endpoints and their delivery log (settings.edit). */
export function webhooksCommand(globals: Globals): Command {
  const cmd = new Command('webhooks').description("an account's webhook endpoints, test pings and delivery log");
  const account = (c: Command) => c.requiredOption('-a, --account <account>', 'the account');

  account(cmd.command('list').description('the endpoints of an account')).action(async (opts: { account: string }) => {
    const { client, json } = globals();
    const { items } = await client.request('GET', path(opts.account));
    if (json) return printJson({ items });
    printTable(
      items.map((w: any) => ({ ...w, state: !w.active ? 'off' : w.failing ? 'FAILING' : 'ok' })),
      [
        { key: 'id', label: 'id' },
        { key: 'url', label: 'url' },
        { key: 'events', label: 'events' },
        { key: 'state', label: 'state' },
      ],
    );
  });

  account(cmd.command('create').description('add an endpoint; prints its signing secret once').argument('<url>', 'https:// URL the events are POSTed to'))
    .requiredOption('--events <list>', `comma-separated: ${NOTICE_TYPES.join(', ')}`, events)
    .option('--description <text>', 'what it is for')
    .action(async (url: string, opts: { account: string; events: string[]; description?: string }) => {
      const { client, json } = globals();
      const answer = await client.request('POST', path(opts.account), { url, events: opts.events, ...(opts.description ? { description: opts.description } : {}) });
      if (json) return printJson(answer);
      printWebhook(answer.webhook, answer.secret);
    });

  account(cmd.command('get').description('one endpoint').argument('<webhook>')).action(async (id: string, opts: { account: string }) => {
    const { client, json } = globals();
    const webhook = await client.request('GET', path(opts.account, id));
    if (json) return printJson(webhook);
    printWebhook(webhook);
  });

  account(cmd.command('update').description("change an endpoint's URL, events or description, or switch it on or off").argument('<webhook>'))
    .option('--endpoint-url <url>', 'new URL of the endpoint')
    .option('--events <list>', 'new event list', events)
    .option('--description <text>', 'new description')
    .option('--active <bool>', 'true or false', boolean)
    .action(async (id: string, opts: { account: string; endpointUrl?: string; events?: string[]; description?: string; active?: boolean }) => {
      const { client, json } = globals();
      const body = Object.fromEntries(Object.entries({ url: opts.endpointUrl, events: opts.events, description: opts.description, active: opts.active }).filter(([, v]) => v !== undefined));
      const webhook = await client.request('PATCH', path(opts.account, id), body);
      if (json) return printJson(webhook);
      printWebhook(webhook);
    });

  account(cmd.command('delete').description('remove an endpoint and its delivery log').argument('<webhook>'))
    .option('-y, --yes', 'confirm')
    .action(async (id: string, opts: { account: string; yes?: boolean }) => {
      requireYes(opts, `Deleting webhook ${id}`);
      const { client } = globals();
      await client.request('DELETE', path(opts.account, id));
      process.stdout.write(`Deleted ${id}.\n`);
    });

  account(cmd.command('test').description('send a webhook.test ping').argument('<webhook>')).action(async (id: string, opts: { account: string }) => {
    const { client, json } = globals();
    const delivery = await client.request('POST', `${path(opts.account, id)}/test`);
    if (json) return printJson(delivery);
    process.stdout.write(`Ping queued as ${delivery.id}; see: keyport webhooks deliveries ${id} --account ${opts.account}\n`);
  });

  account(cmd.command('rotate-secret').description('make a new signing secret; the old one signs alongside for the grace period').argument('<webhook>'))
    .option('--grace <seconds>', 'how long the old secret still signs (default 86400)', integer(0, 7 * 86_400))
    .action(async (id: string, opts: { account: string; grace?: number }) => {
      const { client, json } = globals();
      const answer = await client.request('POST', `${path(opts.account, id)}/rotate-secret`, opts.grace === undefined ? {} : { graceSeconds: opts.grace });
      if (json) return printJson(answer);
      printWebhook(answer.webhook, answer.secret);
    });

  account(cmd.command('deliveries').description("an endpoint's delivery log, newest first").argument('<webhook>'))
    .option('--status <status>', 'pending, delivered or failed')
    .option('--limit <n>', 'how many (default 25)', integer(1, 100))
    .action(async (id: string, opts: { account: string; status?: string; limit?: number }) => {
      const { client, json } = globals();
      const query = new URLSearchParams(Object.entries({ status: opts.status, limit: opts.limit?.toString() }).filter((e): e is [string, string] => e[1] !== undefined));
      const page = await client.request('GET', `${path(opts.account, id)}/deliveries${query.size ? `?${query}` : ''}`);
      if (json) return printJson(page);
      printTable(page.items, [
        { key: 'id', label: 'delivery' },
        { key: 'type', label: 'event' },
        { key: 'status', label: 'status' },
        { key: 'attempts', label: 'attempts' },
        { key: 'lastStatusCode', label: 'code' },
        { key: 'lastDurationMs', label: 'ms' },
        { key: 'nextAttemptAt', label: 'next attempt' },
        { key: 'lastError', label: 'error' },
      ]);
    });

  account(cmd.command('redeliver').description('send a delivery again, now').argument('<webhook>').argument('<delivery>')).action(
    async (id: string, delivery: string, opts: { account: string }) => {
      const { client, json } = globals();
      const answer = await client.request('POST', `${path(opts.account, id)}/deliveries/${encodeURIComponent(delivery)}/retry`);
      if (json) return printJson(answer);
      process.stdout.write(`Delivery ${delivery} queued again.\n`);
    },
  );

  return cmd;
}
