import { Command, Option } from 'commander';
import type { ApiClient } from './client.js';
import { printFields, printJson, printTable } from './output.js';
import { boolean, integer } from './parse.js';
import { LEAK_RESPONSES, SECRET_REVEAL_POLICIES, SETTING_BOUNDS } from '../domain/settings.js';
import { InvalidArgumentError } from 'commander';

type Globals = () => { client: ApiClient; json: boolean };

function printAccount(account: any): void {
  const s = account.settings;
  printFields([
    ['id', account.id],
    ['name', account.name],
    ['eligible', account.eligible],
    ['access token TTL', `${s.accessTokenTtl} s`],
    ['key lifetime', s.keyLifetime === null ? 'no expiry' : `${s.keyLifetime} s`],
    ['keys per environment', s.keyLimitPerEnvironment],
    ['secret reveal', s.secretReveal],
    ['new REST keys active', s.defaultActive.client_secret],
    ['new token keys active', s.defaultActive.token],
    ['expiry reminders', s.expiryNoticeDays.length ? `${s.expiryNoticeDays.join(', ')} days before` : 'none'],
    ['leaked keys', s.leakResponse === 'revoke' ? 'revoke' : 'notify only'],
    ['credits low at', s.creditsLowThreshold],
    ['created', account.createdAt],
  ]);
}

/** `keyport accounts ...` */
export function accountsCommand(globals: Globals): Command {
  const cmd = new Command('accounts').description('create and inspect accounts (tenants) and their settings');

  cmd
    .command('create')
    .description('create an account (platform owner token)')
    .argument('<name>', 'the account name')
    .option('--not-eligible', 'the account may not create keys')
    .option('--no-default-keys', 'do not provision the admin and storefront keys')
    .action(async (name: string, opts: { notEligible?: boolean; defaultKeys: boolean }) => {
      const { client, json } = globals();
      const account = await client.request('POST', '/v1/accounts', {
        name,
        eligible: !opts.notEligible,
        provisionDefaultKeys: opts.defaultKeys,
      });
      if (json) return printJson(account);
      printAccount(account);
      if (account.provisionedKeys.length) {
        process.stdout.write('\nProvisioned keys (no secret yet: run "keyport keys reset-secret" to get one):\n');
        printTable(account.provisionedKeys, [
          { key: 'id', label: 'id' },
          { key: 'name', label: 'name' },
          { key: 'environment', label: 'environment' },
          { key: 'clientId', label: 'client id' },
        ]);
      }
    });

  cmd
    .command('list')
    .description('the accounts you may work on')
    .action(async () => {
      const { client, json } = globals();
      const { items } = await client.request('GET', '/v1/accounts');
      if (json) return printJson(items);
      printTable(items, [
        { key: 'id', label: 'id' },
        { key: 'name', label: 'name' },
        { key: 'eligible', label: 'eligible' },
        { key: 'createdAt', label: 'created' },
      ]);
    });

  cmd
    .command('get')
    .description('an account and its settings')
    .argument('<account>', 'account id')
    .action(async (account: string) => {
      const { client, json } = globals();
      const body = await client.request('GET', `/v1/accounts/${encodeURIComponent(account)}`);
      if (json) printJson(body);
      else printAccount(body);
    });

  const b = SETTING_BOUNDS;
  cmd
    .command('settings')
    .description('change account settings')
    .argument('<account>', 'account id')
    .option('--access-token-ttl <seconds>', 'access token lifetime', integer(b.accessTokenTtl.min, b.accessTokenTtl.max))
    .option('--key-lifetime <seconds|none>', 'default lifetime of new and reset secrets ("none": no expiry)', (v) =>
      v === 'none' ? null : integer(b.keyLifetime.min, b.keyLifetime.max)(v),
    )
    .option('--key-limit <n>', 'keys per environment', integer(b.keyLimitPerEnvironment.min, b.keyLimitPerEnvironment.max))
    .addOption(new Option('--secret-reveal <policy>', 'whether secrets can be revealed later').choices(SECRET_REVEAL_POLICIES))
    .option('--default-active-rest <bool>', 'new client_secret keys start active', boolean)
    .option('--default-active-token <bool>', 'new token keys start active', boolean)
    .option('--expiry-notice-days <days|none>', 'days before expiry a key.expiring reminder goes out, comma-separated (e.g. 30,7,1; "none": no reminders)', noticeDays)
    .addOption(new Option('--leak-response <response>', 'what a key reported leaked gets: switched off with its tokens revoked, or kept working').choices(LEAK_RESPONSES))
    .option('--credits-low-threshold <n>', 'credits left at which key.credits_low is sent', integer(b.creditsLowThreshold.min, b.creditsLowThreshold.max))
    .action(async (account: string, opts: Record<string, unknown>) => {
      const { client, json } = globals();
      const patch: Record<string, unknown> = {};
      if (opts.accessTokenTtl !== undefined) patch.accessTokenTtl = opts.accessTokenTtl;
      if (opts.keyLifetime !== undefined) patch.keyLifetime = opts.keyLifetime;
      if (opts.keyLimit !== undefined) patch.keyLimitPerEnvironment = opts.keyLimit;
      if (opts.secretReveal !== undefined) patch.secretReveal = opts.secretReveal;
      if (opts.expiryNoticeDays !== undefined) patch.expiryNoticeDays = opts.expiryNoticeDays;
      if (opts.leakResponse !== undefined) patch.leakResponse = opts.leakResponse;
      if (opts.creditsLowThreshold !== undefined) patch.creditsLowThreshold = opts.creditsLowThreshold;
      const defaultActive: Record<string, unknown> = {};
      if (opts.defaultActiveRest !== undefined) defaultActive.client_secret = opts.defaultActiveRest;
      if (opts.defaultActiveToken !== undefined) defaultActive.token = opts.defaultActiveToken;
      if (Object.keys(defaultActive).length) patch.defaultActive = defaultActive;
      if (Object.keys(patch).length === 0) cmd.error('error: name at least one setting to change (see --help)', { exitCode: 2 });
      const body = await client.request('PATCH', `/v1/accounts/${encodeURIComponent(account)}/settings`, patch);
      if (json) printJson(body);
      else printAccount(body);
    });

  return cmd;
}

/** `30,7,1` or `none`: the expiry reminder thresholds, in days. */
function noticeDays(value: string): number[] {
  if (value.trim() === 'none') return [];
  const { min, max, maxItems } = SETTING_BOUNDS.expiryNoticeDays;
  const days = value.split(',').map((part) => integer(min, max)(part.trim()));
  if (days.length > maxItems) throw new InvalidArgumentError(`at most ${maxItems} thresholds.`);
  if (new Set(days).size !== days.length) throw new InvalidArgumentError('each threshold once.');
  return days;
}
