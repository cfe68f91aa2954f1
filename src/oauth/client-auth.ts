import { grantedScopes, type Catalog } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import { parseKeyString } from '../domain/key-strings.js';
import { LruCache } from '../domain/lru.js';
import type { KeyRecord } from '../domain/model.js';
import type { FailureThrottle } from '../domain/throttle.js';
import type { CacheGuard } from '../services/cluster-sync.js';
import { secretMatches } from '../services/keys-service.js';
import type { Store } from '../storage/repositories.js';
import { InvalidClient, InvalidRequest, SlowDown } from './errors.js';
import type { FormParams } from './form.js';

/** Client credentials as presented (RFC 6749 2.3.1). */
export interface ClientCredentials {
  clientId: string;
  secret: string;
  method: 'client_secret_basic' | 'client_secret_post';
}

/** A client_secret key as the OAuth endpoints need it, cached by client id. */
export interface OAuthClient {
  record: KeyRecord;
  /** Everything the key may do, in catalog order. */
  scopes: readonly string[];
  scopeSet: ReadonlySet<string>;
}

/** Form decoding of one half of Basic credentials (RFC 6749 2.3.1 encodes them before base64). */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/**
 * Reads the client credentials of a request: HTTP Basic (client_secret_basic) or `client_id` and
 * `client_secret` in the body (client_secret_post). Null when there are none; using both methods at
 * once is an invalid_request (RFC 6749 2.3).
 */
export function readClientCredentials(params: FormParams, authorization: string | undefined): ClientCredentials | null {
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (authorization !== undefined && authorization !== '') {
    const match = /^Basic +([A-Za-z0-9+/=._~-]+) *$/i.exec(authorization);
    if (!match) throw new InvalidClient('Authenticate with HTTP Basic (client id and secret) or with client_id and client_secret in the body.');
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    let clientId: string;
    let secret: string;
    try {
      if (colon < 0) throw new Error();
      clientId = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
    } catch {
      throw new InvalidClient('The Authorization header does not hold valid HTTP Basic credentials (client_id:client_secret, form-encoded, then base64).');
    }
    if (bodySecret !== undefined) throw new InvalidRequest('Use one client authentication method: HTTP Basic or client_secret in the body, not both.');
    if (bodyId !== undefined && bodyId !== clientId) throw new InvalidRequest('The client_id in the body differs from the one in the Authorization header.');
    return { clientId, secret, method: 'client_secret_basic' };
  }
  if (bodySecret !== undefined) {
    if (bodyId === undefined) throw new InvalidRequest("client_secret was sent without client_id.");
    return { clientId: bodyId, secret: bodySecret, method: 'client_secret_post' };
  }
  return null;
}

const CLIENT_TTL_MS = 60_000;
const NEGATIVE_TTL_MS = 5_000;

/**
 * Authenticates OAuth clients (client_secret keys) by client id and secret. Failed attempts are
 * counted per client id and per source address; past the limit, both are refused for a while
 * (even with the right secret), so secrets cannot be guessed at speed.
 */
export class ClientAuthenticator {
  private readonly clients: LruCache<string, OAuthClient | null>;
  private epoch = 0;

  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly throttles: { byClient: FailureThrottle; byAddress: FailureThrottle },
    /** Cached clients are trusted only while this node is up to date with the cluster event log. */
    private readonly guard: CacheGuard,
  ) {
    this.clients = new LruCache(100_000, () => clock.now());
  }

  /** The client the credentials prove; throws invalid_client, or slow_down while throttled. */
  async authenticate(credentials: ClientCredentials, sourceAddress: string): Promise<OAuthClient> {
    await this.guard.check();
    const { clientId, secret } = credentials;
    const wait = Math.max(this.throttles.byAddress.retryAfter(sourceAddress), this.throttles.byClient.retryAfter(clientId));
    if (wait > 0)
      throw new SlowDown(`Too many failed client authentications from this address or for this client; try again in ${wait} seconds.`, wait);
    const id = parseKeyString(clientId);
    const client = id?.type === 'clientId' && parseKeyString(secret)?.type === 'clientSecret' ? await this.find(clientId) : null;
    if (client === null || !secretMatches(client.record, secret, this.clock.now())) {
      // Only a well-formed client id is worth counting (and bounded in size); garbage counts
      // against the address alone.
      if (id?.type === 'clientId') this.throttles.byClient.fail(clientId);
      this.throttles.byAddress.fail(sourceAddress);
      throw new InvalidClient('Client authentication failed: unknown client id, or wrong secret.');
    }
    this.throttles.byClient.reset(clientId);
    return client;
  }

  private async find(clientId: string): Promise<OAuthClient | null> {
    const cached = this.clients.get(clientId);
    if (cached !== undefined) return cached;
    const epoch = this.epoch;
    const record = await this.store.repos.keys.findByClientId(clientId);
    const client: OAuthClient | null =
      record === undefined || record.credentialType !== 'client_secret'
        ? null
        : (() => {
            const scopes = grantedScopes(this.catalog, record.kind, record.scopes, record.roles);
            return { record, scopes, scopeSet: new Set(scopes) };
          })();
    if (epoch === this.epoch) this.clients.set(clientId, client, client === null ? NEGATIVE_TTL_MS : CLIENT_TTL_MS);
    return client;
  }

  /** Forgets cached clients (after a key change anywhere in the cluster). */
  invalidate(clientIds: readonly string[]): void {
    this.epoch++;
    for (const clientId of clientIds) this.clients.delete(clientId);
  }
}
