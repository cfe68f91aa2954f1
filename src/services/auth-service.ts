import type { Clock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import { generateKeyString, hashKeyString } from '../domain/key-strings.js';
import { LruCache } from '../domain/lru.js';
import type { MaybePromise } from '../domain/maybe-promise.js';
import { platformPrincipal, type Permission, type Principal } from '../domain/principal.js';
import { BUILT_IN_ROLES, isBuiltInRole } from '../domain/roles.js';
import type { Store } from '../storage/repositories.js';

/** How long a resolved portal session is trusted before storage is asked again (a sign-out reaches every node within it). */
export const PRINCIPAL_CACHE_MS = 1000;
/**
 * How long a resolved bearer token is kept: revocations and membership changes reach every node
 * through the cluster event log (and clear this cache), expiry is checked on every use, so this is
 * only a safety net. It lets a node keep verifying for its callers while the store is briefly away.
 */
export const TOKEN_CACHE_MS = 60_000;
/** How long before its cache entry runs out a token in use is read again, in the background. */
const TOKEN_REFRESH_AHEAD_MS = 10_000;

/** A resolved bearer token: its principal, when it expires (null: never), when to read it again. */
interface CachedToken {
  principal: Principal;
  expiresAt: number | null;
  refreshAt: number;
}

/** Turns management bearer tokens into principals, and makes the platform owner token. */
export class AuthService {
  /** Bearer token hash -> the principal and when the token expires (null: never), or null for an unknown or revoked token. */
  private readonly cache: LruCache<string, CachedToken | null>;
  /** Bearer tokens being read from the store (see `load`). */
  private readonly loading = new Map<string, Promise<CachedToken | null>>();
  private readonly knownAccounts = new LruCache<string, true>(100_000);
  private readonly sessionCache: LruCache<string, { principal: Principal; csrfToken: string } | null>;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {
    this.cache = new LruCache(10_000, () => clock.now());
    this.sessionCache = new LruCache(10_000, () => clock.now());
  }

  /** The caches by name, for the metrics (entries, hits, misses). */
  get caches(): Record<string, { readonly size: number; readonly hits: number; readonly misses: number }> {
    return { management_tokens: this.cache, sessions: this.sessionCache };
  }

  /**
   * Makes sure a platform owner token exists. With `bootstrapToken` set, that token is stored (once)
   * and nothing is returned; without it, a token is generated only when none exists yet, and
   * returned so it can be shown once.
   */
  async ensurePlatformToken(bootstrapToken: string | undefined): Promise<string | null> {
    const plaintext = bootstrapToken ?? ((await this.store.repos.apiTokens.countOfKind('platform')) === 0 ? generateKeyString('apiToken', 'production') : null);
    if (plaintext === null) return null;
    const tokenHash = hashKeyString(plaintext);
    if (await this.store.repos.apiTokens.findByHash(tokenHash)) return null;
    await this.store.repos.apiTokens.insert({
      id: newId('tok'),
      tokenHash,
      kind: 'platform',
      name: 'platform owner',
      operatorId: null,
      accountId: null,
      expiresAt: null,
      createdAt: this.clock.now(),
      revokedAt: null,
    });
    return bootstrapToken === undefined ? plaintext : null;
  }

  /**
   * The principal a bearer token stands for, or null when it is unknown, revoked or expired. From
   * the cache it comes synchronously (the verification path costs no promise for it).
   */
  authenticate(bearer: string): MaybePromise<Principal | null> {
    const tokenHash = hashKeyString(bearer);
    const cached = this.cache.get(tokenHash);
    if (cached === undefined) return this.load(tokenHash);
    if (cached === null) return null;
    const now = this.clock.now();
    // Read again in the background before the entry runs out, so a busy caller never waits for it.
    if (cached.refreshAt <= now && !this.loading.has(tokenHash)) this.load(tokenHash).catch(() => {});
    return cached.expiresAt === null || cached.expiresAt > now ? cached.principal : null;
  }

  /**
   * Reads a bearer token, one read per token at a time: requests arriving while it is read share
   * it. An invalidation meanwhile neither lets the read fill the cache nor lets later requests join it.
   */
  private load(tokenHash: string): Promise<Principal | null> {
    let pending = this.loading.get(tokenHash);
    if (pending === undefined) {
      const read = this.read(tokenHash).finally(() => {
        if (this.loading.get(tokenHash) === read) this.loading.delete(tokenHash);
      });
      this.loading.set(tokenHash, read);
      pending = read;
    }
    return pending.then((resolved) => (resolved === null || (resolved.expiresAt !== null && resolved.expiresAt <= this.clock.now()) ? null : resolved.principal));
  }

  private async read(tokenHash: string): Promise<CachedToken | null> {
    const epoch = this.epoch;
    const resolved = await this.resolve(tokenHash);
    const entry = resolved === null ? null : { ...resolved, refreshAt: this.clock.now() + TOKEN_CACHE_MS - TOKEN_REFRESH_AHEAD_MS };
    // A change committed while this was read must not be covered up by what was read before it.
    if (epoch === this.epoch) this.cache.set(tokenHash, entry, entry === null ? PRINCIPAL_CACHE_MS : TOKEN_CACHE_MS);
    return entry;
  }

  private async resolve(tokenHash: string): Promise<{ principal: Principal; expiresAt: number | null } | null> {
    const token = await this.store.repos.apiTokens.findByHash(tokenHash);
    if (!token || token.revokedAt !== null) return null;
    const principal =
      token.kind === 'platform'
        ? platformPrincipal(token.id)
        : token.kind === 'service'
          ? servicePrincipal(token.id, token.name, token.accountId)
          : token.kind === 'personal' && token.operatorId
            ? await this.operatorPrincipal(token.operatorId, token.id)
            : null;
    if (principal !== null && token.kind !== 'platform') principal.tokenExpiresAt = token.expiresAt;
    return principal === null ? null : { principal, expiresAt: token.expiresAt };
  }

  /**
   * The operator behind a portal session cookie, and the session's CSRF token, or null when the
   * session is unknown or expired.
   */
  async authenticateSession(cookie: string): Promise<{ principal: Principal; csrfToken: string } | null> {
    const key = `session:${hashKeyString(cookie)}`;
    const cached = this.sessionCache.get(key);
    if (cached !== undefined) return cached;
    const session = await this.store.repos.sessions.findByHash(hashKeyString(cookie));
    let result: { principal: Principal; csrfToken: string } | null = null;
    if (session && session.expiresAt > this.clock.now()) {
      const principal = await this.operatorPrincipal(session.operatorId, session.id);
      if (principal) result = { principal: { ...principal, sessionId: session.id }, csrfToken: session.csrfToken };
    }
    this.sessionCache.set(key, result, PRINCIPAL_CACHE_MS);
    return result;
  }

  /** An operator with the permissions of their role in each account they belong to. */
  private async operatorPrincipal(operatorId: string, credentialId: string): Promise<Principal | null> {
    const operator = await this.store.repos.operators.find(operatorId);
    if (!operator) return null;
    const memberships = await this.store.repos.memberships.ofOperator(operatorId);
    const custom = new Map((await this.store.repos.customRoles.ofAccounts(memberships.map((m) => m.accountId))).map((r) => [r.id, r.permissions]));
    const byAccount = new Map<string, ReadonlySet<Permission>>();
    for (const m of memberships) byAccount.set(m.accountId, new Set(isBuiltInRole(m.role) ? BUILT_IN_ROLES[m.role] : (custom.get(m.role) ?? [])));
    const none: ReadonlySet<Permission> = new Set();
    return {
      kind: 'operator',
      id: operatorId,
      label: operator.email,
      operatorId,
      permissionsOn: (accountId) => byAccount.get(accountId) ?? none,
      isPlatformOwner: false,
      accounts: () => [...byAccount.keys()],
      ...(credentialId.startsWith('tok_') ? {} : { sessionId: credentialId }),
    };
  }

  /**
   * Does the account exist? Accounts are never deleted, so a yes is remembered; a no is asked again.
   * Lets callers that hold permissions on every account (the platform owner) get a 404 for unknown ids.
   */
  async accountExists(id: string): Promise<boolean> {
    if (this.knownAccounts.get(id)) return true;
    const exists = (await this.store.repos.accounts.find(id)) !== undefined;
    if (exists) this.knownAccounts.set(id, true);
    return exists;
  }

  /** Bumped by every invalidation: a load that started before one must not fill the cache. */
  private epoch = 0;

  /** Forgets cached answers, after a token was revoked or a membership changed (here or, through the event log, anywhere). */
  invalidate(): void {
    this.epoch++;
    this.loading.clear();
    this.cache.clear();
    this.sessionCache.clear();
  }
}

const VERIFY_ONLY: ReadonlySet<Permission> = new Set(['keys.verify']);
const NONE: ReadonlySet<Permission> = new Set();

/**
 * A gateway's service token: `keys.verify` and nothing else, on one account, or on every account
 * when the platform owner made it.
 */
function servicePrincipal(tokenId: string, name: string, accountId: string | null): Principal {
  return {
    kind: 'service',
    id: tokenId,
    label: name,
    permissionsOn: (account) => (accountId === null || account === accountId ? VERIFY_ONLY : NONE),
    isPlatformOwner: false,
    accounts: () => (accountId === null ? [] : [accountId]),
  };
}
