import type { CreateKeyInput, IssuedKey, Key, KeyCounts, KeyPage, ListKeysQuery, Quickstart, UpdateKeyInput } from '../contract/keys.js';
import { DEFAULT_PAGE_SIZE } from '../contract/keys.js';
import type { Catalog } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import { decodeCursor, encodeCursor, pageOf } from '../domain/cursor.js';
import type { Keyring } from '../domain/envelope.js';
import { ENVIRONMENTS, type Environment } from '../domain/environment.js';
import { AppError, confirmationRequired, fieldError, notFound, rateLimited, type FieldError } from '../domain/errors.js';
import { generateKeyString, hashKeyString } from '../domain/key-strings.js';
import { checkCustomAccess, checkRoles, checkScopes, checkUsageControls, newKeyRecord, newSecret, parseExpiry, sameRoles, secretMatches } from '../domain/key-rules.js';
import type { Account, KeyCursor, KeyFilter, KeyRecord, KeySort } from '../domain/model.js';
import { DEFAULT_SORT, SORT_FIELDS } from '../domain/sort-fields.js';
import type { Actor } from '../domain/principal.js';
import type { GrantRecord } from '../storage/operator-repositories.js';
import { sortValue, type Repositories, type Store } from '../storage/repositories.js';
import { LocalAttemptCounter, type AttemptCounter } from './attempts.js';
import { keyChangeEvents } from './change-events.js';
import { gatewaySample } from './gateway-quickstart.js';
import { toKeyView, toKeyViews } from './key-view.js';
import type { Notice } from './notices.js';
import type { AuditRecord, Outbox } from './outbox.js';
import { quickstartSamples } from './quickstart.js';

/** What changed about a key: its audit entry and its cluster events are made of this. */
export interface KeyChange {
  type: 'created' | 'updated' | 'secret_reset' | 'regenerated' | 'deleted';
  /** Who made the change, and from where. */
  actor: Actor;
  /** The key as it was before the change (absent for creation). */
  before?: KeyRecord;
  /** The key as it is after the change (absent for deletion). */
  after?: KeyRecord;
  /** The operator asked that access tokens already issued with this key stop working now. */
  revokeTokens: boolean;
}

/**
 * The refusal of a key beyond the limit. A limit lowered below the keys an account already holds
 * removes none of them: the detail says how many are over it and what makes room.
 */
export function keyLimitReached(accountId: string, environment: Environment, count: number, limit: number): AppError {
  const over = count - limit;
  const detail =
    over <= 0
      ? `Account '${accountId}' holds ${count} ${count === 1 ? 'key' : 'keys'} in ${environment}, as many as its keyLimitPerEnvironment (${limit}) allows. Delete a key or raise keyLimitPerEnvironment to create another.`
      : `Account '${accountId}' holds ${count} keys in ${environment}, ${over} more than its keyLimitPerEnvironment (${limit}): the limit was lowered after they were created. ` +
        `They all keep working, but no key can be created there until fewer than ${limit} remain: delete ${over + 1} or raise keyLimitPerEnvironment above ${count}.`;
  return new AppError('key_limit_reached', detail);
}

/** Wrong secrets checked against one key within 15 minutes before verify-secret refuses for the rest of the window. */
export const VERIFY_SECRET_MAX_FAILURES = 10;

/** Wrong secrets checked against one key (counted before each check, so parallel guesses count too). */
export const VERIFY_SECRET_RULE = { name: 'verify-secret', maxFailures: VERIFY_SECRET_MAX_FAILURES, windowMs: 15 * 60_000 } as const;

export class KeysService {
  private readonly attempts: AttemptCounter;

  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    /** Where every change leaves its audit entry and cluster events, in its transaction. */
    private readonly outbox: Outbox,
    /** Encrypts secrets of accounts that permit revealing them. */
    private readonly keyring?: Keyring,
    /** Counts wrong secrets checked against a key (shared by the nodes when Redis is configured). */
    attempts?: AttemptCounter,
  ) {
    this.attempts = attempts ?? new LocalAttemptCounter(() => clock.now());
  }

  /**
   * Records key changes, last in their transaction: an audit entry each (before and after as key
   * views: hashes never reach the log) and the events every node applies. `grants` are the grants
   * the deleted keys held, read before the delete.
   */
  private async recordChanges(repos: Repositories, changes: readonly KeyChange[], grants: readonly GrantRecord[] = []): Promise<void> {
    const view = (k: KeyRecord | undefined) => (k ? this.view(k) : null);
    const now = this.clock.now();
    const audit: AuditRecord[] = changes.map((change) => {
      const key = (change.after ?? change.before)!;
      return {
        actor: change.actor,
        entry: {
          accountId: key.accountId,
          action: `key.${change.type}`,
          keyId: key.id,
          before: view(change.before),
          after: change.revokeTokens ? { ...view(change.after), revokeTokens: true } : view(change.after),
        },
      };
    });
    const events = changes.flatMap((change) => keyChangeEvents(change, grants.filter((g) => g.keyId === (change.before ?? change.after)!.id), now));
    // The account's webhooks hear of the key as the API shows it: never its secret or hash.
    const notices: Notice[] = changes.map((change) => {
      const key = (change.after ?? change.before)!;
      return { accountId: key.accountId, type: `key.${change.type}`, data: this.view(key) };
    });
    await this.outbox.record(repos, { audit, events, notices });
  }

  private view(key: KeyRecord): Key {
    return toKeyView(this.catalog, key, this.clock.now());
  }

  async create(account: Account, input: CreateKeyInput, actor: Actor): Promise<IssuedKey> {
    if (!account.eligible)
      throw new AppError('account_not_eligible', `Account '${account.id}' is not eligible to create API keys. Ask the platform to make it eligible.`);
    const scopes = checkScopes(this.catalog, input.kind, input.scopes);
    const roles = checkRoles(this.catalog, input.kind, input.roles);
    checkCustomAccess({ kind: input.kind, scopes, roles });
    const now = this.clock.now();
    const controls = checkUsageControls(input, now);
    const expiresAt =
      input.expiresAt === undefined
        ? account.settings.keyLifetime === null
          ? null
          : now + account.settings.keyLifetime * 1000
        : parseExpiry(input.expiresAt, now);
    const { record, secret } = newKeyRecord({
      accountId: account.id,
      name: input.name.trim(),
      environment: input.environment,
      kind: input.kind,
      credentialType: input.credentialType,
      scopes,
      roles,
      channel: input.channel ?? null,
      active: input.active ?? account.settings.defaultActive[input.credentialType],
      expiresAt,
      createdBy: actor.principal.id,
      now,
      withSecret: true,
      rateLimit: input.rateLimit ?? null,
      ...controls,
      seal: this.sealFor(account),
    });
    await this.store.transaction(async (repos) => {
      // Lock first, count second: parallel creations in one account queue here, so the limit holds.
      if (!(await repos.accounts.lock(account.id))) throw notFound('Account', account.id);
      const limit = (await repos.accounts.find(account.id))!.settings.keyLimitPerEnvironment;
      const count = await repos.keys.countInEnvironment(account.id, input.environment);
      if (count >= limit) throw keyLimitReached(account.id, input.environment, count, limit);
      await repos.keys.insert(record);
      await this.recordChanges(repos, [{ type: 'created', actor, after: record, revokeTokens: false }]);
    });
    return { key: this.view(record), secret };
  }

  /** The stored record of a key of the account; 404 when it is not there (or is another account's). */
  async find(accountId: string, keyId: string): Promise<KeyRecord> {
    const key = await this.store.repos.keys.find(accountId, keyId);
    if (!key) throw notFound('Key', keyId);
    return key;
  }

  async get(accountId: string, keyId: string): Promise<Key> {
    return this.view(await this.find(accountId, keyId));
  }

  /**
   * How many keys the account holds in each environment, its limit per environment, how many more
   * it may create in each, and by how many each is over the limit (a limit lowered below what the
   * account already held: those keys stay and keep working, new ones wait until it is back below).
   */
  async counts(account: Account): Promise<KeyCounts> {
    const found = await this.store.repos.keys.countByEnvironment(account.id);
    const limit = account.settings.keyLimitPerEnvironment;
    const perEnvironment = (f: (count: number) => number) => Object.fromEntries(ENVIRONMENTS.map((e) => [e, f(found[e] ?? 0)])) as Record<Environment, number>;
    return {
      limit,
      counts: perEnvironment((count) => count),
      available: perEnvironment((count) => Math.max(0, limit - count)),
      overLimit: perEnvironment((count) => Math.max(0, count - limit)),
    };
  }

  /**
   * One page of the account's keys, filtered and sorted. Plain dates (no time) are whole UTC days:
   * as a lower bound the day's start, as an upper bound its end.
   */
  async list(accountId: string, query: ListKeysQuery): Promise<KeyPage> {
    const sort = parseSort(query.sort);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = query.cursor === undefined ? undefined : decodeKeyCursor(query.cursor, sort);
    const filter: KeyFilter = {};
    for (const field of ['environment', 'kind', 'credentialType', 'active', 'channel', 'q', 'externalId'] as const)
      if (query[field] !== undefined) (filter as Record<string, unknown>)[field] = query[field];
    for (const [field, endOfDay] of [['createdFrom', false], ['createdTo', true], ['updatedFrom', false], ['updatedTo', true], ['unusedSince', false], ['expiresBefore', false], ['expiresAfter', false]] as const) {
      const value = query[field];
      if (value !== undefined) filter[field] = Date.parse(value) + (endOfDay && /^\d{4}-\d{2}-\d{2}$/.test(value) ? 86_399_999 : 0);
    }
    for (const [from, to] of [['createdFrom', 'createdTo'], ['updatedFrom', 'updatedTo'], ['expiresAfter', 'expiresBefore']] as const)
      if (filter[from] !== undefined && filter[to] !== undefined && filter[from]! > filter[to]!)
        throw new AppError('validation_failed', `${from} is after ${to}: the range is empty.`, [{ pointer: `/${from}`, detail: `must not be after ${to}` }]);
    const rows = await this.store.repos.keys.list(accountId, filter, sort, limit + 1, after);
    const page = pageOf(rows, limit, (k) => k, (last) => encodeKeyCursor({ value: sortValue(last, sort.field), id: last.id }, sort));
    return { items: toKeyViews(this.catalog, page.items, this.clock.now()), nextCursor: page.nextCursor };
  }

  /**
   * Changes a key. Setting `credits` is a top-up: the count becomes what was sent and the refill
   * period starts anew; credits spent by traffic meanwhile are not added back or taken again.
   */
  async update(accountId: string, keyId: string, input: UpdateKeyInput, actor: Actor): Promise<{ before: Key; after: Key }> {
    // Checked before anything is read: a bad field changes nothing.
    const controls = checkUsageControls(input, this.clock.now());
    const { before, after } = await this.store.transaction(async (repos) => {
      const before = await repos.keys.find(accountId, keyId);
      if (!before) throw notFound('Key', keyId);
      const after: KeyRecord = { ...before };
      if (input.name !== undefined) after.name = input.name.trim();
      if (input.active !== undefined) after.active = input.active;
      if (input.channel !== undefined) after.channel = input.channel;
      if (input.scopes !== undefined) after.scopes = checkScopes(this.catalog, before.kind, input.scopes);
      if (input.roles !== undefined) {
        const roles = checkRoles(this.catalog, before.kind, input.roles);
        if (before.credentialType === 'token' && !sameRoles(roles, before.roles))
          throw new AppError('roles_immutable', 'The roles of a token key are fixed when it is created. Create a new key with the roles you need.',
            [{ pointer: '/roles', detail: 'cannot change on a token key' }],
          );
        after.roles = roles;
      }
      if (input.expiresAt !== undefined) after.expiresAt = parseExpiry(input.expiresAt, this.clock.now());
      if (input.rateLimit !== undefined) after.rateLimit = input.rateLimit;
      Object.assign(after, controls);
      checkCustomAccess(after);
      after.updatedAt = this.clock.now();
      await repos.keys.update(after, { withCredits: controls.credits !== undefined });
      await this.recordChanges(repos, [{ type: 'updated', actor, before, after, revokeTokens: false }]);
      return { before, after };
    });
    return { before: this.view(before), after: this.view(after) };
  }

  async delete(accountId: string, keyId: string, revokeTokens: boolean, actor: Actor): Promise<Key> {
    const key = await this.store.transaction(async (repos) => {
      const key = await repos.keys.find(accountId, keyId);
      if (!key) throw notFound('Key', keyId);
      const grants = await repos.grants.ofKey(key.id);
      if ((await repos.keys.deleteMany(accountId, [keyId])).length === 0) throw notFound('Key', keyId);
      await this.recordChanges(repos, [{ type: 'deleted', actor, before: key, revokeTokens }], grants);
      return key;
    });
    return this.view(key);
  }

  /**
   * Deletes several keys at once, all or nothing: if one id is not a key of the account, nothing is
   * deleted and the error names every such id.
   */
  async batchDelete(accountId: string, ids: string[], confirm: boolean, revokeTokens: boolean, actor: Actor): Promise<Key[]> {
    if (confirm !== true) throw confirmationRequired(`Deleting ${ids.length} key${ids.length === 1 ? '' : 's'}`);
    const unique = [...new Set(ids)];
    const keys = await this.store.transaction(async (repos) => {
      const found: KeyRecord[] = [];
      const missing: FieldError[] = [];
      for (const id of unique) {
        const key = await repos.keys.find(accountId, id);
        if (key) found.push(key);
        else missing.push({ pointer: `/ids/${ids.indexOf(id)}`, detail: `no key '${id}' in this account` });
      }
      if (missing.length)
        throw new AppError('not_found', `${missing.length} of the keys ${missing.length === 1 ? 'does' : 'do'} not exist in this account; nothing was deleted.`, missing);
      const grants: GrantRecord[] = [];
      for (const key of found) grants.push(...(await repos.grants.ofKey(key.id)));
      await repos.keys.deleteMany(accountId, unique);
      await this.recordChanges(repos, found.map((key) => ({ type: 'deleted' as const, actor, before: key, revokeTokens })), grants);
      return found;
    });
    return keys.map((k) => this.view(k));
  }

  /**
   * A new secret for the key. The old one stops working at once, or stays valid for
   * `previousSecretValidFor` seconds so deployed clients can be switched without downtime.
   * With a keyLifetime setting, the key's expiry restarts from now. A leak report on the key is
   * cleared: it was about the secret this replaces.
   */
  async resetSecret(account: Account, keyId: string, confirm: boolean, previousSecretValidFor: number, actor: Actor): Promise<IssuedKey> {
    if (confirm !== true) throw confirmationRequired('Resetting a secret');
    return this.replaceSecret(account, keyId, 'secret_reset', previousSecretValidFor, false, actor);
  }

  /** A new client id and a new secret; the old pair stops working at once. */
  async regenerate(account: Account, keyId: string, confirm: boolean, revokeTokens: boolean, actor: Actor): Promise<IssuedKey> {
    if (confirm !== true) throw confirmationRequired('Regenerating a key');
    return this.replaceSecret(account, keyId, 'regenerated', 0, revokeTokens, actor);
  }

  private async replaceSecret(
    account: Account,
    keyId: string,
    type: 'secret_reset' | 'regenerated',
    previousSecretValidFor: number,
    revokeTokens: boolean,
    actor: Actor,
  ): Promise<IssuedKey> {
    const now = this.clock.now();
    const result = await this.store.transaction(async (repos) => {
      const before = await repos.keys.find(account.id, keyId);
      if (!before) throw notFound('Key', keyId);
      // The secret of a reported leak must stop now: a grace period would keep it working.
      if (previousSecretValidFor > 0 && before.leak !== null && before.secretHash !== null)
        throw fieldError('/previousSecretValidFor', 'must be 0 for a key whose secret was reported leaked: the leaked secret must stop now');
      const secret = newSecret(before.credentialType, before.environment);
      const keepPrevious = previousSecretValidFor > 0 && before.secretHash !== null;
      const after: KeyRecord = {
        ...before,
        clientId:
          type === 'regenerated' && before.clientId !== null ? generateKeyString('clientId', before.environment) : before.clientId,
        secretHash: hashKeyString(secret),
        secretEncrypted: this.sealFor(account)?.(secret) ?? null,
        previousSecretHash: keepPrevious ? before.secretHash : null,
        previousSecretExpiresAt: keepPrevious ? now + previousSecretValidFor * 1000 : null,
        expiresAt: account.settings.keyLifetime === null ? before.expiresAt : now + account.settings.keyLifetime * 1000,
        // A report of a leak was about the secret replaced here: the key is no longer exposed (the audit log keeps the report).
        leak: null,
        updatedAt: now,
      };
      await repos.keys.update(after);
      await this.recordChanges(repos, [{ type, actor, before, after, revokeTokens }]);
      return { before, after, secret };
    });
    return { key: this.view(result.after), secret: result.secret };
  }

  /** With secretReveal "permitted", secrets are also kept envelope-encrypted so they can be revealed. */
  private sealFor(account: Account): ((secret: string) => string) | undefined {
    const keyring = this.keyring;
    return account.settings.secretReveal === 'permitted' && keyring ? (secret) => keyring.encrypt(secret) : undefined;
  }

  /**
   * The secret of a key in clear, for operators holding keys.reveal on an account whose policy
   * permits it. Secrets made while the policy was "never" cannot be revealed: reset them. Each
   * reveal is audited before the secret is handed out.
   */
  async reveal(account: Account, keyId: string, actor: Actor): Promise<{ key: KeyRecord; secret: string }> {
    const key = await this.find(account.id, keyId);
    if (account.settings.secretReveal !== 'permitted')
      throw new AppError('secret_reveal_not_permitted', `Account '${account.id}' never reveals secrets (secretReveal is "never"). Reset the secret to get a new one.`);
    if (key.secretEncrypted === null || !this.keyring)
      throw new AppError('secret_not_revealable', 'This secret was made before revealing was permitted (or the key has no secret yet). Reset it to get one that can be revealed.');
    const secret = this.keyring.decryptText(key.secretEncrypted);
    await this.outbox.write({ audit: { actor, entry: { accountId: account.id, action: 'key.revealed', keyId: key.id } } });
    return { key, secret };
  }

  /** Does the candidate match the key's secret (or its previous one, during its grace period)? */
  async verifySecret(accountId: string, keyId: string, candidate: string, actor: Actor): Promise<boolean> {
    const key = await this.find(accountId, keyId);
    // Guessing is slowed per key: after VERIFY_SECRET_MAX_FAILURES misses, the key refuses checks for a while.
    // The check is counted before it is made, so parallel guesses cannot all get through.
    const attempt = { rule: VERIFY_SECRET_RULE, subject: key.id };
    const wait = await this.attempts.reserve([attempt]);
    if (wait > 0) {
      await this.auditSecretCheck(key, null, actor);
      throw rateLimited(`Too many wrong secrets were checked against this key; try again in ${wait} seconds.`, wait);
    }
    const matches = secretMatches(key, candidate, this.clock.now());
    if (matches) await this.attempts.release([{ attempt, clear: true }]);
    await this.auditSecretCheck(key, matches, actor);
    return matches;
  }

  /** Every verify-secret check leaves an audit entry (`matches: null`: refused, too many failures). */
  private async auditSecretCheck(key: KeyRecord, matches: boolean | null, actor: Actor): Promise<void> {
    await this.outbox.write({
      audit: {
        actor,
        entry: { accountId: key.accountId, action: matches === null ? 'key.verify_secret_locked' : 'key.verify_secret', keyId: key.id, after: matches === null ? null : { matches } },
      },
    });
  }

  /** Ready-to-run samples for the key, with the server's real URLs and a placeholder for the secret. */
  async quickstart(accountId: string, keyId: string, baseUrl: string): Promise<Quickstart> {
    const key = await this.find(accountId, keyId);
    const view = this.view(key);
    return { key: view, samples: [...quickstartSamples(key, baseUrl), gatewaySample(view, baseUrl)] };
  }
}

/** The sort of a listing as asked for (`name`, `-createdAt`, ...); the default is newest first. */
export function parseSort(value: string = DEFAULT_SORT): KeySort {
  const descending = value.startsWith('-');
  const field = descending ? value.slice(1) : value;
  if (!(SORT_FIELDS as readonly string[]).includes(field))
    throw new AppError('validation_failed', `Cannot sort by '${field}': use ${SORT_FIELDS.join(', ')}, with '-' for descending.`, [{ pointer: '/sort', detail: 'unknown sort field' }]);
  return { field: field as KeySort['field'], descending };
}

const sortOrder = (sort: KeySort) => `${sort.descending ? '-' : ''}${sort.field}`;

/** A key listing's cursor: the last row's sort value and id, bound to the sort. */
const encodeKeyCursor = (cursor: KeyCursor, sort: KeySort) => encodeCursor(sortOrder(sort), { v: cursor.value, i: cursor.id });

const decodeKeyCursor = (value: string, sort: KeySort): KeyCursor =>
  decodeCursor(value, sortOrder(sort), ({ v, i }) =>
    typeof i === 'string' && (typeof v === 'string' || typeof v === 'number' || v === null) ? { value: v, id: i } : null,
  );
