import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { RoleAssignment } from '../domain/catalog.js';
import type { CredentialType, Environment, KeyKind } from '../domain/environment.js';
import type { Account, KeyCursor, KeyFilter, KeyRecord, KeySort } from '../domain/model.js';
import type { SortField } from '../domain/sort-fields.js';
import type { LeakResponse, SecretReveal } from '../domain/settings.js';
import type { KeyCredits } from '../domain/usage-controls.js';
import type { AccountsTable, ApiTokensTable, Database, Dialect, KeysTable } from './schema.js';
import type { Storage } from './database.js';
import { likeEscape, likeLiteral } from './like.js';
import { NodesRepository } from './node-repositories.js';
import { UsageRepository } from './usage-repositories.js';
import { KeyNoticesRepository } from './key-notice-repositories.js';
import { WebhookDeliveriesRepository, WebhookEndpointsRepository } from './webhook-repositories.js';
import { ClusterEventsRepository, SigningKeysRepository } from './oauth-repositories.js';
import { AuditRepository, CustomRolesRepository, GrantsRepository, MembershipsRepository, OperatorsRepository, SessionsRepository } from './operator-repositories.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** The store's reads by prepared statement (see Storage.read), and which placeholders they take. */
export interface PreparedReads {
  dialect: Dialect;
  read: Storage['read'];
}

/**
 * Every column of the keys table, spelled as Kysely's CamelCasePlugin spells them: a record over
 * the table's type, so a column added to the table and not here fails to compile.
 */
const KEY_COLUMN_SET: Record<keyof KeysTable, true> = {
  id: true, accountId: true, name: true, nameKey: true, environment: true, kind: true, credentialType: true,
  clientId: true, secretHash: true, previousSecretHash: true, previousSecretExpiresAt: true, scopes: true,
  roles: true, channel: true, active: true, expiresAt: true, createdAt: true, updatedAt: true,
  lastUsedAt: true, createdBy: true, secretEncrypted: true, rateLimit: true, rateLimitWindow: true,
  ipAllowlist: true, creditsRemaining: true, creditsRefillAmount: true, creditsRefillInterval: true,
  creditsRefillDay: true, creditsRefilledAt: true, meta: true, externalId: true, leakedAt: true,
  leakSource: true, leakUrl: true,
};
const KEY_COLUMNS = Object.keys(KEY_COLUMN_SET) as readonly (keyof KeysTable)[];
/**
 * A row of `select <KEY_COLUMNS>` as read by a prepared statement (an array, see Storage.read)
 * turned into the object Kysely would have made: a function made once from the column list, so
 * every row gets the same shape in one object literal.
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const keyRowOf = new Function('v', `return { ${KEY_COLUMNS.map((c, i) => `${c}: v[${i}]`).join(', ')} };`) as (values: unknown[]) => Selectable<KeysTable>;
const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * The key whose current secret, or else previous one, has the hash, in one statement: each branch
 * uses its own index (the unique one on secret_hash, keys_previous_secret_hash), so an unknown hash
 * costs two index probes and one round trip.
 */
const keyBySecretHash = (first: string, second: string) =>
  `select ${KEY_COLUMNS.map(snakeCase).join(', ')} from (select 0 as rank, keys.* from keys where secret_hash = ${first} union all select 1 as rank, keys.* from keys where previous_secret_hash = ${second}) found order by rank limit 1`;
const KEY_BY_SECRET_HASH = { sqlite: keyBySecretHash('?', '?'), postgres: keyBySecretHash('$1', '$1') };
/**
 * What a listing reads, in KEY_COLUMNS' order: not the encrypted secret, the previous secret's hash
 * or the lower-cased name (read as NULL: a listing never shows them), and of the secret's hash only
 * whether there is one (an empty string stands for it).
 */
const LIST_SELECT = KEY_COLUMNS.map((c) =>
  c === 'secretEncrypted' || c === 'previousSecretHash' || c === 'nameKey' ? 'null' : c === 'secretHash' ? "case when secret_hash is null then null else '' end" : snakeCase(c),
).join(', ');

/** The one repository layer over both dialects. Services see only these methods, never SQL. */
export class Repositories {
  readonly accounts: AccountsRepository;
  readonly keys: KeysRepository;
  readonly apiTokens: ApiTokensRepository;
  readonly signingKeys: SigningKeysRepository;
  readonly clusterEvents: ClusterEventsRepository;
  readonly operators: OperatorsRepository;
  readonly memberships: MembershipsRepository;
  readonly customRoles: CustomRolesRepository;
  readonly sessions: SessionsRepository;
  readonly grants: GrantsRepository;
  readonly audit: AuditRepository;
  readonly usage: UsageRepository;
  readonly keyNotices: KeyNoticesRepository;
  readonly nodes: NodesRepository;
  readonly webhookEndpoints: WebhookEndpointsRepository;
  readonly webhookDeliveries: WebhookDeliveriesRepository;

  /**
   * `afterCommit` collects what must run once the transaction these repositories write in has
   * committed; absent outside a transaction.
   */
  constructor(
    db: Executor,
    private readonly afterCommit?: (() => Promise<void>)[],
    reads?: PreparedReads,
  ) {
    this.usage = new UsageRepository(db);
    this.keyNotices = new KeyNoticesRepository(db);
    this.nodes = new NodesRepository(db);
    this.webhookEndpoints = new WebhookEndpointsRepository(db);
    this.webhookDeliveries = new WebhookDeliveriesRepository(db);
    this.operators = new OperatorsRepository(db);
    this.memberships = new MembershipsRepository(db);
    this.customRoles = new CustomRolesRepository(db);
    this.sessions = new SessionsRepository(db);
    this.grants = new GrantsRepository(db);
    this.audit = new AuditRepository(db);
    this.accounts = new AccountsRepository(db);
    this.keys = new KeysRepository(db, reads);
    this.apiTokens = new ApiTokensRepository(db);
    this.signingKeys = new SigningKeysRepository(db);
    this.clusterEvents = new ClusterEventsRepository(db);
  }

  /** True inside `Store.transaction`: every write lands with the others, or none does. */
  get inTransaction(): boolean {
    return this.afterCommit !== undefined;
  }

  /** Runs `task` after the transaction has committed (never if it rolls back). Transactions only. */
  onCommit(task: () => Promise<void>): void {
    if (this.afterCommit === undefined) throw new Error('onCommit outside a transaction');
    this.afterCommit.push(task);
  }
}

/** The store as services use it: repositories, and transactions over them. */
export class Store {
  readonly repos: Repositories;
  /** The same repositories on the node's background connections (see Storage.background). */
  readonly background: Repositories;
  constructor(readonly storage: Storage) {
    this.repos = new Repositories(storage.db, undefined, { dialect: storage.dialect, read: (text, params) => storage.read(text, params) });
    this.background = new Repositories(storage.background);
  }
  /**
   * Runs `fn` in one transaction: all of its writes land, or none. What `fn` asked to run after the
   * commit (`repos.onCommit`) runs before this returns.
   */
  async transaction<T>(fn: (repos: Repositories) => Promise<T>): Promise<T> {
    const afterCommit: (() => Promise<void>)[] = [];
    const result = await this.storage.db.transaction().execute((trx) => fn(new Repositories(trx, afterCommit)));
    for (const task of afterCommit) await task();
    return result;
  }
}

// ---------------------------------------------------------------------------------------------

const toAccount = (row: Selectable<AccountsTable>): Account => ({
  id: row.id,
  name: row.name,
  eligible: row.eligible === 1,
  settings: {
    accessTokenTtl: row.accessTokenTtl,
    keyLifetime: row.keyLifetime,
    keyLimitPerEnvironment: row.keyLimitPerEnvironment,
    secretReveal: row.secretReveal as SecretReveal,
    defaultActive: { client_secret: row.defaultActiveClientSecret === 1, token: row.defaultActiveToken === 1 },
    expiryNoticeDays: JSON.parse(row.expiryNoticeDays) as number[],
    leakResponse: row.leakResponse as LeakResponse,
    creditsLowThreshold: Number(row.creditsLowThreshold),
  },
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

const fromAccount = (a: Account): AccountsTable => ({
  id: a.id,
  name: a.name,
  eligible: a.eligible ? 1 : 0,
  accessTokenTtl: a.settings.accessTokenTtl,
  keyLifetime: a.settings.keyLifetime,
  keyLimitPerEnvironment: a.settings.keyLimitPerEnvironment,
  secretReveal: a.settings.secretReveal,
  defaultActiveClientSecret: a.settings.defaultActive.client_secret ? 1 : 0,
  defaultActiveToken: a.settings.defaultActive.token ? 1 : 0,
  expiryNoticeDays: JSON.stringify(a.settings.expiryNoticeDays),
  leakResponse: a.settings.leakResponse,
  creditsLowThreshold: a.settings.creditsLowThreshold,
  createdAt: a.createdAt,
  updatedAt: a.updatedAt,
});

export class AccountsRepository {
  constructor(private readonly db: Executor) {}

  async insert(account: Account): Promise<void> {
    await this.db.insertInto('accounts').values(fromAccount(account)).execute();
  }

  async find(id: string): Promise<Account | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toAccount(row);
  }

  /** All accounts, or the given ones, oldest first. */
  async list(ids?: readonly string[]): Promise<Account[]> {
    if (ids && ids.length === 0) return [];
    let query = this.db.selectFrom('accounts').selectAll().orderBy('createdAt').orderBy('id');
    if (ids) query = query.where('id', 'in', ids);
    return (await query.execute()).map(toAccount);
  }

  async update(account: Account): Promise<void> {
    const { id, ...rest } = fromAccount(account);
    await this.db.updateTable('accounts').set(rest).where('id', '=', id).execute();
  }

  /**
   * Takes the account's row lock until the transaction ends (PostgreSQL), so that checks like the
   * key limit are serialised per account. SQLite serialises whole write transactions anyway.
   * Returns false when the account does not exist.
   */
  async lock(id: string): Promise<boolean> {
    const result = await this.db.updateTable('accounts').set({ id }).where('id', '=', id).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

// ---------------------------------------------------------------------------------------------

const toCredits = (row: Selectable<KeysTable>): KeyCredits | null =>
  row.creditsRemaining === null
    ? null
    : {
        remaining: row.creditsRemaining,
        refill:
          row.creditsRefillAmount === null
            ? null
            : row.creditsRefillInterval === 'day'
              ? { amount: row.creditsRefillAmount, interval: 'day' }
              : { amount: row.creditsRefillAmount, interval: 'month', dayOfMonth: row.creditsRefillDay ?? 1 },
        refilledAt: row.creditsRefilledAt ?? 0,
      };

/**
 * Reads a key row. `parse` reads its JSON columns: a listing passes one that remembers the texts of
 * its page, so rows with the same scopes or roles (most of a page) share one parsed array.
 */
const toKey = (row: Selectable<KeysTable>, parse: (text: string) => unknown = JSON.parse): KeyRecord => ({
  id: row.id,
  accountId: row.accountId,
  name: row.name,
  environment: row.environment as Environment,
  kind: row.kind as KeyKind,
  credentialType: row.credentialType as CredentialType,
  clientId: row.clientId,
  secretHash: row.secretHash,
  previousSecretHash: row.previousSecretHash,
  previousSecretExpiresAt: row.previousSecretExpiresAt,
  scopes: parse(row.scopes) as string[],
  roles: parse(row.roles) as RoleAssignment[],
  channel: row.channel,
  active: row.active === 1,
  expiresAt: row.expiresAt,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
  lastUsedAt: row.lastUsedAt,
  createdBy: row.createdBy,
  rateLimit: row.rateLimit === null || row.rateLimitWindow === null ? null : { limit: row.rateLimit, windowSeconds: row.rateLimitWindow },
  secretEncrypted: row.secretEncrypted,
  ipAllowlist: row.ipAllowlist === null ? null : (JSON.parse(row.ipAllowlist) as string[]),
  credits: toCredits(row),
  meta: row.meta === null ? null : (JSON.parse(row.meta) as Record<string, unknown>),
  externalId: row.externalId,
  leak: row.leakedAt === null ? null : { reportedAt: row.leakedAt, source: row.leakSource, url: row.leakUrl },
});

/** The columns of a key's credits: only a top-up (setting them) and traffic's spend write them. */
const creditColumns = (credits: KeyCredits | null) => ({
  creditsRemaining: credits?.remaining ?? null,
  creditsRefillAmount: credits?.refill?.amount ?? null,
  creditsRefillInterval: credits?.refill?.interval ?? null,
  creditsRefillDay: credits?.refill?.interval === 'month' ? (credits.refill.dayOfMonth ?? 1) : null,
  creditsRefilledAt: credits?.refilledAt ?? null,
});

const fromKey = ({ rateLimit, ipAllowlist, credits, meta, leak, ...k }: KeyRecord): KeysTable => ({
  ...k,
  leakedAt: leak?.reportedAt ?? null,
  leakSource: leak?.source ?? null,
  leakUrl: leak?.url ?? null,
  nameKey: k.name.toLowerCase(),
  scopes: JSON.stringify(k.scopes),
  roles: JSON.stringify(k.roles),
  active: k.active ? 1 : 0,
  rateLimit: rateLimit?.limit ?? null,
  rateLimitWindow: rateLimit?.windowSeconds ?? null,
  ipAllowlist: ipAllowlist === null ? null : JSON.stringify(ipAllowlist),
  meta: meta === null ? null : JSON.stringify(meta),
  ...creditColumns(credits),
});

/** What spending credits found: the key has none (unlimited), enough (spent), or too few. */
export type CreditSpend = { kind: 'unlimited' } | { kind: 'spent'; remaining: number } | { kind: 'refused'; remaining: number };

/** The column each sort field reads. */
const SORT_COLUMN: Record<SortField, 'nameKey' | 'active' | 'channel' | 'createdAt' | 'updatedAt' | 'lastUsedAt' | 'creditsRemaining'> = {
  name: 'nameKey',
  active: 'active',
  channel: 'channel',
  createdAt: 'createdAt',
  updatedAt: 'updatedAt',
  lastUsedAt: 'lastUsedAt',
  credits: 'creditsRemaining',
};

/**
 * Sort columns that may hold NULL, and where NULL sorts: below every value (no channel, never
 * used: first ascending, last descending), or above (unlimited credits: the most there are).
 */
const NULLABLE_SORT_COLUMNS: ReadonlyMap<string, 'low' | 'high'> = new Map([
  ['channel', 'low'],
  ['lastUsedAt', 'low'],
  ['creditsRemaining', 'high'],
]);

/** The value of a key's sort column, as a cursor carries it. */
export function sortValue(key: KeyRecord, field: SortField): string | number | null {
  const row = fromKey(key);
  return row[SORT_COLUMN[field]];
}

export class KeysRepository {
  constructor(
    private readonly db: Executor,
    /** The store's prepared statements, outside transactions (see Storage.read). */
    private readonly reads?: PreparedReads,
  ) {}

  async insert(key: KeyRecord): Promise<void> {
    await this.db.insertInto('keys').values(fromKey(key)).execute();
  }

  /** Inserts many keys with multi-row statements (for seeding large stores; wrap it in a transaction). */
  async insertMany(keys: readonly KeyRecord[]): Promise<void> {
    // 500 rows of ~31 columns stay under SQLite's and PostgreSQL's bound-parameter limits.
    for (let i = 0; i < keys.length; i += 500)
      await this.db.insertInto('keys').values(keys.slice(i, i + 500).map(fromKey)).execute();
  }

  /**
   * Writes a changed key. Its credits are left as they are unless `withCredits` (a top-up): traffic
   * spends them meanwhile, and a rename must not put back a count read before.
   */
  async update(key: KeyRecord, options: { withCredits?: boolean } = {}): Promise<void> {
    const { id, creditsRemaining, creditsRefillAmount, creditsRefillInterval, creditsRefillDay, creditsRefilledAt, ...rest } = fromKey(key);
    const credits = { creditsRemaining, creditsRefillAmount, creditsRefillInterval, creditsRefillDay, creditsRefilledAt };
    await this.db.updateTable('keys').set(options.withCredits ? { ...rest, ...credits } : rest).where('id', '=', id).execute();
  }

  /**
   * Spends `cost` credits of a key at once, in one statement, so that parallel uses on any number
   * of nodes never spend more than there is: the row is changed only while at least `need` credits
   * are left (`need` is the cost, or 1 for a cost of 0, which checks without spending). A refill
   * due since the period starting at `periodStart` is applied in the same statement (the count
   * becomes the refill amount, then the cost is taken); null when the key refills never.
   */
  async spendCredits(id: string, cost: number, periodStart: number | null): Promise<CreditSpend> {
    const need = Math.max(cost, 1);
    const p = periodStart ?? -1;
    const due = sql`(credits_refill_amount is not null and credits_refilled_at < ${p})`;
    const current = sql`(case when ${due} then credits_refill_amount else credits_remaining end)`;
    const spent = await sql<{ creditsRemaining: number }>`update keys
      set credits_remaining = ${current} - ${cost},
          credits_refilled_at = case when ${due} then ${p} else credits_refilled_at end
      where id = ${id} and credits_remaining is not null and ${current} >= ${need}
      returning credits_remaining`.execute(this.db);
    const row = spent.rows[0];
    if (row !== undefined) return { kind: 'spent', remaining: Number(row.creditsRemaining) };
    // Too few left, or the key has no credits (any more): read which.
    const now = await sql<{ creditsRemaining: number | null }>`select ${current} as credits_remaining from keys where id = ${id}`.execute(this.db);
    const left = now.rows[0]?.creditsRemaining;
    return left === undefined || left === null ? { kind: 'unlimited' } : { kind: 'refused', remaining: Number(left) };
  }

  async find(accountId: string, id: string): Promise<KeyRecord | undefined> {
    const row = await this.db
      .selectFrom('keys')
      .selectAll()
      .where('id', '=', id)
      .where('accountId', '=', accountId)
      .executeTakeFirst();
    return row && toKey(row);
  }

  async findByClientId(clientId: string): Promise<KeyRecord | undefined> {
    const row = await this.db.selectFrom('keys').selectAll().where('clientId', '=', clientId).executeTakeFirst();
    return row && toKey(row);
  }

  async findBySecretHash(secretHash: string): Promise<KeyRecord | undefined> {
    const row = await this.db.selectFrom('keys').selectAll().where('secretHash', '=', secretHash).executeTakeFirst();
    return row && toKey(row);
  }

  /** The key whose current secret, or previous one (whatever its grace period), has this hash. */
  async findByAnySecretHash(secretHash: string): Promise<KeyRecord | undefined> {
    const row =
      (await this.db.selectFrom('keys').selectAll().where('secretHash', '=', secretHash).executeTakeFirst()) ??
      (await this.db.selectFrom('keys').selectAll().where('previousSecretHash', '=', secretHash).executeTakeFirst());
    return row && toKey(row);
  }

  /**
   * The same as findByAnySecretHash, by the store's prepared statement where there is one: no query
   * is built per call, and on SQLite the answer comes synchronously.
   */
  lookupByAnySecretHash(secretHash: string): KeyRecord | undefined | Promise<KeyRecord | undefined> {
    if (this.reads === undefined) return this.findByAnySecretHash(secretHash);
    const { dialect, read } = this.reads;
    const rows = dialect === 'sqlite' ? read(KEY_BY_SECRET_HASH.sqlite, [secretHash, secretHash]) : read(KEY_BY_SECRET_HASH.postgres, [secretHash]);
    const first = (found: unknown[][]) => (found[0] === undefined ? undefined : toKey(keyRowOf(found[0])));
    return rows instanceof Promise ? rows.then(first) : first(rows);
  }

  /** How many secret hashes (current and previous) token keys hold: what the filter of existing keys is sized for. */
  async countTokenSecretHashes(): Promise<number> {
    const row = await this.db
      .selectFrom('keys')
      .select((eb) => [eb.fn.count<number>('secretHash').as('current'), eb.fn.count<number>('previousSecretHash').as('previous')])
      .where('credentialType', '=', 'token')
      .executeTakeFirstOrThrow();
    return Number(row.current) + Number(row.previous);
  }

  /** A page of token keys' secret hashes, in id order after `afterId` (the filter of existing keys is built from them). */
  async tokenSecretHashes(afterId: string, limit: number): Promise<{ id: string; secretHash: string | null; previousSecretHash: string | null }[]> {
    return this.db
      .selectFrom('keys')
      .select(['id', 'secretHash', 'previousSecretHash'])
      .where('credentialType', '=', 'token')
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /** A key by id alone, whatever its account. */
  async findById(id: string): Promise<KeyRecord | undefined> {
    const row = await this.db.selectFrom('keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toKey(row);
  }

  async countInEnvironment(accountId: string, environment: Environment): Promise<number> {
    const row = await this.db
      .selectFrom('keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('accountId', '=', accountId)
      .where('environment', '=', environment)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** How many keys the account holds in each environment it has keys in. */
  async countByEnvironment(accountId: string): Promise<Partial<Record<Environment, number>>> {
    const rows = await this.db
      .selectFrom('keys')
      .select((eb) => ['environment', eb.fn.countAll<number>().as('n')])
      .where('accountId', '=', accountId)
      .groupBy('environment')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.environment, Number(r.n)]));
  }

  /**
   * Keys of the account with an expiry in (`since`, `until`] that have not been told of their
   * expiry yet (no `key.expired` notice for that instant): the candidates for expiry notices,
   * soonest first, at most `limit`, continuing after `after`.
   */
  async expiryCandidates(accountId: string, since: number, until: number, limit: number, after?: { expiresAt: number; id: string }): Promise<KeyRecord[]> {
    let query = this.db
      .selectFrom('keys')
      .selectAll()
      .where('accountId', '=', accountId)
      .where('expiresAt', 'is not', null)
      .where('expiresAt', '>', since)
      .where('expiresAt', '<=', until)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('keyNotices as n')
              .select('n.keyId')
              .whereRef('n.keyId', '=', 'keys.id')
              .where('n.notice', '=', 'key.expired')
              .whereRef('n.marker', '=', 'keys.expiresAt'),
          ),
        ),
      );
    if (after) query = query.where((eb) => eb.or([eb('expiresAt', '>', after.expiresAt), eb.and([eb('expiresAt', '=', after.expiresAt), eb('id', '>', after.id)])]));
    const rows = await query.orderBy('expiresAt').orderBy('id').limit(limit).execute();
    return rows.map((row) => toKey(row));
  }

  /**
   * Marks a key reported leaked (switching it off too when `deactivate`), unless it is marked
   * already: one statement, so of two reports of one key at once, exactly one lands. True when this
   * one did.
   */
  async markLeaked(id: string, leak: NonNullable<KeyRecord['leak']>, deactivate: boolean, at: number): Promise<boolean> {
    const row = await this.db
      .updateTable('keys')
      .set({ leakedAt: leak.reportedAt, leakSource: leak.source, leakUrl: leak.url, updatedAt: at, ...(deactivate ? { active: 0 } : {}) })
      .where('id', '=', id)
      .where('leakedAt', 'is', null)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Deletes the given keys of the account; returns the ids that existed and were deleted. */
  async deleteMany(accountId: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .deleteFrom('keys')
      .where('accountId', '=', accountId)
      .where('id', 'in', ids)
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /** Destroys the revealable copies of an account's secrets (its policy became "never"). */
  async clearEncryptedSecrets(accountId: string): Promise<number> {
    const r = await this.db.updateTable('keys').set({ secretEncrypted: null }).where('accountId', '=', accountId).where('secretEncrypted', 'is not', null).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Every stored revealable secret, for re-encryption under a new key-encryption key. */
  async encryptedSecrets(): Promise<{ id: string; secretEncrypted: string }[]> {
    const rows = await this.db.selectFrom('keys').select(['id', 'secretEncrypted']).where('secretEncrypted', 'is not', null).execute();
    return rows as { id: string; secretEncrypted: string }[];
  }

  async setEncryptedSecret(id: string, secretEncrypted: string): Promise<void> {
    await this.db.updateTable('keys').set({ secretEncrypted }).where('id', '=', id).execute();
  }

  /** Sets lastUsedAt of many keys at once, never moving it backwards: one statement per 1,000 keys. */
  async touchLastUsed(entries: readonly { id: string; at: number }[]): Promise<void> {
    for (let i = 0; i < entries.length; i += 1000) {
      // UPDATE ... FROM a derived table: the same SQL on PostgreSQL and SQLite (3.33+).
      const rows = sql.join(
        entries.slice(i, i + 1000).map(({ id, at }, j) =>
          j === 0 ? sql`select ${id} as id, cast(${at} as bigint) as at` : sql`select ${id}, cast(${at} as bigint)`,
        ),
        sql` union all `,
      );
      await sql`update keys set last_used_at = v.at from (${rows}) as v
        where keys.id = v.id and (keys.last_used_at is null or keys.last_used_at < v.at)`.execute(this.db);
    }
  }

  /**
   * One page of an account's keys: filtered, sorted by one column with the id as tie-breaker, and
   * continuing after `after` (keyset pagination: stable under inserts and fast at any depth).
   */
  list(accountId: string, filter: KeyFilter, sort: KeySort, limit: number, after?: KeyCursor): Promise<KeyRecord[]> {
    return this.reads === undefined ? this.listBuilt(accountId, filter, sort, limit, after) : this.listPrepared(this.reads, accountId, filter, sort, limit, after);
  }

  /**
   * The listing as a prepared statement: the same SQL as `listBuilt` (conditions, order, index
   * use), written once per shape of filter and sort rather than built by Kysely per request, and
   * without the columns a listing never shows (see LIST_SELECT): its records say whether the key has
   * a secret (`secretHash` is '' or null), not its hash.
   */
  private async listPrepared(reads: PreparedReads, accountId: string, filter: KeyFilter, sort: KeySort, limit: number, after?: KeyCursor): Promise<KeyRecord[]> {
    const params: unknown[] = [];
    const p = reads.dialect === 'sqlite' ? (value: unknown) => (params.push(value), '?') : (value: unknown) => `$${params.push(value)}`;
    const column = snakeCase(SORT_COLUMN[sort.field]);
    const dir = sort.descending ? 'desc' : 'asc';
    const where = [`account_id = ${p(accountId)}`];
    if (filter.environment) where.push(`environment = ${p(filter.environment)}`);
    if (filter.kind) where.push(`kind = ${p(filter.kind)}`);
    if (filter.credentialType) where.push(`credential_type = ${p(filter.credentialType)}`);
    if (filter.active !== undefined) where.push(`active = ${p(filter.active ? 1 : 0)}`);
    if (filter.channel !== undefined) where.push(`channel = ${p(filter.channel)}`);
    if (filter.q) where.push(`name_key like ${p(`%${likeEscape(filter.q.toLowerCase())}%`)} escape '\\'`);
    if (filter.createdFrom !== undefined) where.push(`created_at >= ${p(filter.createdFrom)}`);
    if (filter.createdTo !== undefined) where.push(`created_at <= ${p(filter.createdTo)}`);
    if (filter.updatedFrom !== undefined) where.push(`updated_at >= ${p(filter.updatedFrom)}`);
    if (filter.updatedTo !== undefined) where.push(`updated_at <= ${p(filter.updatedTo)}`);
    if (filter.externalId !== undefined) where.push(`external_id = ${p(filter.externalId)}`);
    if (filter.expiresBefore !== undefined) where.push(`expires_at < ${p(filter.expiresBefore)}`);
    if (filter.expiresAfter !== undefined) where.push(`expires_at > ${p(filter.expiresAfter)}`);
    if (filter.unusedSince !== undefined) where.push(`(last_used_at is null or last_used_at < ${p(filter.unusedSince)})`);
    const nulls = NULLABLE_SORT_COLUMNS.get(SORT_COLUMN[sort.field]);
    const nullsFirst = nulls !== undefined && (nulls === 'low') !== sort.descending;
    if (after) {
      const op = sort.descending ? '<' : '>';
      if (after.value === null) {
        const tie = `(${column} is null and id ${op} ${p(after.id)})`;
        where.push(nullsFirst ? `(${tie} or ${column} is not null)` : tie);
      } else {
        const next = [`${column} ${op} ${p(after.value)}`, `(${column} = ${p(after.value)} and id ${op} ${p(after.id)})`];
        if (nulls !== undefined && !nullsFirst) next.push(`${column} is null`);
        where.push(`(${next.join(' or ')})`);
      }
    }
    const order = nulls !== undefined ? `${column} ${dir} nulls ${nullsFirst ? 'first' : 'last'}` : `${column} ${dir}`;
    const text = `select ${LIST_SELECT} from keys where ${where.join(' and ')} order by ${order}, id ${dir} limit ${p(limit)}`;
    const rows = await reads.read(text, params);
    // The page's records are read-only views of the rows: they may share their parsed JSON.
    const parsed = new Map<string, unknown>();
    const parse = (json: string) => {
      let value = parsed.get(json);
      if (value === undefined) parsed.set(json, (value = JSON.parse(json)));
      return value;
    };
    return rows.map((row) => toKey(keyRowOf(row), parse));
  }

  /** The listing built by Kysely, where there are no prepared statements (inside a transaction). */
  private async listBuilt(accountId: string, filter: KeyFilter, sort: KeySort, limit: number, after?: KeyCursor): Promise<KeyRecord[]> {
    const column = SORT_COLUMN[sort.field];
    const dir = sort.descending ? 'desc' : 'asc';
    let query = this.db.selectFrom('keys').selectAll().where('accountId', '=', accountId);
    if (filter.environment) query = query.where('environment', '=', filter.environment);
    if (filter.kind) query = query.where('kind', '=', filter.kind);
    if (filter.credentialType) query = query.where('credentialType', '=', filter.credentialType);
    if (filter.active !== undefined) query = query.where('active', '=', filter.active ? 1 : 0);
    if (filter.channel !== undefined) query = query.where('channel', '=', filter.channel);
    if (filter.q) query = query.where(likeLiteral('nameKey', '%', filter.q.toLowerCase(), '%'));
    if (filter.createdFrom !== undefined) query = query.where('createdAt', '>=', filter.createdFrom);
    if (filter.createdTo !== undefined) query = query.where('createdAt', '<=', filter.createdTo);
    if (filter.updatedFrom !== undefined) query = query.where('updatedAt', '>=', filter.updatedFrom);
    if (filter.updatedTo !== undefined) query = query.where('updatedAt', '<=', filter.updatedTo);
    if (filter.externalId !== undefined) query = query.where('externalId', '=', filter.externalId);
    if (filter.expiresBefore !== undefined) query = query.where('expiresAt', '<', filter.expiresBefore);
    if (filter.expiresAfter !== undefined) query = query.where('expiresAt', '>', filter.expiresAfter);
    if (filter.unusedSince !== undefined) {
      const since = filter.unusedSince;
      query = query.where((eb) => eb.or([eb('lastUsedAt', 'is', null), eb('lastUsedAt', '<', since)]));
    }
    const nulls = NULLABLE_SORT_COLUMNS.get(column);
    // Where the NULL rows come in this order: first (low NULLs ascending, high ones descending) or last.
    const nullsFirst = nulls !== undefined && (nulls === 'low') !== sort.descending;
    if (after) {
      const op = sort.descending ? '<' : '>';
      // Spelled out so SQLite and PostgreSQL page identically.
      query = query.where((eb) => {
        if (after.value === null) {
          const tie = eb.and([eb(column, 'is', null), eb('id', op, after.id)]);
          return nullsFirst ? eb.or([tie, eb(column, 'is not', null)]) : tie;
        }
        const next = [eb(column, op, after.value as never), eb.and([eb(column, '=', after.value as never), eb('id', op, after.id)])];
        return eb.or(nulls !== undefined && !nullsFirst ? [...next, eb(column, 'is', null)] : next);
      });
    }
    const ordered =
      nulls !== undefined
        ? query.orderBy(column, (ob) => (sort.descending ? ob.desc() : ob.asc())[nullsFirst ? 'nullsFirst' : 'nullsLast']())
        : query.orderBy(column, dir);
    const rows = await ordered.orderBy('id', dir).limit(limit).execute();
    return rows.map((row) => toKey(row));
  }
}

// ---------------------------------------------------------------------------------------------

export type ApiTokenKind = 'platform' | 'personal' | 'service';

/** A management API token (platform owner, operator or service), stored by hash. */
export type ApiTokenRecord = Omit<Selectable<ApiTokensTable>, 'kind' | 'lastUsedAt'> & { kind: ApiTokenKind };

const toApiToken = (row: Selectable<ApiTokensTable>): ApiTokenRecord => ({
  id: row.id,
  tokenHash: row.tokenHash,
  kind: row.kind as ApiTokenKind,
  name: row.name,
  operatorId: row.operatorId,
  accountId: row.accountId,
  expiresAt: row.expiresAt,
  createdAt: row.createdAt,
  revokedAt: row.revokedAt,
});

export class ApiTokensRepository {
  constructor(private readonly db: Executor) {}

  async insert(token: ApiTokenRecord): Promise<void> {
    await this.db.insertInto('apiTokens').values(token).execute();
  }

  async findByHash(tokenHash: string): Promise<ApiTokenRecord | undefined> {
    const row = await this.db.selectFrom('apiTokens').selectAll().where('tokenHash', '=', tokenHash).executeTakeFirst();
    return row && toApiToken(row);
  }

  /** Tokens of one operator (personal) or one account (service), newest first. */
  async list(filter: { kind: ApiTokenKind; operatorId?: string; accountId?: string | null }): Promise<ApiTokenRecord[]> {
    let q = this.db.selectFrom('apiTokens').selectAll().where('kind', '=', filter.kind);
    if (filter.operatorId !== undefined) q = q.where('operatorId', '=', filter.operatorId);
    if (filter.accountId !== undefined) q = filter.accountId === null ? q.where('accountId', 'is', null) : q.where('accountId', '=', filter.accountId);
    return (await q.orderBy('createdAt', 'desc').orderBy('id').execute()).map(toApiToken);
  }

  async find(id: string): Promise<ApiTokenRecord | undefined> {
    const row = await this.db.selectFrom('apiTokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toApiToken(row);
  }

  async revoke(id: string, at: number): Promise<void> {
    await this.db.updateTable('apiTokens').set({ revokedAt: at }).where('id', '=', id).where('revokedAt', 'is', null).execute();
  }

  async countOfKind(kind: ApiTokenKind): Promise<number> {
    const row = await this.db
      .selectFrom('apiTokens')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('kind', '=', kind)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
