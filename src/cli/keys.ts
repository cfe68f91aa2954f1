import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { ApiClient } from './client.js';
import { CliError } from './client.js';
import { printFields, printJson, printTable } from './output.js';
import { dateTime, integer, list, requireYes, role } from './parse.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, QUICKSTART_LANGUAGES, type CreateKeyInput, type IssuedKey, type Key, type UpdateKeyInput } from '../contract/keys.js';
import { CREDENTIAL_TYPES, ENVIRONMENTS, KINDS } from '../domain/environment.js';
import { MAX_PREVIOUS_SECRET_VALID_FOR } from '../domain/model.js';
import { DEFAULT_SORT, SORT_FIELDS } from '../domain/sort-fields.js';
import { MAX_CREDITS, type CreditsInput } from '../domain/usage-controls.js';

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

function printKey(key: Key): void {
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
    ['roles', key.roles.map((r) => `${r.definition}:${r.level}`).join(' ') || '-'],
    ['granted scopes', key.grantedScopes.join(' ') || '-'],
    ['channel', key.channel],
    ['expires', key.expiresAt ?? 'never'],
    ['previous secret valid until', key.previousSecretExpiresAt],
    ['created', key.createdAt],
    ['updated', key.updatedAt],
    ['last used', key.lastUsedAt ?? 'never'],
    ['rate limit', key.rateLimit ? `${key.rateLimit.limit} per ${key.rateLimit.windowSeconds} s` : 'none'],
    ['ip allowlist', key.ipAllowlist?.join(' ') ?? 'anywhere'],
    ['credits', key.credits === null ? 'unlimited' : describeCredits(key.credits)],
    ['external id', key.externalId],
    ['meta', key.meta],
    ['leak reported', key.leak === null ? 'no' : `${key.leak.reportedAt}${key.leak.source ? ` by ${key.leak.source}` : ''}${key.leak.url ? ` at ${key.leak.url}` : ''}`],
  ]);
}

function describeCredits(credits: NonNullable<Key['credits']>): string {
  const refill = credits.refill;
  if (refill === null) return `${credits.remaining} left, no refill`;
  const when = refill.interval === 'day' ? 'every day' : `every month on day ${refill.dayOfMonth ?? 1}`;
  return `${credits.remaining} left, refilled to ${refill.amount} ${when} (next ${credits.nextRefillAt})`;
}

/** `--sort name` or `--sort -lastUsedAt`: a field of SORT_FIELDS, '-' for descending. */
function sortOption(value: string): string {
  const field = value.startsWith('-') ? value.slice(1) : value;
  if (!(SORT_FIELDS as readonly string[]).includes(field))
    throw new InvalidArgumentError(`must be one of ${SORT_FIELDS.join(', ')}, with a leading '-' to sort descending (e.g. -createdAt).`);
  return value;
}

/** `--meta '{"plan":"pro"}'`: a JSON object. */
function metaOption(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('must be a JSON object, e.g. \'{"plan":"pro"}\'.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError('must be a JSON object, e.g. \'{"plan":"pro"}\'.');
  return parsed as Record<string, unknown>;
}

/** `--refill 1000/day` or `--refill 1000/month` or `--refill 1000/month:15`. */
function refillOption(value: string): NonNullable<CreditsInput['refill']> {
  const m = /^(\d+)\/(day|month)(?::(\d+))?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('must be <amount>/day, <amount>/month or <amount>/month:<day of the month>, e.g. 1000/month:15.');
  const amount = Number(m[1]);
  if (m[2] === 'day' && m[3] !== undefined) throw new InvalidArgumentError('a daily refill has no day of the month: use <amount>/day.');
  return m[2] === 'day' ? { amount, interval: 'day' } : m[3] === undefined ? { amount, interval: 'month' } : { amount, interval: 'month', dayOfMonth: Number(m[3]) };
}

/** The usage-control options of create and update, as body fields (only those given). */
function usageControls(opts: Record<string, unknown>, current?: Key): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (Array.isArray(opts.ipAllowlist)) body.ipAllowlist = opts.ipAllowlist;
  if (opts.ipAllowlist === false) body.ipAllowlist = null;
  if (opts.credits === false) body.credits = null;
  else if (opts.credits !== undefined || opts.refill !== undefined || opts.noRefill) {
    // A top-up keeps the refill unless told otherwise, and a new refill keeps the count.
    const remaining = (opts.credits as number | undefined) ?? current?.credits?.remaining;
    if (remaining === undefined) throw new CliError('--refill needs --credits on a key that has no credits yet.', 2);
    const refill = opts.noRefill ? null : ((opts.refill as CreditsInput['refill']) ?? current?.credits?.refill ?? null);
    body.credits = refill === null ? { remaining } : { remaining, refill };
  }
  if (opts.meta !== undefined) body.meta = opts.meta === false ? null : opts.meta;
  if (typeof opts.externalId === 'string') body.externalId = opts.externalId;
  if (opts.externalId === false) body.externalId = null;
  return body;
}

/** Prints a freshly issued secret, loudly: it is shown this once. */
function printIssued(issued: IssuedKey, json: boolean, created?: { account: string; askedInactive: boolean }): void {
  if (json) return printJson(issued);
  printKey(issued.key);
  if (issued.secret) {
    const label = issued.key.credentialType === 'token' ? 'API key' : 'client secret';
    process.stdout.write(`\n${label}: ${issued.secret}\n\nStore it now: it is shown this once and cannot be displayed again.\n`);
  }
  if (created && !issued.key.active) process.stdout.write(`\n${inactiveNote(issued.key, created.account, created.askedInactive)}\n`);
}

/** Why a new key is off, and the command that switches it on: "active: false" alone reads as a fault. */
function inactiveNote(key: Key, account: string, askedInactive: boolean): string {
  const switchOn = `keyport keys update ${key.id} -a ${account} --active`;
  if (askedInactive) return `The key is inactive, as asked (--inactive): it works once switched on with\n  ${switchOn}`;
  const kind = key.credentialType === 'token' ? 'token' : 'REST (client_secret)';
  const setting = key.credentialType === 'token' ? '--default-active-token' : '--default-active-rest';
  return [
    `The key is inactive: this account starts new ${kind} keys inactive, so a key is not live before someone means it to be.`,
    `It is refused until switched on:\n  ${switchOn}`,
    `(Create with --active to start it on, or change the default: keyport accounts settings ${account} ${setting} true.)`,
  ].join('\n');
}


/** `keyport keys ...` */
export function keysCommand(globals: Globals): Command {
  const cmd = new Command('keys').description('create, list, change, renew and delete API keys');
  const account = new Option('-a, --account <account>', 'account id').env('KEYPORT_ACCOUNT').makeOptionMandatory();
  const environment = new Option('-e, --environment <environment>', ENVIRONMENTS.join(' or ')).choices(ENVIRONMENTS);

  cmd
    .command('list')
    .description('list keys: filter, search, sort, page')
    .addOption(account)
    .addOption(environment)
    .addOption(new Option('--kind <kind>').choices(KINDS))
    .addOption(new Option('--type <credentialType>', 'credential type').choices(CREDENTIAL_TYPES))
    .option('--active', 'active keys only')
    .option('--inactive', 'inactive keys only')
    .option('--channel <channel>', 'keys bound to this sales channel')
    .option('-q, --search <text>', 'part of the name (case-insensitive)')
    .option('--created-from <date>', 'created at or after', dateTime)
    .option('--created-to <date>', 'created at or before', dateTime)
    .option('--updated-from <date>', 'updated at or after', dateTime)
    .option('--updated-to <date>', 'updated at or before', dateTime)
    .option('--external-id <id>', "keys of this owner (the customer's own id)")
    .option('--unused-since <date>', 'keys not used since then (never used, or last used before it)', dateTime)
    .option('--expires-before <date>', 'keys that expire (or expired) before then', dateTime)
    .option('--expires-after <date>', 'keys that expire after then', dateTime)
    .option('--expires-within <days>', 'keys that have not expired and expire within this many days (sets both of the above)', integer(1, 3660))
    .option('--sort <field>', `sort by ${SORT_FIELDS.join(', ')}; a leading '-' sorts descending, e.g. -lastUsedAt`, sortOption, DEFAULT_SORT)
    .option('--limit <n>', `keys per page (1-${MAX_PAGE_SIZE})`, integer(1, MAX_PAGE_SIZE), DEFAULT_PAGE_SIZE)
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--all', 'follow every page')
    .action(async (opts) => {
      const { client, json } = globals();
      if (opts.active && opts.inactive) throw new CliError('--active and --inactive exclude each other.', 2);
      if (opts.expiresWithin !== undefined && (opts.expiresBefore !== undefined || opts.expiresAfter !== undefined))
        throw new CliError('--expires-within sets --expires-before and --expires-after: give one or the others.', 2);
      const now = Date.now();
      const query = {
        environment: opts.environment,
        kind: opts.kind,
        credentialType: opts.type,
        active: opts.active ? true : opts.inactive ? false : undefined,
        channel: opts.channel,
        q: opts.search,
        createdFrom: opts.createdFrom,
        createdTo: opts.createdTo,
        updatedFrom: opts.updatedFrom,
        updatedTo: opts.updatedTo,
        externalId: opts.externalId,
        unusedSince: opts.unusedSince,
        expiresBefore: opts.expiresWithin !== undefined ? new Date(now + opts.expiresWithin * 86_400_000).toISOString() : opts.expiresBefore,
        expiresAfter: opts.expiresWithin !== undefined ? new Date(now).toISOString() : opts.expiresAfter,
        sort: opts.sort,
        limit: opts.limit,
      };
      const items: Key[] = [];
      let nextCursor: string | null = opts.cursor ?? null;
      do {
        const page = await client.api.keys.list(opts.account, { ...query, cursor: nextCursor ?? undefined });
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
    .addOption(new Option('-e, --environment <environment>', ENVIRONMENTS.join(' or ')).choices(ENVIRONMENTS).makeOptionMandatory())
    .addOption(new Option('--kind <kind>', 'admin: every scope; storefront: the public set; custom: what you pick').choices(KINDS).default('custom'))
    .addOption(new Option('--type <credentialType>', 'client_secret (client id + secret) or token (one bearer key)').choices(CREDENTIAL_TYPES).default('client_secret'))
    .option('--scopes <list>', 'comma-separated scopes (custom keys)', list)
    .option('--role <definition:level>', 'a role, e.g. product_data:editor (repeatable; custom keys)', role)
    .option('--channel <channel>', 'bind the key to a sales channel')
    .option('--active', 'start active')
    .option('--inactive', 'start inactive')
    .option('--expires-at <date>', 'when the secret expires (default: the account key lifetime)', dateTime)
    .option('--no-expiry', 'the secret never expires')
    .option('--ip-allowlist <list>', 'comma-separated addresses and CIDR ranges the key may be used from', list)
    .option('--credits <n>', 'credits the key may spend (default: unlimited)', integer(0, MAX_CREDITS))
    .option('--refill <amount/interval>', 'refill the credits: 1000/day, 1000/month or 1000/month:15', refillOption)
    .option('--meta <json>', 'a JSON object returned on verification, e.g. \'{"plan":"pro"}\'', metaOption)
    .option('--external-id <id>', "the customer's own id for the key's owner")
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
      Object.assign(body, usageControls(opts));
      const issued = await client.api.keys.create(opts.account, body as unknown as CreateKeyInput);
      printIssued(issued, json, { account: opts.account, askedInactive: Boolean(opts.inactive) });
    });

  cmd
    .command('get')
    .description('one key')
    .argument('<key>', 'key id')
    .addOption(account)
    .action(async (key: string, opts) => {
      const { client, json } = globals();
      const body = await client.api.keys.get(opts.account, key);
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
    .option('--ip-allowlist <list>', 'replace the addresses and CIDR ranges the key may be used from', list)
    .option('--no-ip-allowlist', 'the key may be used from anywhere')
    .option('--credits <n>', 'top up: the credits left become n (the refill is kept)', integer(0, MAX_CREDITS))
    .option('--no-credits', 'unlimited use')
    .option('--refill <amount/interval>', 'the refill: 1000/day, 1000/month or 1000/month:15', refillOption)
    .option('--no-refill', 'no refill')
    .option('--meta <json>', 'replace the JSON object returned on verification', metaOption)
    .option('--no-meta', 'no metadata')
    .option('--external-id <id>', "the customer's own id for the key's owner")
    .option('--no-external-id', 'no owner id')
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
      // commander spells --no-refill as refill: false.
      const controls = { ...opts, noRefill: opts.refill === false, refill: opts.refill === false ? undefined : opts.refill };
      const needsCurrent = (opts.credits !== undefined && opts.credits !== false) || controls.refill !== undefined || controls.noRefill;
      Object.assign(body, usageControls(controls, needsCurrent ? await client.api.keys.get(opts.account, key) : undefined));
      if (Object.keys(body).length === 0) throw new CliError('Name at least one thing to change (see keyport keys update --help).', 2);
      const updated = await client.api.keys.update(opts.account, key, body as UpdateKeyInput);
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
      await client.api.keys.delete(opts.account, key, opts.revokeTokens ? { revokeTokens: true } : {});
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
      const body = await client.api.keys.batchDelete(opts.account, { ids: keys, confirm: true, revokeTokens: Boolean(opts.revokeTokens) });
      if (json) printJson(body);
      else process.stdout.write(`Deleted ${body.deleted.length} key${body.deleted.length === 1 ? '' : 's'}: ${body.deleted.join(', ')}\n`);
    });

  cmd
    .command('reset-secret')
    .description('a new secret, printed once; the old one stops now or after --previous-valid-for')
    .argument('<key>', 'key id')
    .addOption(account)
    .option('--previous-valid-for <seconds>', 'keep the old secret working this long (max 7 days)', integer(0, MAX_PREVIOUS_SECRET_VALID_FOR))
    .option('-y, --yes', 'confirm: the current secret is replaced irrevocably')
    .action(async (key: string, opts) => {
      const { client, json } = globals();
      requireYes(opts, 'Resetting a secret');
      const body = opts.previousValidFor === undefined ? { confirm: true } : { confirm: true, previousSecretValidFor: opts.previousValidFor as number };
      printIssued(await client.api.keys.resetSecret(opts.account, key, body), json);
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
        await client.api.keys.regenerate(opts.account, key, { confirm: true, revokeTokens: Boolean(opts.revokeTokens) }),
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
      const { matches } = await client.api.keys.verifySecret(opts.account, key, secret);
      if (json) printJson({ matches });
      else process.stdout.write(matches ? 'The secret matches the key.\n' : 'The secret does NOT match the key.\n');
      if (!matches) process.exitCode = 1;
    });

  cmd
    .command('quickstart')
    .description('ready-to-run samples for the key')
    .argument('<key>', 'key id')
    .addOption(account)
    .addOption(new Option('--language <language>', 'only this sample').choices(QUICKSTART_LANGUAGES))
    .action(async (key: string, opts) => {
      const { client, json } = globals();
      const body = await client.api.keys.quickstart(opts.account, key);
      const samples = body.samples.filter((s) => !opts.language || s.language === opts.language);
      if (json) return printJson(samples);
      for (const s of samples) process.stdout.write(`# ${s.language}: ${s.title}\n${s.code}\n\n`);
    });

  return cmd;
}
