import type { Catalog, RoleAssignment } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import type { Keyring } from '../domain/envelope.js';
import { FailureThrottle } from '../domain/throttle.js';
import type { CredentialType, Environment, KeyKind } from '../domain/environment.js';
import { AppError, confirmationRequired, fieldError, notFound, validationError, type FieldError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { generateKeyString, hashKeyString, secretMatchesHash } from '../domain/key-strings.js';
import type { Account, KeyCursor, KeyFilter, KeyRecord, KeySort, RateLimitPolicy } from '../domain/model.js';
import { SORT_FIELDS } from '../domain/model.js';
import type { Actor } from '../domain/principal.js';
import type { GrantRecord } from '../storage/operator-repositories.js';
import { sortValue, type Repositories, type Store } from '../storage/repositories.js';
import { keyChangeEvents } from './change-events.js';
import { toKeyView, type KeyView } from './key-view.js';
import type { AuditRecord, Outbox } from './outbox.js';

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

export interface CreateKeyInput {
  name: string;
  environment: Environment;
  kind: KeyKind;
  credentialType: CredentialType;
  scopes?: string[];
  roles?: RoleAssignment[];
  channel?: string | null;
  active?: boolean;
  /** ISO 8601; null for no expiry; absent for the account's keyLifetime. */
  expiresAt?: string | null;
  /** Requests per window allowed to /v1/verify and /oauth/token; null or absent: unlimited. */
  rateLimit?: RateLimitPolicy | null;
}

export interface UpdateKeyInput {
  name?: string;
  active?: boolean;
  channel?: string | null;
  scopes?: string[];
  roles?: RoleAssignment[];
  expiresAt?: string | null;
  rateLimit?: RateLimitPolicy | null;
}

export interface ListKeysInput extends KeyFilter {
  sort?: string;
  limit?: number;
  cursor?: string;
}

/** A key freshly made, and its secret in clear: the only moment the secret exists outside a hash. */
export interface IssuedKey {
  key: KeyView;
  secret: string | null;
}

export interface QuickstartSample {
  language: 'curl' | 'javascript' | 'python';
  title: string;
  code: string;
}

/** Builds a new key record and, unless `withSecret` is false, its secret. */
export function newKeyRecord(input: {
  accountId: string;
  name: string;
  environment: Environment;
  kind: KeyKind;
  credentialType: CredentialType;
  scopes: string[];
  roles: RoleAssignment[];
  channel: string | null;
  active: boolean;
  expiresAt: number | null;
  createdBy: string;
  now: number;
  withSecret: boolean;
  rateLimit?: RateLimitPolicy | null;
  /** Encrypts the secret for later reveal; absent when the account never reveals secrets. */
  seal?: ((secret: string) => string) | undefined;
}): { record: KeyRecord; secret: string | null } {
  const secret = input.withSecret ? newSecret(input.credentialType, input.environment) : null;
  return {
    secret,
    record: {
      id: newId('key'),
      accountId: input.accountId,
      name: input.name,
      environment: input.environment,
      kind: input.kind,
      credentialType: input.credentialType,
      clientId: input.credentialType === 'client_secret' ? generateKeyString('clientId', input.environment) : null,
      secretHash: secret === null ? null : hashKeyString(secret),
      previousSecretHash: null,
      previousSecretExpiresAt: null,
      scopes: input.scopes,
      roles: input.roles,
      channel: input.channel,
      active: input.active,
      expiresAt: input.expiresAt,
      createdAt: input.now,
      updatedAt: input.now,
      lastUsedAt: null,
      secretEncrypted: secret !== null && input.seal ? input.seal(secret) : null,
      createdBy: input.createdBy,
      rateLimit: input.rateLimit ?? null,
    },
  };
}

const newSecret = (type: CredentialType, environment: Environment) =>
  generateKeyString(type === 'client_secret' ? 'clientSecret' : 'token', environment);

/** Longest grace period for a previous secret after a reset: 7 days. */
export const MAX_PREVIOUS_SECRET_VALID_FOR = 7 * 86_400;
export const MAX_PAGE_SIZE = 200;
/** Wrong secrets checked against one key within 15 minutes before verify-secret refuses for the rest of the window. */
export const VERIFY_SECRET_MAX_FAILURES = 10;
export const DEFAULT_PAGE_SIZE = 50;

export class KeysService {
  private readonly verifyThrottle: FailureThrottle;

  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    /** Where every change leaves its audit entry and cluster events, in its transaction. */
    private readonly outbox: Outbox,
    /** Encrypts secrets of accounts that permit revealing them. */
    private readonly keyring?: Keyring,
  ) {
    this.verifyThrottle = new FailureThrottle({ maxFailures: VERIFY_SECRET_MAX_FAILURES, windowMs: 15 * 60_000, now: () => clock.now() });
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
    await this.outbox.record(repos, { audit, events });
  }

  private view(key: KeyRecord): KeyView {
    return toKeyView(this.catalog, key, this.clock.now());
  }

  async create(account: Account, input: CreateKeyInput, actor: Actor): Promise<IssuedKey> {
    if (!account.eligible)
      throw new AppError(
        'account_not_eligible',
        403,
        'Account not eligible',
        `Account '${account.id}' is not eligible to create API keys. Ask the platform to make it eligible.`,
      );
    const scopes = this.checkScopes(input.kind, input.scopes, '/scopes');
    const roles = this.checkRoles(input.kind, input.roles);
    if (input.kind === 'custom' && scopes.length === 0 && roles.length === 0)
      throw fieldError('/scopes', 'A custom key needs at least one scope or role.');
    const now = this.clock.now();
    const expiresAt =
      input.expiresAt === undefined
        ? account.settings.keyLifetime === null
          ? null
          : now + account.settings.keyLifetime * 1000
        : this.parseExpiry(input.expiresAt, now);
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
      seal: this.sealFor(account),
    });
    await this.store.transaction(async (repos) => {
      // Lock first, count second: parallel creations in one account queue here, so the limit holds.
      if (!(await repos.accounts.lock(account.id))) throw notFound('Account', account.id);
      const limit = (await repos.accounts.find(account.id))!.settings.keyLimitPerEnvironment;
      const count = await repos.keys.countInEnvironment(account.id, input.environment);
      if (count >= limit)
        throw new AppError(
          'key_limit_reached',
          409,
          'Key limit reached',
          `Account '${account.id}' already has ${count} keys in ${input.environment}, its limit. Delete a key or raise keyLimitPerEnvironment.`,
        );
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

  async get(accountId: string, keyId: string): Promise<KeyView> {
    return this.view(await this.find(accountId, keyId));
  }

  /** How many keys the account holds in each environment, and its limit per environment. */
  async counts(account: Account): Promise<{ limit: number; counts: Record<Environment, number> }> {
    const found = await this.store.repos.keys.countByEnvironment(account.id);
    return { limit: account.settings.keyLimitPerEnvironment, counts: { sandbox: found.sandbox ?? 0, production: found.production ?? 0 } };
  }

  async list(accountId: string, input: ListKeysInput): Promise<{ items: KeyView[]; nextCursor: string | null }> {
    const sort = parseSort(input.sort);
    const limit = input.limit ?? DEFAULT_PAGE_SIZE;
    const after = input.cursor === undefined ? undefined : decodeCursor(input.cursor, sort);
    const filter: KeyFilter = {};
    for (const field of ['environment', 'kind', 'credentialType', 'active', 'channel', 'q', 'createdFrom', 'createdTo', 'updatedFrom', 'updatedTo'] as const)
      if (input[field] !== undefined) (filter as Record<string, unknown>)[field] = input[field];
    // One row more than asked tells whether there is a next page without a count query.
    const rows = await this.store.repos.keys.list(accountId, filter, sort, limit + 1, after);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((k) => this.view(k)),
      nextCursor: rows.length > limit && last ? encodeCursor({ value: sortValue(last, sort.field), id: last.id }, sort) : null,
    };
  }

  async update(accountId: string, keyId: string, input: UpdateKeyInput, actor: Actor): Promise<{ before: KeyView; after: KeyView }> {
    const { before, after } = await this.store.transaction(async (repos) => {
      const before = await repos.keys.find(accountId, keyId);
      if (!before) throw notFound('Key', keyId);
      const after: KeyRecord = { ...before };
      if (input.name !== undefined) after.name = input.name.trim();
      if (input.active !== undefined) after.active = input.active;
      if (input.channel !== undefined) after.channel = input.channel;
      if (input.scopes !== undefined) after.scopes = this.checkScopes(before.kind, input.scopes, '/scopes');
      if (input.roles !== undefined) {
        const roles = this.checkRoles(before.kind, input.roles);
        if (before.credentialType === 'token' && !sameRoles(roles, before.roles))
          throw new AppError(
            'roles_immutable',
            400,
            'Roles cannot change',
            'The roles of a token key are fixed when it is created. Create a new key with the roles you need.',
            [{ pointer: '/roles', detail: 'cannot change on a token key' }],
          );
        after.roles = roles;
      }
      if (input.expiresAt !== undefined) after.expiresAt = this.parseExpiry(input.expiresAt, this.clock.now());
      if (input.rateLimit !== undefined) after.rateLimit = input.rateLimit;
      if (after.kind === 'custom' && after.scopes.length === 0 && after.roles.length === 0)
        throw fieldError('/scopes', 'A custom key needs at least one scope or role.');
      after.updatedAt = this.clock.now();
      await repos.keys.update(after);
      await this.recordChanges(repos, [{ type: 'updated', actor, before, after, revokeTokens: false }]);
      return { before, after };
    });
    return { before: this.view(before), after: this.view(after) };
  }

  async delete(accountId: string, keyId: string, revokeTokens: boolean, actor: Actor): Promise<KeyView> {
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
  async batchDelete(accountId: string, ids: string[], confirm: boolean, revokeTokens: boolean, actor: Actor): Promise<KeyView[]> {
    if (confirm !== true) throw confirmationRequired(`Deleting ${ids.length} key${ids.length === 1 ? '' : 's'}`);
    const unique = [...new Set(ids)];
    const keys = await this.store.transaction(async (repos) => {
      const found: KeyRecord[] = [];
      const missing: FieldError[] = [];
      for (const [i, id] of unique.entries()) {
        const key = await repos.keys.find(accountId, id);
        if (key) found.push(key);
        else missing.push({ pointer: `/ids/${ids.indexOf(id)}`, detail: `no key '${id}' in this account` });
        void i;
      }
      if (missing.length)
        throw new AppError('not_found', 404, 'Not found', `${missing.length} of the keys do not exist in this account; nothing was deleted.`, missing);
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
   * With a keyLifetime setting, the key's expiry restarts from now.
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
      throw new AppError('secret_reveal_not_permitted', 403, 'Secret reveal not permitted',
        `Account '${account.id}' never reveals secrets (secretReveal is "never"). Reset the secret to get a new one.`);
    if (key.secretEncrypted === null || !this.keyring)
      throw new AppError('secret_reveal_not_permitted', 409, 'No revealable secret',
        'This secret was made before revealing was permitted (or the key has no secret yet). Reset it to get one that can be revealed.');
    const secret = this.keyring.decryptText(key.secretEncrypted);
    await this.outbox.write({ audit: { actor, entry: { accountId: account.id, action: 'key.revealed', keyId: key.id } } });
    return { key, secret };
  }

  /** Does the candidate match the key's secret (or its previous one, during its grace period)? */
  async verifySecret(accountId: string, keyId: string, candidate: string, actor: Actor): Promise<boolean> {
    const key = await this.find(accountId, keyId);
    // Guessing is slowed per key: after VERIFY_SECRET_MAX_FAILURES misses, the key refuses checks for a while.
    const wait = this.verifyThrottle.retryAfter(key.id);
    if (wait > 0) {
      await this.auditSecretCheck(key, null, actor);
      throw new AppError('rate_limited', 429, 'Too many failed checks', `Too many wrong secrets were checked against this key; try again in ${wait} seconds.`);
    }
    const matches = secretMatches(key, candidate, this.clock.now());
    if (matches) this.verifyThrottle.reset(key.id);
    else this.verifyThrottle.fail(key.id);
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
  async quickstart(accountId: string, keyId: string, baseUrl: string): Promise<{ key: KeyView; samples: QuickstartSample[] }> {
    const key = await this.find(accountId, keyId);
    return { key: this.view(key), samples: quickstartSamples(key, baseUrl) };
  }

  private checkScopes(kind: KeyKind, scopes: string[] | undefined, pointer: string): string[] {
    if (scopes === undefined) return [];
    if (kind !== 'custom') {
      if (scopes.length === 0) return [];
      throw new AppError('invalid_kind_scopes', 400, 'Scopes are fixed for this kind',
        `${kind === 'admin' ? 'Admin keys have every scope of the catalog' : 'Storefront keys have the catalog\u2019s fixed storefront scopes'}; pick scopes on a custom key instead.`,
        [{ pointer, detail: `cannot be set on a ${kind} key` }]);
    }
    const errors = scopes.flatMap((s, i) =>
      this.catalog.scopeSet.has(s) ? [] : [{ pointer: `${pointer}/${i}`, detail: `unknown scope '${s}'` }],
    );
    if (errors.length)
      throw new AppError('unknown_scope', 400, 'Unknown scope', `${errors.length === 1 ? 'A scope is' : 'Some scopes are'} not in the catalog (GET /v1/catalog lists them).`, errors);
    return [...new Set(scopes)];
  }

  private checkRoles(kind: KeyKind, roles: RoleAssignment[] | undefined): RoleAssignment[] {
    if (roles === undefined || roles.length === 0) return [];
    if (kind !== 'custom')
      throw new AppError('invalid_kind_scopes', 400, 'Roles are for custom keys',
        `A ${kind} key's access is fixed by its kind; give roles to a custom key instead.`,
        [{ pointer: '/roles', detail: `cannot be set on a ${kind} key` }]);
    const errors = roles.flatMap((r, i) =>
      this.catalog.grants.has(r.definition) ? [] : [{ pointer: `/roles/${i}/definition`, detail: `unknown role definition '${r.definition}'` }],
    );
    if (errors.length) throw new AppError('unknown_role', 400, 'Unknown role definition', 'A role names a definition that is not in the catalog (GET /v1/catalog lists them).', errors);
    // One level per definition: the highest one asked for.
    const byDefinition = new Map<string, RoleAssignment>();
    const rank = (l: string) => this.catalog.levels.indexOf(l as never);
    for (const r of roles) {
      const seen = byDefinition.get(r.definition);
      if (!seen || rank(r.level) > rank(seen.level)) byDefinition.set(r.definition, { definition: r.definition, level: r.level });
    }
    return [...byDefinition.values()];
  }

  private parseExpiry(value: string | null, now: number): number | null {
    if (value === null) return null;
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) throw fieldError('/expiresAt', `'${value}' is not an ISO 8601 date-time.`);
    if (ms <= now) throw fieldError('/expiresAt', 'must be in the future');
    return ms;
  }
}

/** Does the candidate match the current secret, or the previous one while its grace period lasts? */
export function secretMatches(key: KeyRecord, candidate: string, now: number): boolean {
  const current = secretMatchesHash(candidate, key.secretHash);
  const previous =
    key.previousSecretExpiresAt !== null && key.previousSecretExpiresAt > now && secretMatchesHash(candidate, key.previousSecretHash);
  return current || previous;
}

const sameRoles = (a: RoleAssignment[], b: RoleAssignment[]) => {
  const norm = (r: RoleAssignment[]) => r.map((x) => `${x.definition}:${x.level}`).sort().join(',');
  return norm(a) === norm(b);
};

export function parseSort(value: string | undefined): KeySort {
  if (value === undefined) return { field: 'createdAt', descending: true };
  const descending = value.startsWith('-');
  const field = descending ? value.slice(1) : value;
  if (!(SORT_FIELDS as readonly string[]).includes(field))
    throw new AppError('validation_failed', 400, 'Invalid request', `Cannot sort by '${field}': use ${SORT_FIELDS.join(', ')}, with '-' for descending.`, [{ pointer: '/sort', detail: 'unknown sort field' }]);
  return { field: field as KeySort['field'], descending };
}

/** Cursors are opaque to clients: base64url of the last row's sort value and id, and the sort they belong to. */
function encodeCursor(cursor: KeyCursor, sort: KeySort): string {
  return Buffer.from(JSON.stringify({ s: `${sort.descending ? '-' : ''}${sort.field}`, v: cursor.value, i: cursor.id })).toString('base64url');
}

function decodeCursor(value: string, sort: KeySort): KeyCursor {
  const invalid = (detail: string) =>
    new AppError('invalid_cursor', 400, 'Invalid cursor', detail, [{ pointer: '/cursor', detail }]);
  let parsed: { s?: unknown; v?: unknown; i?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw invalid('The cursor is not one this API returned; pass nextCursor from the previous page unchanged.');
  }
  if (parsed === null || typeof parsed !== 'object' || typeof parsed.i !== 'string' || (typeof parsed.v !== 'string' && typeof parsed.v !== 'number' && parsed.v !== null))
    throw invalid('The cursor is not one this API returned; pass nextCursor from the previous page unchanged.');
  if (parsed.s !== `${sort.descending ? '-' : ''}${sort.field}`)
    throw invalid('The cursor belongs to a listing with another sort order; keep the same sort while paging.');
  return { value: parsed.v, id: parsed.i };
}

function quickstartSamples(key: KeyRecord, baseUrl: string): QuickstartSample[] {
  const tokenUrl = `${baseUrl}/oauth/token`;
  const whoamiUrl = `${baseUrl}/v1/whoami`;
  if (key.credentialType === 'client_secret') {
    const id = key.clientId!;
    return [
      {
        language: 'curl',
        title: 'Get an access token, then call the API with it',
        code: [
          `CLIENT_SECRET='<YOUR_CLIENT_SECRET>'`,
          `TOKEN=$(curl -s -u '${id}':"$CLIENT_SECRET" -d grant_type=client_credentials '${tokenUrl}' | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`,
          `curl -s -H "Authorization: Bearer $TOKEN" '${whoamiUrl}'`,
        ].join('\n'),
      },
      {
        language: 'javascript',
        title: 'Node.js 18+ or a browser-free runtime with fetch',
        code: [
          `const clientId = '${id}';`,
          `const clientSecret = process.env.CLIENT_SECRET ?? '<YOUR_CLIENT_SECRET>';`,
          `const res = await fetch('${tokenUrl}', {`,
          `  method: 'POST',`,
          `  headers: {`,
          `    Authorization: 'Basic ' + Buffer.from(\`\${clientId}:\${clientSecret}\`).toString('base64'),`,
          `    'Content-Type': 'application/x-www-form-urlencoded',`,
          `  },`,
          `  body: 'grant_type=client_credentials',`,
          `});`,
          `const { access_token } = await res.json();`,
          `const me = await fetch('${whoamiUrl}', { headers: { Authorization: \`Bearer \${access_token}\` } });`,
          `console.log(await me.json());`,
        ].join('\n'),
      },
      {
        language: 'python',
        title: 'Python 3 with requests',
        code: [
          `import os, requests`,
          ``,
          `client_id = '${id}'`,
          `client_secret = os.environ.get('CLIENT_SECRET', '<YOUR_CLIENT_SECRET>')`,
          `token = requests.post('${tokenUrl}', data={'grant_type': 'client_credentials'},`,
          `                      auth=(client_id, client_secret)).json()['access_token']`,
          `print(requests.get('${whoamiUrl}', headers={'Authorization': f'Bearer {token}'}).json())`,
        ].join('\n'),
      },
    ];
  }
  return [
    {
      language: 'curl',
      title: 'Call the API with the key as a bearer token',
      code: [`API_KEY='<YOUR_API_KEY>'`, `curl -s -H "Authorization: Bearer $API_KEY" '${whoamiUrl}'`].join('\n'),
    },
    {
      language: 'javascript',
      title: 'Node.js 18+ with fetch',
      code: [
        `const apiKey = process.env.API_KEY ?? '<YOUR_API_KEY>';`,
        `const res = await fetch('${whoamiUrl}', { headers: { Authorization: \`Bearer \${apiKey}\` } });`,
        `console.log(await res.json());`,
      ].join('\n'),
    },
    {
      language: 'python',
      title: 'Python 3 with requests',
      code: [
        `import os, requests`,
        ``,
        `api_key = os.environ.get('API_KEY', '<YOUR_API_KEY>')`,
        `print(requests.get('${whoamiUrl}', headers={'Authorization': f'Bearer {api_key}'}).json())`,
      ].join('\n'),
    },
  ];
}
