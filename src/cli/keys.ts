import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { ApiClient } from './client.js';
import { CliError } from './client.js';
import { printFields, printJson, printTable } from './output.js';
import { dateTime, integer, list, requireYes, role } from './parse.js';

type Globals = () => { client: ApiClient; json: boolean };

const KEY_COLUMNS = [
  { key: 'id', label: 'id' },
  { key: 'name', label: 'name' },
  { key: 'environment', label: 'env' },
  { key: 'kind', label: 'kind' },
  { key: 'credentialType', label: 'type' },
  { key: 'active', label: 'active' },
  { key: 'channel', label: 'channel' },
  { key: 'clientId', label: 'client id' },
  { key: 'createdAt', label: 'created' },
];

function printKey(key: any): void {
  printFields([
    ['id', key.id],
    ['name', key.name],
    ['environment', key.environment],
    ['kind', key.kind],
    ['credential type', key.credentialType],
    ['client id', key.clientId],
    ['active', key.active],
    ['has secret', key.hasSecret],
    ['scopes', key.scopes.join(' ') || '-'],
    ['roles', key.roles.map((r: any) => `${r.definition}:${r.level}`).join(' ') || '-'],
    ['granted scopes', key.grantedScopes.join(' ') || '-'],
    ['channel', key.channel],
    ['expires', key.expiresAt ?? 'never'],
    ['previous secret valid until', key.previousSecretExpiresAt],
    ['created', key.createdAt],
    ['updated', key.updatedAt],
    ['last used', key.lastUsedAt ?? 'never'],
  ]);
}

/** Prints a freshly issued secret, loudly: it is shown this once. */
function printIssued(issued: { key: any; secret: string | null }, json: boolean): void {
  if (json) return printJson(issued);
  printKey(issued.key);
  if (issued.secret) {
    const label = issued.key.credentialType === 'token' ? 'API key' : 'client secret';
    process.stdout.write(`\n${label}: ${issued.secret}\n\nStore it now: it is shown this once and cannot be displayed again.\n`);
  }
}

const keyPath = (account: string, key?: string) =>
  `/v1/accounts/${encodeURIComponent(account)}/keys${key ? `/${encodeURIComponent(key)}` : ''}`;

/** `keyport keys ...` */
export function keysCommand(globals: Globals): Command {
  const cmd = new Command('keys').description('create, list, change, renew and delete API keys');
  const account = new Option('-a, --account <account>', 'account id').env('KEYPORT_ACCOUNT').makeOptionMandatory();
  const environment = new Option('-e, --environment <environment>', 'sandbox or production').choices(['sandbox', 'production']);

  cmd
    .command('list')
    .description('list keys: filter, search, sort, page')
    .addOption(account)
    .addOption(environment)
    .addOption(new Option('--kind <kind>').choices(['admin', 'storefront', 'custom']))
    .addOption(new Option('--type <credentialType>', 'credential type').choices(['client_secret', 'token']))
    .option('--active', 'active keys only')
    .option('--inactive', 'inactive keys only')
    .option('--channel <channel>', 'keys bound to this sales channel')
    .option('-q, --search <text>', 'part of the name (case-insensitive)')
    .option('--created-from <date>', 'created at or after', dateTime)
    .option('--created-to <date>', 'created at or before', dateTime)
    .option('--updated-from <date>', 'updated at or after', dateTime)
    .option('--updated-to <date>', 'updated at or before', dateTime)
    .addOption(new Option('--sort <field>', "name, active, createdAt or updatedAt; '-' prefix for descending").default('-createdAt'))
    .option('--limit <n>', 'keys per page (1-200)', integer(1, 200), 50)
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--all', 'follow every page')
    .action(async (opts) => {
      const { client, json } = globals();
      if (opts.active && opts.inactive) throw new CliError('--active and --inactive exclude each other.', 2);
      const params = new URLSearchParams();
      const set = (name: string, value: unknown) => value !== undefined && params.set(name, String(value));
      set('environment', opts.environment);
      set('kind', opts.kind);
      set('credentialType', opts.type);
      set('active', opts.active ? true : opts.inactive ? false : undefined);
      set('channel', opts.channel);
      set('q', opts.search);
      set('createdFrom', opts.createdFrom);
      set('createdTo', opts.createdTo);
      set('updatedFrom', opts.updatedFrom);
      set('updatedTo', opts.updatedTo);
      set('sort', opts.sort);
      set('limit', opts.limit);
      set('cursor', opts.cursor);
      const items: any[] = [];
      let nextCursor: string | null = null;
      do {
        if (nextCursor) params.set('cursor', nextCursor);
        const page: { items: any[]; nextCursor: string | null } = await client.request('GET', `${keyPath(opts.account)}?${params}`);
        items.push(...page.items);
        nextCursor = page.nextCursor;
      } while (opts.all && nextCursor);
      if (json) return printJson({ items, nextCursor });
      printTable(items, KEY_COLUMNS);
      if (nextCursor) process.stdout.write(`\nMore keys: --cursor ${nextCursor}  (or --all)\n`);
    });

  cmd
    .command('create')
    .description('create a key; prints its secret once')
    .addOption(account)
    .requiredOption('-n, --name <name>', 'a name for people')
    .addOption(new Option('-e, --environment <environment>', 'sandbox or production').choices(['sandbox', 'production']).makeOptionMandatory())
    .addOption(new Option('--kind <kind>', 'admin: every scope; storefront: the public set; custom: what you pick').choices(['admin', 'storefront', 'custom']).default('custom'))
    .addOption(new Option('--type <credentialType>', 'client_secret (client id + secret) or token (one bearer key)').choices(['client_secret', 'token']).default('client_secret'))
    .option('--scopes <list>', 'comma-separated scopes (custom keys)', list)
    .option('--role <definition:level>', 'a role, e.g. product_data:editor (repeatable; custom keys)', role)
    .option('--channel <channel>', 'bind the key to a sales channel')
    .option('--active', 'start active')
    .option('--inactive', 'start inactive')
    .option('--expires-at <date>', 'when the secret expires (default: the account key lifetime)', dateTime)
    .option('--no-expiry', 'the secret never expires')
    .action(async (opts) => {
      const { client, json } = globals();
      if (opts.active && opts.inactive) throw new CliError('--active and --inactive exclude each other.', 2);
      const body: Record<string, unknown> = {
        name: opts.name,
        environment: opts.environment,
        kind: opts.kind,
        credentialType: opts.type,
      };
      if (opts.scopes) body.scopes = opts.scopes;
      if (opts.role) body.roles = opts.role;
      if (opts.channel) body.channel = opts.channel;
      if (opts.active || opts.inactive) body.active = Boolean(opts.active);
      if (opts.expiresAt) body.expiresAt = opts.expiresAt;
      if (opts.expiry === false) body.expiresAt = null;
      printIssued(await client.request('POST', keyPath(opts.account), body), json);
    });

  cmd
    .command('get')
    .description('one key')
    .argument('<key>', 'key id')
    .addOption(account)
    .action(async (key: string, opts) => {
      const { client, json } = globals();
      const body = await client.request('GET', keyPath(opts.account, key));
      if (json) printJson(body);
      else printKey(body);
    });

  cmd
    .command('update')
    .description('rename, switch on or off, change channel, scopes, roles or expiry')
    .argument('<key>', 'key id')
    .addOption(account)
    .option('-n, --name <name>', 'new name')
    .option('--active', 'switch on')
    .option('--inactive', 'switch off')
    .option('--channel <channel>', 'bind to a sales channel')
    .option('--no-channel', 'unbind from its channel')
    .option('--scopes <list>', 'replace the picked scopes', list)
    .option('--role <definition:level>', 'replace the roles (repeatable)', role)
    .option('--expires-at <date>', 'new expiry', dateTime)
    .option('--no-expiry', 'never expires')
    .action(async (key: string, opts) => {
      const { client, json } = globals();
      if (opts.active && opts.inactive) throw new CliError('--active and --inactive exclude each other.', 2);
      const body: Record<string, unknown> = {};
      if (opts.name !== undefined) body.name = opts.name;
      if (opts.active || opts.inactive) body.active = Boolean(opts.active);
      if (typeof opts.channel === 'string') body.channel = opts.channel;
      if (opts.channel === false) body.channel = null;
      if (opts.scopes) body.scopes = opts.scopes;
      if (opts.role) body.roles = opts.role;
      if (opts.expiresAt) body.expiresAt = opts.expiresAt;
      if (opts.expiry === false) body.expiresAt = null;
      if (Object.keys(body).length === 0) throw new CliError('Name at least one thing to change (see keyport keys update --help).', 2);
      const updated = await client.request('PATCH', keyPath(opts.account, key), body);
      if (json) printJson(updated);
      else printKey(updated);
    });

  cmd
    .command('delete')
    .description('delete a key')
    .argument('<key>', 'key id')
    .addOption(account)
    .option('--revoke-tokens', 'also stop access tokens already issued with it')
    .option('-y, --yes', 'confirm: deleting cannot be undone')
    .action(async (key: string, opts) => {
      const { client, json } = globals();
      requireYes(opts, 'Deleting a key');
      await client.request('DELETE', `${keyPath(opts.account, key)}${opts.revokeTokens ? '?revokeTokens=true' : ''}`);
      if (json) printJson({ deleted: [key] });
      else process.stdout.write(`Deleted ${key}.\n`);
    });

  cmd
    .command('batch-delete')
    .description('delete several keys at once (all or nothing)')
    .argument('<keys...>', 'key ids')
    .addOption(account)
    .option('--revoke-tokens', 'also stop access tokens already issued with them')
    .option('-y, --yes', 'confirm: deleting cannot be undone')
    .action(async (keys: string[], opts) => {
      const { client, json } = globals();
      requireYes(opts, `Deleting ${keys.length} key${keys.length === 1 ? '' : 's'}`);
      const body = await client.request('POST', `${keyPath(opts.account)}/batch-delete`, {
        ids: keys,
        confirm: true,
        revokeTokens: Boolean(opts.revokeTokens),
      });
      if (json) printJson(body);
      else process.stdout.write(`Deleted ${body.deleted.length} key${body.deleted.length === 1 ? '' : 's'}: ${body.deleted.join(', ')}\n`);
    });

  cmd
    .command('reset-secret')
    .description('a new secret, printed once; the old one stops now or after --previous-valid-for')
    .argument('<key>', 'key id')
    .addOption(account)
    .option('--previous-valid-for <seconds>', 'keep the old secret working this long (max 7 days)', integer(0, 7 * 86_400))
    .option('-y, --yes', 'confirm: the current secret is replaced irrevocably')
    .action(async (key: string, opts) => {
      const { client, json } = globals();
      requireYes(opts, 'Resetting a secret');
      const body: Record<string, unknown> = { confirm: true };
      if (opts.previousValidFor !== undefined) body.previousSecretValidFor = opts.previousValidFor;
      printIssued(await client.request('POST', `${keyPath(opts.account, key)}/reset-secret`, body), json);
    });

  cmd
    .command('regenerate')
    .description('a new client id and secret, printed once; the old pair stops at once')
    .argument('<key>', 'key id')
    .addOption(account)
    .option('--revoke-tokens', 'also stop access tokens already issued')
    .option('-y, --yes', 'confirm: the current credentials are replaced irrevocably')
    .action(async (key: string, opts) => {
      const { client, json } = globals();
      requireYes(opts, 'Regenerating a key');
      printIssued(
        await client.request('POST', `${keyPath(opts.account, key)}/regenerate`, { confirm: true, revokeTokens: Boolean(opts.revokeTokens) }),
        json,
      );
    });

  cmd
    .command('verify-secret')
    .description('check a secret against the key (exit 0: matches, 1: does not)')
    .argument('<key>', 'key id')
    .addOption(account)
    .option('--secret <secret>', 'the candidate (read from standard input when omitted, which keeps it out of shell history)')
    .action(async (key: string, opts) => {
      const { client, json } = globals();
      const secret = (opts.secret ?? readFileSync(0, 'utf8')).trim();
      if (!secret) throw new CliError('No secret given: pass --secret or pipe it on standard input.', 2);
      const { matches } = await client.request('POST', `${keyPath(opts.account, key)}/verify-secret`, { secret });
      if (json) printJson({ matches });
      else process.stdout.write(matches ? 'The secret matches the key.\n' : 'The secret does NOT match the key.\n');
      if (!matches) process.exitCode = 1;
    });

  cmd
    .command('quickstart')
    .description('ready-to-run samples for the key')
    .argument('<key>', 'key id')
    .addOption(account)
    .addOption(new Option('--language <language>', 'only this sample').choices(['curl', 'javascript', 'python', 'gateway']))
    .action(async (key: string, opts) => {
      const { client, json } = globals();
      const body = await client.request('GET', `${keyPath(opts.account, key)}/quickstart`);
      const samples = body.samples.filter((s: any) => !opts.language || s.language === opts.language);
      if (json) return printJson(samples);
      for (const s of samples) process.stdout.write(`# ${s.language}: ${s.title}\n${s.code}\n\n`);
    });

  return cmd;
}
