import { grantedScopes, type Catalog, type RoleAssignment } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import { ENVIRONMENTS, type Environment } from '../domain/environment.js';
import { hashKeyString, parseKeyString } from '../domain/key-strings.js';
import { LruCache } from '../domain/lru.js';
import { andThen, type MaybePromise } from '../domain/maybe-promise.js';
import type { VerifyCode } from '../domain/verification.js';
import type { KeyRecord, RateLimitPolicy } from '../domain/model.js';
import { IpAllowlist, type CreditRefill } from '../domain/usage-controls.js';
import type { CreditsLedger } from './credits.js';
import type { RateLimitState } from '../domain/rate-limit.js';
import { decodeJwt, looksLikeJwt, verifyJwtSignature } from '../oauth/jwt.js';
import type { RevocationList } from './tokens/revocations.js';
import type { SigningKeys } from './tokens/signing-keys.js';
import type { Store } from '../storage/repositories.js';
import type { CacheGuard } from './cluster-sync.js';
import { ExistingKeys } from './existing-keys.js';
import type { RateLimiter } from './rate-limiter.js';
import type { UsageRecorder } from './usage-recorder.js';

export type { VerifyCode };

/** What a token key or an access token stands for, once found. Immutable and shared by cache hits. */
export interface Credential {
  type: 'key' | 'access_token';
  keyId: string;
  accountId: string;
  environment: Environment;
  /** The key's granted scopes, or the (possibly narrowed) scopes of the token. */
  scopes: readonly string[];
  scopeSet: ReadonlySet<string>;
  roles: readonly RoleAssignment[];
  channel: string | null;
  /** Epoch ms; null for a key without expiry. */
  expiresAt: number | null;
  expiresAtIso: string | null;
  /** Keys: the on/off switch. Tokens are always "active": they carry no switch. */
  active: boolean;
  /** Keys found by a previous secret: when its grace period ends. */
  graceUntil: number | null;
  /** Keys: their usage controls as loaded. Tokens look up their key's current ones (see `KeyPolicy`). */
  policy: KeyPolicy | null;
  /** Access tokens only: the registered claims. */
  token: { jti: string; kid: string; clientId: string; issuedAt: number; issuer: string; audience: string | string[]; grant: GrantClaims | null } | null;
}

/** A token for another account than its key's: the grant it was issued under (external keys). */
export interface GrantClaims {
  id: string;
  /** The grant's version (updatedAt) at issue. */
  version: number;
  /** The account owning the key. */
  keyAccountId: string;
}

/**
 * What a key asks of every use, of the key itself and of every token issued with it (tokens carry
 * no bypass): its rate limit, the networks it may be used from, whether it spends credits, and the
 * metadata verification answers with. Immutable; shared by cache hits.
 */
export interface KeyPolicy {
  rateLimit: RateLimitPolicy | null;
  /** Compiled once: a cached client address is checked without parsing it again. */
  ipAllowlist: IpAllowlist | null;
  /** The key spends credits (counted in the store), with this refill rule; null: unlimited. */
  credits: { refill: CreditRefill | null } | null;
  meta: Record<string, unknown> | null;
  externalId: string | null;
  /** The account owning the key (for a token for another account, not the token's account). */
  keyAccountId: string;
}

/** The policy of a key that is gone: its tokens keep working until they expire, unlimited. */
const NO_POLICY: KeyPolicy = Object.freeze({ rateLimit: null, ipAllowlist: null, credits: null, meta: null, externalId: null, keyAccountId: '' });

export interface Verification {
  valid: boolean;
  code: VerifyCode;
  /** What the credential stands for, when it was found (also when it is refused for a later reason). */
  credential: Credential | null;
  /** Where the key stands against its rate limit, when it has one and the request was counted. */
  rateLimit: RateLimitState | null;
  /** The key's usage controls, once they were looked at. */
  policy: KeyPolicy | null;
  /** The credits left after this use, when the key has credits and they were looked at. */
  credits: number | null;
}

export interface VerifyOptions {
  /** Refuse a credential of the other environment. */
  environment?: Environment | undefined;
  /** Refuse a credential lacking any of these scopes. */
  scopes?: readonly string[] | undefined;
  /**
   * Count the request against the key's rate limit, spend its credits, check the client's address
   * and note the use (default true). False only identifies the credential (revocation, introspection).
   */
  consume?: boolean;
  /**
   * The address of the client the credential came from, as a caller Keyport trusts told it (the
   * gateway's view on /v1/verify, the forwarded address on /v1/authz, the connection's on
   * /oauth/token). A key with an IP allowlist is refused without one.
   */
  clientIp?: string | undefined;
  /** Credits this use spends (default 1); 0 checks that some are left without spending any. */
  cost?: number | undefined;
}

/** Positive entries are re-read after a minute even without an invalidation (a safety net). */
const POSITIVE_TTL_MS = 60_000;
/**
 * Unknown credentials are remembered for a while, so a flood of them stays off the store; a key
 * change clears the entries of its hashes (see `invalidate`), so this is only a bound on memory use.
 */
const NEGATIVE_TTL_MS = 60_000;
/** Refused access tokens (a bad signature, say) are remembered briefly. */
const TOKEN_NEGATIVE_TTL_MS = 5_000;
const CACHE_ENTRIES = 100_000;
const NEGATIVE_ENTRIES = 100_000;

const answer = (code: VerifyCode): Verification => Object.freeze({ valid: false, code, credential: null, rateLimit: null, policy: null, credits: null });
const MALFORMED = answer('malformed');
const UNKNOWN = answer('unknown');

/**
 * The verification hot path: is this token key or access token valid, for what, and may it be used
 * now? Token keys are rejected by their checksum before any lookup, then found by the SHA-256 of the
 * whole string; access tokens by their signature. Both are cached in process by hash, negative
 * answers too (briefly), and the cache is invalidated on every key change (from this node or, via
 * the cluster event log, any other). Per request there is no storage access on a cache hit, and no
 * storage write at all: uses are batched by the UsageRecorder. The caches, and the revocations,
 * are as current as this node's view of the cluster event log: while it is older than the bound,
 * the CacheGuard has the node catch up first, or refuses (503) when the store cannot be read.
 */
export class VerificationService {
  private readonly keys: LruCache<string, Credential>;
  /**
   * Hashes of well-formed token keys the store does not hold: a bounded cache of its own, so that a
   * flood of unknown keys can neither reach the store twice for one hash nor push the cached real
   * keys out. A key change anywhere clears the hashes it names (the key_changed event's lookups),
   * so a key created for a hash remembered here is found at once once this node has read the event.
   */
  private readonly unknown: LruCache<string, true>;
  private readonly tokens: LruCache<string, Credential | VerifyCode>;
  private readonly policies: LruCache<string, KeyPolicy>;
  /**
   * The secret hashes of every token key in the store (a Bloom filter): a made-up key is unknown
   * without a store read and without pushing anything out of the negative cache.
   */
  readonly existingKeys: ExistingKeys;
  /** Loads in flight, so a burst of requests for one uncached key reads the store once. */
  private readonly loading = new Map<string, Promise<Credential | null>>();
  /** Bumped by every invalidation: a load that started before one must not fill the cache. */
  private epoch = 0;

  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly signingKeys: SigningKeys,
    private readonly revocations: RevocationList,
    private readonly rateLimiter: RateLimiter,
    private readonly usage: UsageRecorder,
    private readonly credits: CreditsLedger,
    private readonly guard: CacheGuard,
    /** KEYPORT_UNKNOWN_KEY_READS: absent hashes read from the store all the same, per second. */
    unknownKeyReads: number,
  ) {
    const now = () => clock.now();
    this.keys = new LruCache(CACHE_ENTRIES, now);
    this.unknown = new LruCache(NEGATIVE_ENTRIES, now);
    this.tokens = new LruCache(CACHE_ENTRIES, now);
    this.policies = new LruCache(CACHE_ENTRIES, now);
    this.existingKeys = new ExistingKeys(store, { readsPerSecond: unknownKeyReads, now: () => performance.now() });
  }

  /**
   * Verifies a token key or an access token (told apart by shape). `authorize` is called with the
   * credential's account before anything about it is revealed or counted; it throws to refuse.
   *
   * On a cache hit (without a shared rate limiter) the answer comes synchronously (see
   * `domain/maybe-promise.ts`); callers await the result either way. A node behind the cluster event
   * log catches up first; when it cannot, this rejects with store_unavailable (see CacheGuard).
   */
  verify(value: string, options: VerifyOptions = {}, authorize?: (accountId: string) => void): MaybePromise<Verification> {
    const wait = this.guard.check();
    return wait === undefined ? this.verifyNow(value, options, authorize) : wait.then(() => this.verifyNow(value, options, authorize));
  }

  private verifyNow(value: string, options: VerifyOptions, authorize: ((accountId: string) => void) | undefined): MaybePromise<Verification> {
    const found = looksLikeJwt(value) ? this.identifyToken(value) : this.identifyKey(value);
    return andThen(found, (f) => this.evaluate(f, options, authorize));
  }

  private evaluate(
    found: Credential | VerifyCode,
    options: VerifyOptions,
    authorize: ((accountId: string) => void) | undefined,
  ): MaybePromise<Verification> {
    if (typeof found === 'string') return found === 'malformed' ? MALFORMED : found === 'unknown' ? UNKNOWN : answer(found);
    if (authorize !== undefined) authorize(found.accountId);
    const now = this.clock.now();
    if (found.type === 'key') {
      if (!found.active) return this.refuse('inactive', found, null, options, now);
      if (found.expiresAt !== null && found.expiresAt <= now) return this.refuse('expired', found, null, options, now);
      if (found.graceUntil !== null && found.graceUntil <= now) return this.refuse('expired', found, null, options, now);
    } else {
      if (found.expiresAt! <= now) return this.refuse('expired', found, null, options, now);
      const token = found.token!;
      if (this.revocations.isRevoked(token.jti, token.clientId) || this.signingKeys.isWithdrawn(token.kid)) return this.refuse('revoked', found, null, options, now);
      // Valid only while its grant stands as it was when the token was issued.
      if (token.grant !== null && this.revocations.isGrantRevoked(token.grant.id, found.keyId, token.grant.version)) return this.refuse('revoked', found, null, options, now);
    }
    if (options.environment !== undefined && options.environment !== found.environment) return this.refuse('wrong_environment', found, null, options, now);
    if (options.scopes !== undefined)
      for (const scope of options.scopes) if (!found.scopeSet.has(scope)) return this.refuse('insufficient_scope', found, null, options, now);
    const policy = found.policy ?? this.policyOf(found);
    return policy instanceof Promise ? policy.then((p) => this.admit(found, p, options, now)) : this.admit(found, policy, options, now);
  }

  /** The key's usage controls, in the order that costs least: address, rate limit, then credits. */
  private admit(found: Credential, policy: KeyPolicy, options: VerifyOptions, now: number): MaybePromise<Verification> {
    if (options.consume === false) return { valid: true, code: 'valid', credential: found, rateLimit: null, policy, credits: null };
    if (policy.ipAllowlist !== null && (options.clientIp === undefined || !policy.ipAllowlist.allows(options.clientIp)))
      return this.refuse('ip_not_allowed', found, policy, options, now);
    if (policy.rateLimit === null) return this.spend(found, policy, null, options, now);
    return andThen(this.rateLimiter.hit(found.keyId, policy.rateLimit, now), (rateLimit: RateLimitState): MaybePromise<Verification> => {
      if (!rateLimit.allowed) {
        this.usage.count(found, 'rate_limited', now);
        return { valid: false, code: 'rate_limited', credential: found, rateLimit, policy, credits: null };
      }
      return this.spend(found, policy, rateLimit, options, now);
    });
  }

  /**
   * Spends the use's credits in the store (one atomic statement: exact across nodes), when the key
   * has credits; keys without credits pay nothing here. Then the use is noted (lastUsedAt, counts).
   */
  private spend(found: Credential, policy: KeyPolicy, rateLimit: RateLimitState | null, options: VerifyOptions, now: number): MaybePromise<Verification> {
    if (policy.credits === null) {
      this.usage.record(found.keyId, now);
      this.usage.count(found, 'valid', now);
      return { valid: true, code: 'valid', credential: found, rateLimit, policy, credits: null };
    }
    return this.credits.spend(found.keyId, policy.keyAccountId, policy.credits.refill, options.cost ?? 1, now).then((spent): Verification => {
      if (spent.kind === 'refused') {
        this.usage.count(found, 'usage_exceeded', now);
        return { valid: false, code: 'usage_exceeded', credential: found, rateLimit, policy, credits: spent.remaining };
      }
      this.usage.record(found.keyId, now);
      this.usage.count(found, 'valid', now);
      return { valid: true, code: 'valid', credential: found, rateLimit, policy, credits: spent.kind === 'spent' ? spent.remaining : null };
    });
  }

  /** A refusal of a credential that was found; counted in the key's usage unless only identifying. */
  private refuse(code: VerifyCode, credential: Credential, policy: KeyPolicy | null, options: VerifyOptions, now: number): Verification {
    if (options.consume !== false) this.usage.count(credential, code, now);
    return { valid: false, code, credential, rateLimit: null, policy, credits: null };
  }

  /** The caches by name, for the metrics (entries, hits, misses). */
  get caches(): Record<string, { readonly size: number; readonly hits: number; readonly misses: number }> {
    return { verified_keys: this.keys, key_filter: this.existingKeys, unknown_keys: this.unknown, verified_tokens: this.tokens, key_policies: this.policies };
  }

  /** Forgets cached answers for these secret hashes and key ids (after a key change anywhere). */
  invalidate(lookups: readonly string[], keyId: string | null): void {
    this.epoch++;
    // Every invalidation also ends the loads in flight for sharing: a request arriving after it
    // reads the store anew rather than joining a read that may predate the change.
    this.loading.clear();
    for (const lookup of lookups) {
      this.keys.delete(lookup);
      this.unknown.delete(lookup);
    }
    // A created key, or a new secret, is in the filter before anyone can have been told of it.
    this.existingKeys.add(lookups);
    if (keyId !== null) this.policies.delete(keyId);
  }

  // -- token keys --------------------------------------------------------------------------------

  private identifyKey(value: string): MaybePromise<Credential | VerifyCode> {
    // The checksum rejects typos and garbage before any lookup, cache included.
    const parsed = parseKeyString(value);
    if (parsed === null || parsed.type !== 'token') return 'malformed';
    const hash = hashKeyString(value);
    const cached = this.keys.get(hash);
    if (cached !== undefined) return cached;
    // The negative cache first: a made-up key sent again must not spend the filter's read budget.
    if (this.unknown.get(hash) !== undefined) return 'unknown';
    if (!this.existingKeys.worthReading(hash)) return 'unknown';
    const inFlight = this.loading.get(hash);
    if (inFlight !== undefined) return inFlight.then((credential) => credential ?? 'unknown');
    const loaded = this.loadKey(hash);
    // SQLite answers synchronously: nothing can run meanwhile, so there is nothing to share.
    if (!(loaded instanceof Promise)) return loaded ?? 'unknown';
    const pending = loaded.finally(() => {
      if (this.loading.get(hash) === pending) this.loading.delete(hash);
    });
    this.loading.set(hash, pending);
    return pending.then((credential) => credential ?? 'unknown');
  }

  /**
   * Reads a key by secret hash through the store's prepared statement and caches the answer (an
   * unknown hash in the bounded negative cache), unless an invalidation came meanwhile.
   */
  private loadKey(hash: string): MaybePromise<Credential | null> {
    const epoch = this.epoch;
    return andThen(this.store.repos.keys.lookupByAnySecretHash(hash), (record) => {
      const credential =
        record === undefined || record.credentialType !== 'token'
          ? null
          : this.keyCredential(record, record.secretHash === hash ? null : (record.previousSecretExpiresAt ?? 0));
      if (epoch === this.epoch) {
        if (credential === null) this.unknown.set(hash, true, NEGATIVE_TTL_MS);
        else this.keys.set(hash, credential, POSITIVE_TTL_MS);
      }
      return credential;
    });
  }

  private keyCredential(record: KeyRecord, graceUntil: number | null): Credential {
    const scopes = grantedScopes(this.catalog, record.kind, record.scopes, record.roles);
    return Object.freeze({
      type: 'key',
      keyId: record.id,
      accountId: record.accountId,
      environment: record.environment,
      scopes,
      scopeSet: new Set(scopes),
      roles: record.roles,
      channel: record.channel,
      expiresAt: record.expiresAt,
      expiresAtIso: record.expiresAt === null ? null : new Date(record.expiresAt).toISOString(),
      active: record.active,
      graceUntil,
      policy: keyPolicy(record),
      token: null,
    });
  }

  // -- access tokens -----------------------------------------------------------------------------

  private identifyToken(value: string): MaybePromise<Credential | VerifyCode> {
    const hash = hashKeyString(value);
    const cached = this.tokens.get(hash);
    return cached !== undefined ? cached : this.verifyToken(value, hash);
  }

  private async verifyToken(value: string, hash: string): Promise<Credential | VerifyCode> {
    let found = this.decodeToken(value);
    if (found === 'unknown' && (await this.signingKeys.reloadForUnknownKid())) found = this.decodeToken(value);
    // A verified token's claims never change (expiry and revocation are checked per request).
    this.tokens.set(hash, found, typeof found === 'string' ? TOKEN_NEGATIVE_TTL_MS : undefined);
    return found;
  }

  /** Checks the signature and the claims of an access token; a code when it is not one of ours. */
  private decodeToken(value: string): Credential | VerifyCode {
    const jwt = decodeJwt(value);
    if (jwt === null) return 'malformed';
    const { header, payload: p } = jwt;
    if (typeof header.kid !== 'string') return 'unknown';
    // RFC 9068 4: the typ header must be at+jwt (or its full media type).
    if (typeof header.typ !== 'string' || !/^(application\/)?at\+jwt$/i.test(header.typ)) return 'malformed';
    // Signed by a key withdrawn after a suspected compromise: whatever the signature, not valid.
    if (this.signingKeys.isWithdrawn(header.kid)) return 'revoked';
    // The algorithm is the key's, never the token's (a token naming another one fails).
    const signer = this.signingKeys.publicKey(header.kid);
    if (signer === undefined || !verifyJwtSignature(jwt, signer.key, signer.alg)) return 'unknown';
    const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
    if (
      !str(p.sub) || !str(p.jti) || !str(p.client_id) || !str(p.iss) || !str(p.account) ||
      typeof p.exp !== 'number' || typeof p.iat !== 'number' || typeof p.scope !== 'string' ||
      !ENVIRONMENTS.includes(p.environment as Environment) || !Array.isArray(p.roles) ||
      (p.aud !== undefined && !str(p.aud) && !Array.isArray(p.aud))
    )
      return 'malformed';
    let grant: GrantClaims | null = null;
    if (p.grant_id !== undefined) {
      if (!str(p.grant_id) || typeof p.grant_version !== 'number' || !str(p.key_account)) return 'malformed';
      grant = { id: p.grant_id, version: p.grant_version, keyAccountId: p.key_account };
    }
    const scopes = p.scope === '' ? [] : p.scope.split(' ');
    const expiresAt = p.exp * 1000;
    return Object.freeze({
      type: 'access_token',
      keyId: p.sub,
      accountId: p.account,
      environment: p.environment as Environment,
      scopes,
      scopeSet: new Set(scopes),
      roles: p.roles as RoleAssignment[],
      channel: str(p.channel) ? p.channel : null,
      expiresAt,
      expiresAtIso: new Date(expiresAt).toISOString(),
      active: true,
      graceUntil: null,
      policy: null,
      token: { jti: p.jti, kid: header.kid, clientId: p.client_id, issuedAt: p.iat, issuer: p.iss, audience: p.aud as string | string[], grant },
    });
  }

  /** The current usage controls of the key a token was issued with (none once the key is deleted). */
  private policyOf(credential: Credential): MaybePromise<KeyPolicy> {
    const cached = this.policies.get(credential.keyId);
    return cached !== undefined ? cached : this.loadPolicy(credential);
  }

  private async loadPolicy(credential: Credential): Promise<KeyPolicy> {
    const epoch = this.epoch;
    // A token for another account is governed by its key, in the key's own account.
    const record = await this.store.repos.keys.find(credential.token?.grant?.keyAccountId ?? credential.accountId, credential.keyId);
    const policy = record === undefined ? NO_POLICY : keyPolicy(record);
    if (epoch === this.epoch) this.policies.set(credential.keyId, policy, POSITIVE_TTL_MS);
    return policy;
  }
}

/** A key's usage controls as the hot path checks them: the allowlist compiled once. */
export function keyPolicy(record: KeyRecord): KeyPolicy {
  return Object.freeze({
    rateLimit: record.rateLimit,
    ipAllowlist: record.ipAllowlist === null ? null : new IpAllowlist(record.ipAllowlist),
    credits: record.credits === null ? null : Object.freeze({ refill: record.credits.refill }),
    meta: record.meta,
    externalId: record.externalId,
    keyAccountId: record.accountId,
  });
}
