import * as nodeCrypto from 'node:crypto';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { LruCache } from './cache.js';
import { KeyportError } from './errors.js';
import { EventStreamClient, type ServerSentEvent } from './stream.js';

export type Environment = 'sandbox' | 'production';

/** The codes of a verification, as POST /v1/verify gives them. */
export const VERIFY_CODES = [
  'valid',
  'unknown',
  'malformed',
  'inactive',
  'expired',
  'revoked',
  'wrong_environment',
  'insufficient_scope',
  'rate_limited',
  'ip_not_allowed',
  'usage_exceeded',
] as const;
export type VerifyCode = (typeof VERIFY_CODES)[number];
const CODES = new Set<string>(VERIFY_CODES);
/** The codes usage analytics counts (every code of a credential that belongs to a key). */
const COUNTED = new Set<string>(['valid', 'inactive', 'expired', 'revoked', 'wrong_environment', 'insufficient_scope', 'rate_limited', 'ip_not_allowed', 'usage_exceeded']);

/** A role on a key: a role definition of the catalog at an access level. */
export interface Role {
  definition: string;
  level: 'viewer' | 'editor' | 'owner';
}

/** What `verify()` answers: the fields of POST /v1/verify. */
export interface VerifyResult {
  valid: boolean;
  code: VerifyCode;
  keyId?: string;
  account?: string;
  environment?: Environment;
  scopes?: string[];
  roles?: Role[];
  channel?: string | null;
  expiresAt?: string | null;
  grantId?: string;
  keyAccount?: string;
  meta?: Record<string, unknown> | null;
  externalId?: string | null;
  credits?: { remaining: number };
  /** Keys with a rate limit (answered by Keyport): where the key stands, from the RateLimit-* headers. */
  rateLimit?: { limit: number; remaining: number; resetSeconds: number };
}

export interface VerifyOptions {
  /** Scopes the credential must all hold. */
  scopes?: readonly string[];
  /** The environment this service serves; defaults to the verifier's `environment`. */
  environment?: Environment;
  /** The client's address, for keys with an IP allowlist. */
  clientIp?: string;
  /** Credits this use spends, for keys with credits (default 1). */
  cost?: number;
}

export interface VerifierOptions {
  /** Keyport's base URL, e.g. https://keys.example.com. */
  url: string;
  /** A service token holding `keys.verify` on the accounts whose credentials this service accepts. */
  serviceToken: string;
  /** The environment this service serves: credentials of the other one are refused (`wrong_environment`). */
  environment?: Environment;
  /**
   * How long (ms) cached answers are given while the event stream is down (default 30 000). After
   * that, every verification asks Keyport, and fails (KeyportError) when Keyport cannot answer.
   */
  maxStaleness?: number;
  /** The `aud` access tokens must carry (default: Keyport's base URL, the issuer's default audience). */
  audience?: string;
  /** Most credentials cached (token keys and access tokens each; default 10 000). */
  cacheSize?: number;
  /** How long (ms) a cached answer lives without any event about it (default 60 000: a safety net). */
  cacheTtl?: number;
  /** How long (ms) a negative answer (unknown, malformed) is kept (default 10 000). */
  negativeCacheTtl?: number;
  /** How often (ms) the uses answered here are reported to Keyport (default 5000). */
  usageInterval?: number;
  /** Timeout (ms) of each call to Keyport (default 5000). */
  requestTimeout?: number;
  /** The heartbeat interval (ms) asked of the event stream (default: the smaller of 5000 and maxStaleness / 3). */
  heartbeat?: number;
  /** Told of background failures (event stream down, usage report failed). */
  onError?: (err: unknown) => void;
  /** For tests and special transports. */
  fetch?: typeof fetch;
  /** The clock (epoch ms), for tests. */
  now?: () => number;
}

/** The state of the verifier, for health checks and metrics. */
export interface VerifierStatus {
  /** The event stream is connected and caught up, and heard from within maxStaleness. */
  fresh: boolean;
  connected: boolean;
  /** Milliseconds since the stream was last heard from (Infinity: never). */
  sinceHeardMs: number;
  cachedKeys: number;
  cachedTokens: number;
  /** Calls made to Keyport's verification endpoints so far (lookups and /v1/verify). */
  remoteCalls: number;
}

/** A token key, as kept by its hash. */
interface KeyEntry {
  keyId: string | null;
  local: boolean;
  identity: VerifyResult;
  until: number | null;
}

/** An access token whose signature and claims checked out, as kept by its hash; or a refusal code. */
interface TokenEntry {
  identity: VerifyResult;
  keyId: string;
  jti: string;
  clientId: string;
  kid: string;
  exp: number;
  grant: boolean;
}

/** What a token's key asks of its uses (from Keyport's lookup), per key id. */
interface KeyPolicy {
  local: boolean;
  meta: Record<string, unknown> | null;
  externalId: string | null;
}

interface UsageEntry {
  account: string;
  environment: Environment;
  lastUsedAt: number;
  outcomes: Record<string, number>;
}

const ENVIRONMENTS = new Set(['sandbox', 'production']);
const CREDENTIAL_MAX = 8192;
const JWKS_COOLDOWN_MS = 10_000;
const MALFORMED: VerifyResult = Object.freeze({ valid: false, code: 'malformed' });

// crypto.hash (Node 20.12+) hashes in one call, about twice as fast as createHash for short input.
const oneShot = (nodeCrypto as { hash?: (alg: string, data: string, encoding: 'base64url') => string }).hash;
const sha256 = oneShot !== undefined ? (value: string) => oneShot('sha256', value, 'base64url') : (value: string) => nodeCrypto.createHash('sha256').update(value).digest('base64url');
const looksLikeJwt = (value: string) => value.startsWith('eyJ') && value.split('.').length === 3;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A /v1/verify answer as Keyport sends it, checked field by field: anything else is not an answer. */
function checkAnswer(body: unknown): VerifyResult {
  if (!isObject(body) || typeof body.valid !== 'boolean' || typeof body.code !== 'string' || !CODES.has(body.code))
    throw new KeyportError('keyport_unavailable', 'Keyport answered something that is not a verification answer');
  if (body.valid !== (body.code === 'valid')) throw new KeyportError('keyport_unavailable', 'Keyport answered a verification that contradicts itself');
  if (body.valid) {
    if (typeof body.keyId !== 'string' || typeof body.account !== 'string' || !ENVIRONMENTS.has(body.environment as string) || !Array.isArray(body.scopes) || !body.scopes.every((s) => typeof s === 'string'))
      throw new KeyportError('keyport_unavailable', 'Keyport answered a valid verification without its identity');
  }
  return body as unknown as VerifyResult;
}

/**
 * Verifies Keyport token keys and access tokens in this process. See the package README for what
 * is cached, for how long, and what holds when the event stream is down.
 */
export class Verifier {
  readonly url: string;
  readonly environment: Environment | undefined;
  readonly maxStaleness: number;
  private readonly serviceToken: string;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly keys: LruCache<KeyEntry>;
  private readonly tokens: LruCache<TokenEntry | VerifyCode>;
  private readonly policies: LruCache<KeyPolicy>;
  /** Cached token-key hashes per key id, for key_changed events. */
  private readonly hashesOfKey = new Map<string, Set<string>>();
  private readonly revokedTokens = new Map<string, number>();
  private readonly revokedClients = new Map<string, number>();
  private readonly withdrawnKids = new Set<string>();
  /** A token's answer with its key's metadata, built once per token and policy. */
  private readonly answers = new WeakMap<TokenEntry, { policy: KeyPolicy; result: VerifyResult }>();
  private readonly stream: EventStreamClient;
  private readonly options: Required<Pick<VerifierOptions, 'cacheTtl' | 'negativeCacheTtl' | 'requestTimeout'>> & VerifierOptions;
  /**
   * Counts the events heard: an answer asked for before an event about its key (or before a reset)
   * does not go into the caches, since it may predate the change.
   */
  private epoch = 0;
  private resetEpoch = 0;
  /** The epoch of the last event about each key, kept while an answer asked before it may still arrive. */
  private readonly keyEpochs = new Map<string, { epoch: number; at: number }>();
  private heardAt = -Infinity;
  private caughtUp = false;
  private connected = false;
  private remoteCalls = 0;
  private usage = new Map<string, UsageEntry>();
  private usageTimer: NodeJS.Timeout;
  private sweepTimer: NodeJS.Timeout;
  private closed = false;
  private jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  private jwksLoading: Promise<void> | undefined;
  private jwksFetchedAt = -Infinity;
  private issuers: Set<string> | undefined;
  private audience: string | undefined;
  private readyWaiters: (() => void)[] = [];

  constructor(options: VerifierOptions) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new TypeError('createVerifier needs an options object: { url, serviceToken, environment? }');
    const { url, serviceToken, environment } = options;
    if (typeof url !== 'string' || url.length === 0) throw new TypeError('createVerifier: `url` is required: the base URL of Keyport, e.g. https://keys.example.com');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError(`createVerifier: \`url\` must be an absolute http(s) URL (got '${url}')`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`createVerifier: \`url\` must be an http(s) URL (got '${url}')`);
    if (typeof serviceToken !== 'string' || serviceToken.trim().length === 0)
      throw new TypeError('createVerifier: `serviceToken` is required: a Keyport service token holding keys.verify');
    if (environment !== undefined && !ENVIRONMENTS.has(environment)) throw new TypeError(`createVerifier: \`environment\` must be 'sandbox' or 'production' (got '${String(environment)}')`);
    for (const name of ['maxStaleness', 'cacheSize', 'cacheTtl', 'negativeCacheTtl', 'usageInterval', 'requestTimeout', 'heartbeat'] as const) {
      const v = options[name];
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) throw new TypeError(`createVerifier: \`${name}\` must be a positive number of ${name === 'cacheSize' ? 'entries' : 'milliseconds'} (got ${String(v)})`);
    }
    if (options.audience !== undefined && (typeof options.audience !== 'string' || options.audience.length === 0)) throw new TypeError('createVerifier: `audience` must be a non-empty string');
    this.url = parsed.toString().replace(/\/+$/, '');
    this.serviceToken = serviceToken;
    this.environment = environment;
    this.maxStaleness = options.maxStaleness ?? 30_000;
    this.options = { cacheTtl: 60_000, negativeCacheTtl: 10_000, requestTimeout: 5000, ...options };
    this.fetch = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
    const size = options.cacheSize ?? 10_000;
    this.keys = new LruCache(size, this.now);
    this.tokens = new LruCache(size, this.now);
    this.policies = new LruCache(size, this.now);
    const heartbeat = Math.max(200, Math.round(options.heartbeat ?? Math.min(5000, this.maxStaleness / 3)));
    this.stream = new EventStreamClient({
      url: `${this.url}/v1/events?heartbeat=${heartbeat}`,
      headers: { authorization: `Bearer ${serviceToken}` },
      fetch: this.fetch,
      // Three heartbeats missed: the connection is dead, whatever TCP says.
      idleTimeoutMs: heartbeat * 3 + 1000,
      onEvent: (event) => this.onEvent(event),
      onDown: (err) => {
        this.connected = false;
        this.caughtUp = false;
        if (!this.closed) this.options.onError?.(err);
      },
    });
    this.stream.start();
    this.usageTimer = setInterval(() => void this.flushUsage().catch((err) => this.options.onError?.(err)), options.usageInterval ?? 5000);
    this.usageTimer.unref();
    this.sweepTimer = setInterval(() => this.sweep(), 60_000);
    this.sweepTimer.unref();
  }

  /** Resolves once the event stream is connected and caught up (until then, every answer comes from Keyport). */
  ready(): Promise<void> {
    if (this.isFresh()) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  status(): VerifierStatus {
    return {
      fresh: this.isFresh(),
      connected: this.connected,
      sinceHeardMs: this.now() - this.heardAt,
      cachedKeys: this.keys.size,
      cachedTokens: this.tokens.size,
      remoteCalls: this.remoteCalls,
    };
  }

  /** Stops the event stream and reports the uses not reported yet. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.usageTimer);
    clearInterval(this.sweepTimer);
    await this.stream.stop();
    await this.flushUsage().catch((err) => this.options.onError?.(err));
  }

  /** Drops the event stream's connection, as a network fault would (for tests and drills). */
  dropStream(): void {
    this.stream.drop();
  }

  private isFresh(): boolean {
    return this.caughtUp && this.now() - this.heardAt <= this.maxStaleness;
  }

  /**
   * Verifies a token key or an access token. Answers like POST /v1/verify; rejects with a
   * KeyportError only when no answer can be given (never a pass).
   */
  async verify(credential: string, options: VerifyOptions = {}): Promise<VerifyResult> {
    if (typeof credential !== 'string') throw new TypeError(`verify: the credential must be a string (got ${credential === null ? 'null' : typeof credential})`);
    if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new TypeError('verify: options must be an object: { scopes?, environment?, clientIp?, cost? }');
    const { scopes, clientIp, cost } = options;
    if (scopes !== undefined && (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && s.length > 0)))
      throw new TypeError('verify: `scopes` must be an array of non-empty strings');
    const environment = options.environment ?? this.environment;
    if (environment !== undefined && !ENVIRONMENTS.has(environment)) throw new TypeError(`verify: \`environment\` must be 'sandbox' or 'production' (got '${String(environment)}')`);
    if (clientIp !== undefined && typeof clientIp !== 'string') throw new TypeError('verify: `clientIp` must be a string');
    if (cost !== undefined && (!Number.isInteger(cost) || cost < 0)) throw new TypeError('verify: `cost` must be a non-negative integer');
    if (this.closed) throw new KeyportError('closed', 'verify: this verifier was closed');
    if (credential.length === 0 || credential.length > CREDENTIAL_MAX) return MALFORMED;
    const request: Required<Pick<VerifyOptions, 'scopes'>> & VerifyOptions = { scopes: scopes ?? [], environment, clientIp, cost };
    // Stale: no cached answer is trusted; Keyport answers (and nothing is cached meanwhile).
    if (!this.isFresh()) return this.remoteVerify(credential, request);
    return looksLikeJwt(credential) ? this.verifyToken(credential, request) : this.verifyKey(credential, request);
  }

  /**
   * The answer from the cache, synchronously, when there is one that may be given now (the stream
   * is current, the credential was seen and is answered here); undefined when `verify()` must ask
   * Keyport. Takes trusted options (middleware passes its own): they are not checked again.
   */
  cached(credential: string, options: VerifyOptions): VerifyResult | undefined {
    if (this.closed || typeof credential !== 'string' || credential.length === 0 || credential.length > CREDENTIAL_MAX || !this.isFresh()) return undefined;
    const request = options.environment === undefined && this.environment !== undefined ? { ...options, environment: this.environment } : options;
    const hash = sha256(credential);
    if (!looksLikeJwt(credential)) {
      const entry = this.keys.get(hash);
      return entry === undefined || !entry.local ? undefined : this.answerLocally(entry.identity, entry.until, request);
    }
    const entry = this.tokens.get(hash);
    if (entry === undefined) return undefined;
    if (typeof entry === 'string') return { valid: false, code: entry };
    if (entry.grant) return undefined;
    const local = this.localToken(entry, request);
    return local === 'ask' ? undefined : local;
  }

  /** A verified token's answer from what is known here, or 'ask' when Keyport must answer. */
  private localToken(entry: TokenEntry, request: VerifyOptions): VerifyResult | 'ask' {
    if (entry.exp <= this.now()) return this.refuseToken(entry, 'expired');
    if (this.withdrawnKids.has(entry.kid) || this.revokedTokens.has(entry.jti) || this.revokedClients.has(entry.clientId)) return this.refuseToken(entry, 'revoked');
    const code = this.check(entry.identity, null, request);
    if (code !== 'valid') return this.refuseToken(entry, code);
    const policy = this.policies.get(entry.keyId);
    if (policy === undefined || !policy.local) return 'ask';
    this.noteUse(entry.keyId, entry.identity.account!, entry.identity.environment!, 'valid');
    let answer = this.answers.get(entry);
    if (answer === undefined || answer.policy !== policy) this.answers.set(entry, (answer = { policy, result: Object.freeze({ ...entry.identity, meta: policy.meta, externalId: policy.externalId }) }));
    return answer.result;
  }

  // -- token keys ----------------------------------------------------------------------------

  private async verifyKey(credential: string, request: VerifyOptions): Promise<VerifyResult> {
    const hash = sha256(credential);
    const entry = this.keys.get(hash);
    if (entry === undefined) return this.lookupKey(credential, hash, request);
    if (!entry.local) return this.remoteVerify(credential, request);
    return this.answerLocally(entry.identity, entry.until, request);
  }

  private async lookupKey(credential: string, hash: string, request: VerifyOptions): Promise<VerifyResult> {
    const epoch = this.epoch;
    const { result, cache } = await this.lookup(credential, request);
    if (cache !== null && !this.changedSince(epoch, cache.keyId) && this.isFresh()) {
      const negative = cache.keyId === null;
      this.keys.set(hash, cache, negative ? this.options.negativeCacheTtl : this.options.cacheTtl);
      if (cache.keyId !== null) {
        let hashes = this.hashesOfKey.get(cache.keyId);
        if (hashes === undefined) this.hashesOfKey.set(cache.keyId, (hashes = new Set()));
        hashes.add(hash);
      }
    }
    return result;
  }

  /** Checks a cached identity against this request, as Keyport does, and notes the use. */
  private answerLocally(identity: VerifyResult, until: number | null, request: VerifyOptions): VerifyResult {
    const code = this.check(identity, until, request);
    if (identity.keyId !== undefined && identity.account !== undefined && identity.environment !== undefined && COUNTED.has(code))
      this.noteUse(identity.keyId, identity.keyAccount ?? identity.account, identity.environment, code);
    if (code === 'valid') return identity;
    return { valid: false, code };
  }

  private check(identity: VerifyResult, until: number | null, request: VerifyOptions): VerifyCode {
    if (!identity.valid) return identity.code;
    if (until !== null && until <= this.now()) return 'expired';
    if (request.environment !== undefined && identity.environment !== request.environment) return 'wrong_environment';
    const held = identity.scopes ?? [];
    for (const scope of request.scopes ?? []) if (!held.includes(scope)) return 'insufficient_scope';
    return 'valid';
  }

  // -- access tokens -------------------------------------------------------------------------

  private async verifyToken(credential: string, request: VerifyOptions): Promise<VerifyResult> {
    const hash = sha256(credential);
    let entry = this.tokens.get(hash);
    if (entry === undefined) {
      const epoch = this.epoch;
      const checked = await this.checkToken(credential);
      // Not ours as far as this JWKS knows (unknown kid): Keyport decides.
      if (checked === null) return this.remoteVerify(credential, request);
      entry = checked;
      // A token's signature and claims never change; only a reset makes what was checked before it doubtful.
      if (this.resetEpoch <= epoch) this.tokens.set(hash, entry, typeof entry === 'string' ? this.options.negativeCacheTtl : Math.max(0, entry.exp - this.now()));
    }
    if (typeof entry === 'string') return { valid: false, code: entry };
    // Tokens of external keys: their grant is checked by Keyport on every use.
    if (entry.grant) return this.remoteVerify(credential, request);
    const local = this.localToken(entry, request);
    if (local !== 'ask') return local;
    const policy = this.policies.get(entry.keyId);
    if (policy === undefined) {
      const epoch = this.epoch;
      const { result, cache } = await this.lookup(credential, request);
      if (cache !== null && cache.identity.valid && !this.changedSince(epoch, entry.keyId) && this.isFresh())
        this.policies.set(entry.keyId, { local: cache.local, meta: cache.identity.meta ?? null, externalId: cache.identity.externalId ?? null }, this.options.cacheTtl);
      return result;
    }
    return this.remoteVerify(credential, request);
  }

  private refuseToken(entry: TokenEntry, code: VerifyCode): VerifyResult {
    this.noteUse(entry.keyId, entry.identity.account!, entry.identity.environment!, code);
    return { valid: false, code };
  }

  /** Signature and claims (RFC 9068: typ at+jwt, iss, aud, exp); null when the signing key is not in the JWKS. */
  private async checkToken(credential: string): Promise<TokenEntry | VerifyCode | null> {
    await this.ensureJwks();
    try {
      return this.tokenEntry(await this.verifyJwt(credential));
    } catch (err) {
      if (err instanceof joseErrors.JWKSNoMatchingKey) {
        // Rotation: a key published since the last fetch. Fetched again at most every few seconds.
        if (this.now() - this.jwksFetchedAt >= JWKS_COOLDOWN_MS) {
          await this.loadJwks(true).catch(() => {});
          try {
            return this.tokenEntry(await this.verifyJwt(credential));
          } catch (again) {
            if (!(again instanceof joseErrors.JWKSNoMatchingKey)) return this.tokenCode(again);
          }
        }
        return null;
      }
      return this.tokenCode(err);
    }
  }

  private verifyJwt(credential: string) {
    return jwtVerify(credential, this.jwks!, {
      issuer: [...this.issuers!],
      typ: 'at+jwt',
      algorithms: ['ES256', 'EdDSA'],
      requiredClaims: ['exp', 'iat', 'jti', 'sub'],
    });
  }

  private tokenCode(err: unknown): VerifyCode {
    if (err instanceof joseErrors.JWTExpired) return 'expired';
    if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWTClaimValidationFailed) return 'unknown';
    if (err instanceof joseErrors.JOSEError) return 'malformed';
    throw err;
  }

  private tokenEntry({ payload, protectedHeader }: { payload: JWTPayload; protectedHeader: { kid?: string } }): TokenEntry | VerifyCode {
    const p = payload as Record<string, unknown>;
    const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
    if (!str(p.sub) || !str(p.jti) || !str(p.client_id) || !str(p.account) || typeof p.scope !== 'string' || !ENVIRONMENTS.has(p.environment as string) || !Array.isArray(p.roles) || !str(protectedHeader.kid))
      return 'malformed';
    // RFC 9068 4: the audience is this service (`audience`, by default Keyport's base URL), or, for a
    // token for another account (an external key), that account.
    const audiences = typeof p.aud === 'string' ? [p.aud] : Array.isArray(p.aud) ? p.aud : [];
    const expected = this.options.audience ?? this.audience!;
    if (!audiences.includes(expected) && !(p.grant_id !== undefined && audiences.includes(`urn:keyport:account:${p.account}`))) return 'unknown';
    const scopes = p.scope === '' ? [] : p.scope.split(' ');
    const exp = (p.exp as number) * 1000;
    const grant = p.grant_id !== undefined;
    const identity: VerifyResult = {
      valid: true,
      code: 'valid',
      keyId: p.sub,
      account: p.account,
      environment: p.environment as Environment,
      scopes,
      roles: p.roles as Role[],
      channel: str(p.channel) ? p.channel : null,
      expiresAt: new Date(exp).toISOString(),
    };
    return Object.freeze({ identity: Object.freeze(identity), keyId: p.sub, jti: p.jti, clientId: p.client_id, kid: protectedHeader.kid, exp, grant });
  }

  private async ensureJwks(): Promise<void> {
    if (this.jwks === undefined) await this.loadJwks(false);
  }

  /** Keyport's issuers (RFC 8414 metadata) and JWKS; one load at a time. */
  private loadJwks(force: boolean): Promise<void> {
    if (!force && this.jwks !== undefined) return Promise.resolve();
    this.jwksLoading ??= (async () => {
      try {
        if (this.issuers === undefined) {
          const meta = await this.getJson('/.well-known/oauth-authorization-server');
          const issuers = isObject(meta) && isObject(meta.environment_issuers) ? Object.values(meta.environment_issuers).filter((v): v is string => typeof v === 'string') : [];
          if (!isObject(meta) || typeof meta.issuer !== 'string' || issuers.length === 0) throw new KeyportError('keyport_unavailable', "Keyport's authorization server metadata is not what it should be");
          this.issuers = new Set(issuers);
          this.audience = meta.issuer;
        }
        const jwks = await this.getJson('/.well-known/jwks.json');
        if (!isObject(jwks) || !Array.isArray(jwks.keys)) throw new KeyportError('keyport_unavailable', "Keyport's JWKS is not a JWK set");
        this.jwks = createLocalJWKSet(jwks as unknown as JSONWebKeySet);
        this.jwksFetchedAt = this.now();
      } finally {
        this.jwksLoading = undefined;
      }
    })();
    return this.jwksLoading;
  }

  // -- Keyport -------------------------------------------------------------------------------

  private body(credential: string, request: VerifyOptions): string {
    const body: Record<string, unknown> = { key: credential };
    if (request.environment !== undefined) body.environment = request.environment;
    if (request.scopes !== undefined && request.scopes.length > 0) body.scopes = request.scopes;
    if (request.clientIp !== undefined) body.clientIp = request.clientIp;
    if (request.cost !== undefined) body.cost = request.cost;
    return JSON.stringify(body);
  }

  /** POST /v1/verify: the answer for keys counted centrally, and for every credential while stale. */
  private async remoteVerify(credential: string, request: VerifyOptions): Promise<VerifyResult> {
    const res = await this.post('/v1/verify', this.body(credential, request));
    if (res.status === 403) return { valid: false, code: 'unknown' };
    const result = checkAnswer(await this.json(res));
    const limit = res.headers.get('ratelimit-limit');
    if (limit !== null) {
      const remaining = Number(res.headers.get('ratelimit-remaining'));
      const reset = Number(res.headers.get('ratelimit-reset'));
      result.rateLimit = { limit: Number(limit), remaining, resetSeconds: reset };
    }
    return result;
  }

  /** POST /v1/verify/lookup: the first sight of a credential, and what may be cached of it. */
  private async lookup(credential: string, request: VerifyOptions): Promise<{ result: VerifyResult; cache: KeyEntry | null }> {
    const res = await this.post('/v1/verify/lookup', this.body(credential, request));
    // A credential of an account this service token may not verify: to this service, unknown.
    if (res.status === 403) return { result: { valid: false, code: 'unknown' }, cache: null };
    const body = await this.json(res);
    if (!isObject(body) || !isObject(body.cache)) throw new KeyportError('keyport_unavailable', 'Keyport answered something that is not a lookup answer');
    const result = checkAnswer(body.result);
    const c = body.cache;
    const identity = checkAnswer(c.identity);
    if ((c.keyId !== null && typeof c.keyId !== 'string') || typeof c.local !== 'boolean' || (c.until !== null && typeof c.until !== 'string'))
      throw new KeyportError('keyport_unavailable', 'Keyport answered a lookup without what may be cached');
    const until = c.until === null ? null : Date.parse(c.until);
    const limit = res.headers.get('ratelimit-limit');
    if (limit !== null) result.rateLimit = { limit: Number(limit), remaining: Number(res.headers.get('ratelimit-remaining')), resetSeconds: Number(res.headers.get('ratelimit-reset')) };
    return { result, cache: { keyId: c.keyId, local: c.local, identity: Object.freeze(identity), until: Number.isNaN(until) ? null : until } };
  }

  private async post(path: string, body: string): Promise<Response> {
    this.remoteCalls++;
    let res: Response;
    try {
      res = await this.fetch(`${this.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.serviceToken}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.options.requestTimeout),
      });
    } catch (err) {
      throw new KeyportError('keyport_unavailable', `Keyport could not be reached at ${this.url}: ${(err as Error).message}`, { cause: err });
    }
    if (res.status === 200 || res.status === 403) return res;
    await res.body?.cancel().catch(() => {});
    if (res.status === 401) throw new KeyportError('service_token_invalid', 'Keyport refused the service token (401): give the verifier a valid service token holding keys.verify');
    if (res.status === 400) throw new KeyportError('bad_request', `Keyport refused the request as malformed (400) on ${path}`);
    throw new KeyportError('keyport_unavailable', `Keyport answered ${res.status} on ${path}`);
  }

  private async getJson(path: string): Promise<unknown> {
    let res: Response;
    try {
      res = await this.fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(this.options.requestTimeout) });
    } catch (err) {
      throw new KeyportError('keyport_unavailable', `Keyport could not be reached at ${this.url}: ${(err as Error).message}`, { cause: err });
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw new KeyportError('keyport_unavailable', `Keyport answered ${res.status} on ${path}`);
    }
    return this.json(res);
  }

  private async json(res: Response): Promise<unknown> {
    try {
      return await res.json();
    } catch (err) {
      throw new KeyportError('keyport_unavailable', 'Keyport answered something that is not JSON', { cause: err });
    }
  }

  // -- usage ---------------------------------------------------------------------------------

  private noteUse(keyId: string, account: string, environment: Environment, code: string): void {
    let entry = this.usage.get(keyId);
    if (entry === undefined) this.usage.set(keyId, (entry = { account, environment, lastUsedAt: 0, outcomes: {} }));
    entry.outcomes[code] = (entry.outcomes[code] ?? 0) + 1;
    if (code === 'valid') entry.lastUsedAt = this.now();
  }

  /**
   * Reports the uses answered here since the last report (POST /v1/verify/usage), 1,000 keys a
   * request. What Keyport did not take (a network error or a 5xx) is kept for the next report; the
   * parts it took are not sent again. A refusal (4xx) is reported and its part dropped: sending
   * it again would not change the answer.
   */
  async flushUsage(): Promise<void> {
    if (this.usage.size === 0) return;
    const batch = [...this.usage];
    this.usage = new Map();
    for (let i = 0; i < batch.length; i += 1000) {
      const part = batch.slice(i, i + 1000);
      let res: Response;
      try {
        res = await this.fetch(`${this.url}/v1/verify/usage`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.serviceToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ uses: part.map(([keyId, e]) => ({ keyId, account: e.account, environment: e.environment, lastUsedAt: e.lastUsedAt, outcomes: e.outcomes })) }),
          signal: AbortSignal.timeout(this.options.requestTimeout),
        });
        await res.body?.cancel().catch(() => {});
        if (res.status >= 500) throw new KeyportError('keyport_unavailable', `Keyport answered ${res.status} to a usage report`);
      } catch (err) {
        this.keepForLater(batch.slice(i));
        throw err;
      }
      if (!res.ok)
        throw new KeyportError(res.status === 401 ? 'service_token_invalid' : 'bad_request', `Keyport refused a usage report of ${part.length} keys (${res.status}); those uses are not reported`);
    }
  }

  /** Puts uses that were not reported back, merged with those counted since. */
  private keepForLater(unsent: readonly [string, UsageEntry][]): void {
    for (const [keyId, e] of unsent) {
      const now = this.usage.get(keyId);
      if (now === undefined) this.usage.set(keyId, e);
      else {
        now.lastUsedAt = Math.max(now.lastUsedAt, e.lastUsedAt);
        for (const [code, n] of Object.entries(e.outcomes)) now.outcomes[code] = (now.outcomes[code] ?? 0) + n;
      }
    }
  }

  // -- the event stream ----------------------------------------------------------------------

  private onEvent(event: ServerSentEvent): void {
    this.connected = true;
    if (event.event === 'heartbeat') {
      if (this.caughtUp) this.heardAt = this.now();
      return;
    }
    if (event.event === 'reset') {
      // The stream could not resume from where this verifier was: nothing cached can be trusted.
      this.clear();
      return;
    }
    if (event.event === 'ready') {
      this.caughtUp = true;
      this.heardAt = this.now();
      for (const resolve of this.readyWaiters.splice(0)) resolve();
      return;
    }
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(event.data) as Record<string, unknown>;
    } catch {
      return;
    }
    this.epoch++;
    if (this.caughtUp) this.heardAt = this.now();
    const until = typeof data.until === 'string' ? Date.parse(data.until) : this.now() + 3_600_000;
    switch (event.event) {
      case 'key_changed':
      case 'grant_changed':
      case 'grant_revoked':
        if (typeof data.keyId === 'string') this.forgetKey(data.keyId);
        break;
      case 'token_revoked':
        if (typeof data.jti === 'string') this.revokedTokens.set(data.jti, until);
        break;
      case 'client_revoked':
        if (typeof data.clientId === 'string') this.revokedClients.set(data.clientId, until);
        break;
      case 'signing_keys_changed':
        if (data.changeType === 'withdrawn' && typeof data.kid === 'string') this.withdrawnKids.add(data.kid);
        if (this.jwks !== undefined) void this.loadJwks(true).catch((err) => this.options.onError?.(err));
        break;
    }
  }

  /** Was there a reset, or an event about `keyId`, after `epoch`? */
  private changedSince(epoch: number, keyId: string | null): boolean {
    if (this.resetEpoch > epoch) return true;
    if (keyId === null) return false;
    const last = this.keyEpochs.get(keyId);
    return last !== undefined && last.epoch > epoch;
  }

  private forgetKey(keyId: string): void {
    this.keyEpochs.set(keyId, { epoch: this.epoch, at: this.now() });
    this.policies.delete(keyId);
    const hashes = this.hashesOfKey.get(keyId);
    if (hashes === undefined) return;
    for (const hash of hashes) this.keys.delete(hash);
    this.hashesOfKey.delete(keyId);
  }

  private clear(): void {
    this.epoch++;
    this.resetEpoch = this.epoch;
    this.keys.clear();
    this.tokens.clear();
    this.policies.clear();
    this.hashesOfKey.clear();
    this.revokedTokens.clear();
    this.revokedClients.clear();
  }

  private sweep(): void {
    const now = this.now();
    for (const [jti, until] of this.revokedTokens) if (until <= now) this.revokedTokens.delete(jti);
    for (const [clientId, until] of this.revokedClients) if (until <= now) this.revokedClients.delete(clientId);
    // Answers asked for longer ago than the request timeout have arrived or failed by now.
    for (const [keyId, { at }] of this.keyEpochs) if (now - at > this.options.requestTimeout * 2) this.keyEpochs.delete(keyId);
    // The index of hashes by key id follows the LRU: hashes it dropped or let expire go too.
    for (const [keyId, hashes] of this.hashesOfKey) {
      for (const hash of hashes) if (!this.keys.has(hash)) hashes.delete(hash);
      if (hashes.size === 0) this.hashesOfKey.delete(keyId);
    }
  }
}
