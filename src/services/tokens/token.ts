import { randomUUID } from 'node:crypto';
import type { Clock } from '../../domain/clock.js';
import { LruCache } from '../../domain/lru.js';
import { rateLimitHeaders, type RateLimitState } from '../../domain/rate-limit.js';
import type { GrantsService } from '../grants-service.js';
import type { RateLimiter } from '../rate-limiter.js';
import type { UsageRecorder } from '../usage-recorder.js';
import type { Store } from '../../storage/repositories.js';
import { readClientCredentials } from '../../oauth/client-credentials.js';
import type { ClientAuthenticator } from './client-auth.js';
import { AccessDenied, InvalidClient, InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget, SlowDown, UnsupportedGrantType, UsageExceeded } from '../../oauth/errors.js';
import { nextRefillAt } from '../../domain/usage-controls.js';
import type { VerifyCode } from '../../domain/verification.js';
import type { CreditsLedger } from '../credits.js';
import type { OAuthRequest } from '../../oauth/form.js';
import { issuerOf } from '../../oauth/issuer.js';
import type { SigningKeys } from './signing-keys.js';

/** RFC 6749 5.1 successful token response. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/** The claims of a Keyport access token (RFC 9068 2.2, plus Keyport's own). */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope: string;
  account: string;
  environment: string;
  roles: { definition: string; level: string }[];
  channel?: string;
  /** Tokens for another account (`resource=urn:keyport:account:<id>`): the grant they were issued under. */
  grant_id?: string;
  /** The grant's version (its updatedAt, epoch ms) at issue: a later switch-off or change stops the token. */
  grant_version?: number;
  /** The account owning the key (`account` is the granting one). */
  key_account?: string;
}

/**
 * The RFC 8707 resource indicator naming an account: a token for it carries that account's claim.
 * For another account than the key's, the key needs an active grant there (external keys).
 */
export const ACCOUNT_RESOURCE_PREFIX = 'urn:keyport:account:';

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 3.3 scope-token
const SETTINGS_TTL_MS = 1000;

/**
 * The token endpoint (RFC 6749 4.4, client credentials): authenticates the client, checks the key
 * may have a token now, narrows the scopes as asked, and signs an RFC 9068 JWT access token whose
 * lifetime is the account's accessTokenTtl.
 */
export class TokenEndpoint {
  /** Account token lifetimes, re-read after a second so a settings change applies across nodes. */
  private readonly ttls: LruCache<string, number>;

  constructor(
    private readonly clients: ClientAuthenticator,
    private readonly signingKeys: SigningKeys,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly rateLimiter: RateLimiter,
    private readonly usage: UsageRecorder,
    private readonly credits: CreditsLedger,
    /** The `aud` of tokens asked for without `resource`; null: the base URL. */
    private readonly defaultAudience: string | null,
    private readonly grants: Pick<GrantsService, 'activeGrant' | 'scopes'>,
  ) {
    this.ttls = new LruCache(10_000, () => clock.now());
  }

  async handle(request: OAuthRequest): Promise<{ body: TokenResponse; rateLimit: RateLimitState | null }> {
    const { params } = request;
    const grantType = params.get('grant_type');
    if (grantType === undefined) throw new InvalidRequest("The 'grant_type' parameter is required; use grant_type=client_credentials.");
    if (grantType !== 'client_credentials')
      throw new UnsupportedGrantType(`The grant type '${grantType}' is not supported here; Keyport issues tokens for client_credentials only.`);
    const credentials = readClientCredentials(params, request.authorization);
    if (credentials === null)
      throw new InvalidClient('Client authentication is required: HTTP Basic with the client id and secret, or client_id and client_secret in the body.');
    const scope = params.get('scope');
    const resources = params.getAll('resource');

    const client = await this.clients.authenticate(credentials, request.sourceAddress);
    const key = client.record;
    const now = this.clock.now();
    // From here on the request is the key's: each refusal is counted in its usage.
    const refused = (code: VerifyCode) => this.usage.count({ keyId: key.id, accountId: key.accountId, environment: key.environment, token: null }, code, now);
    // The secret matched; what follows concerns the grant (the key) itself.
    if (!key.active) {
      refused('inactive');
      throw new InvalidGrant('The key is switched off (inactive); an operator can switch it on.');
    }
    if (key.expiresAt !== null && key.expiresAt <= now) {
      refused('expired');
      throw new InvalidGrant(`The key expired at ${new Date(key.expiresAt).toISOString()}; reset its secret to renew it.`);
    }
    if (client.ipAllowlist !== null && !client.ipAllowlist.allows(request.sourceAddress)) {
      refused('ip_not_allowed');
      throw new AccessDenied(`This key may only be used from the networks in its IP allowlist, and ${request.sourceAddress} is not one of them (ip_not_allowed).`);
    }

    for (const resource of resources) checkResource(resource);
    const target = accountResource(resources);
    // RFC 8707 2: a resource the client may not have a token for is invalid_target. Another
    // account's resources need an active grant of this key there; the token then holds the grant's
    // roles and scopes only, in the key's environment (A's resources of that environment).
    const grant = target === null || target === key.accountId ? undefined : await this.grants.activeGrant(target, key.id);
    if (target !== null && target !== key.accountId && grant === undefined)
      throw new InvalidTarget(`The key has no active grant in account '${target}': that account must grant it roles (POST /v1/accounts/${target}/grants), and the grant must be switched on.`);
    const scopes =
      grant === undefined
        ? narrowScopes(client.scopes, client.scopeSet, scope, "The key does not hold", "a token can only narrow the key's scopes")
        : (() => {
            const granted = this.grants.scopes(grant);
            return narrowScopes(granted, new Set(granted), scope, `The grant of account '${target}' does not give`, "a token for another account can only narrow the granted scopes");
          })();

    let rateLimit: RateLimitState | null = null;
    if (key.rateLimit !== null) {
      rateLimit = await this.rateLimiter.hit(key.id, key.rateLimit, now);
      if (!rateLimit.allowed) {
        refused('rate_limited');
        throw new SlowDown(`The key's rate limit of ${key.rateLimit.limit} requests per ${key.rateLimit.windowSeconds} seconds is used up.`, rateLimit.resetSeconds, rateLimitHeaders(rateLimit));
      }
    }
    // A token request spends one credit, in the store (exact across nodes).
    if (key.credits !== null) {
      const refill = key.credits.refill;
      const spent = await this.credits.spend(key.id, key.accountId, refill, 1, now);
      if (spent.kind === 'refused') {
        refused('usage_exceeded');
        const retryAfter = refill === null ? null : Math.max(1, Math.ceil((nextRefillAt(refill, now) - now) / 1000));
        throw new UsageExceeded(
          `The key's credits are used up (usage_exceeded)${refill === null ? '; an operator can top them up' : `; they are refilled at ${new Date(nextRefillAt(refill, now)).toISOString()}`}.`,
          retryAfter,
          rateLimit ? rateLimitHeaders(rateLimit) : {},
        );
      }
    }

    // A token for another account lives as long as that account's tokens do.
    const account = grant === undefined ? key.accountId : grant.accountId;
    const ttl = await this.accessTokenTtl(account);
    const iat = Math.floor(now / 1000);
    const claims: AccessTokenClaims = {
      iss: issuerOf(request.baseUrl, key.environment),
      sub: key.id,
      aud: resources.length === 0 ? (this.defaultAudience ?? request.baseUrl) : resources.length === 1 ? resources[0]! : resources,
      exp: iat + ttl,
      iat,
      jti: randomUUID(),
      client_id: key.clientId!,
      scope: scopes.join(' '),
      account,
      environment: key.environment,
      roles: grant === undefined ? key.roles : grant.roles,
    };
    // The key's sales channel is one of its own account's: it says nothing about another's.
    if (grant === undefined && key.channel !== null) claims.channel = key.channel;
    if (grant !== undefined) Object.assign(claims, { grant_id: grant.id, grant_version: grant.updatedAt, key_account: key.accountId });
    const accessToken = await this.signingKeys.currentSigner().sign(claims);
    this.usage.record(key.id, now);
    this.usage.count({ keyId: key.id, accountId: key.accountId, environment: key.environment, token: null }, 'valid', now);
    return { body: { access_token: accessToken, token_type: 'Bearer', expires_in: ttl, scope: claims.scope }, rateLimit };
  }

  private async accessTokenTtl(accountId: string): Promise<number> {
    const cached = this.ttls.get(accountId);
    if (cached !== undefined) return cached;
    const account = await this.store.repos.accounts.find(accountId);
    // The key was found a moment ago; its account can only be gone if it was deleted since.
    if (!account) throw new InvalidClient('Client authentication failed: unknown client id, or wrong secret.');
    this.ttls.set(accountId, account.settings.accessTokenTtl, SETTINGS_TTL_MS);
    return account.settings.accessTokenTtl;
  }
}

/**
 * The scopes of the token: all those available (the key's, or a grant's) when none are asked for;
 * otherwise those asked for, each of which must be available (RFC 6749 3.3: a token never gets
 * more than the client may have). `holder` and `rule` word the error.
 */
function narrowScopes(available: readonly string[], availableSet: ReadonlySet<string>, scope: string | undefined, holder: string, rule: string): readonly string[] {
  if (scope === undefined) return available;
  const asked = scope.split(' ');
  if (asked.some((s) => !SCOPE_TOKEN.test(s))) throw new InvalidScope('The scope parameter must be scope names separated by single spaces.');
  const missing = asked.filter((s) => !availableSet.has(s));
  if (missing.length) throw new InvalidScope(`${holder} ${missing.length === 1 ? 'the scope' : 'the scopes'} ${missing.map((s) => `'${s}'`).join(', ')}; ${rule}.`);
  // In catalog order, each once.
  return available.filter((s) => asked.includes(s));
}

/**
 * The account a token is asked for with `resource=urn:keyport:account:<id>`, or null when no
 * resource names one. Such a token is for that account alone, so it must be the only resource.
 */
function accountResource(resources: readonly string[]): string | null {
  const named = resources.filter((r) => r.toLowerCase().startsWith('urn:keyport:'));
  if (named.length === 0) return null;
  for (const resource of named)
    if (!resource.startsWith(ACCOUNT_RESOURCE_PREFIX) || !/^[A-Za-z0-9_-]{1,100}$/.test(resource.slice(ACCOUNT_RESOURCE_PREFIX.length)))
      throw new InvalidTarget(`The resource '${resource}' is not one Keyport knows; name an account as ${ACCOUNT_RESOURCE_PREFIX}<account id>.`);
  if (resources.length > 1)
    throw new InvalidTarget(`A token for an account (${ACCOUNT_RESOURCE_PREFIX}<account id>) is for that account alone: send it as the only resource.`);
  return named[0]!.slice(ACCOUNT_RESOURCE_PREFIX.length);
}

/** RFC 8707 2: a resource is an absolute URI without a fragment. */
function checkResource(resource: string): void {
  let url: URL | undefined;
  try {
    url = new URL(resource);
  } catch {
    /* handled below */
  }
  if (url === undefined || resource.includes('#'))
    throw new InvalidTarget(`The resource '${resource}' is not an absolute URI without a fragment (RFC 8707).`);
}
