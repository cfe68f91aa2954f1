import { grantedScopes, type Catalog } from '../../domain/catalog.js';
import type { Clock } from '../../domain/clock.js';
import { parseKeyString } from '../../domain/key-strings.js';
import { LruCache } from '../../domain/lru.js';
import type { KeyRecord } from '../../domain/model.js';
import type { FailureThrottle } from '../../domain/throttle.js';
import { secretMatches } from '../../domain/key-rules.js';
import { IpAllowlist } from '../../domain/usage-controls.js';
import type { CacheGuard } from '../cluster-sync.js';
import type { Store } from '../../storage/repositories.js';
import type { ClientCredentials } from '../../oauth/client-credentials.js';
import { InvalidClient, SlowDown } from '../../oauth/errors.js';

/** A client_secret key as the OAuth endpoints need it, cached by client id. */
export interface OAuthClient {
  record: KeyRecord;
  /** Everything the key may do, in catalog order. */
  scopes: readonly string[];
  scopeSet: ReadonlySet<string>;
  /** The key's IP allowlist, compiled once; null: anywhere. */
  ipAllowlist: IpAllowlist | null;
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

  /** The cache by name, for the metrics (entries, hits, misses). */
  get caches(): Record<string, { readonly size: number; readonly hits: number; readonly misses: number }> {
    return { oauth_clients: this.clients };
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
            return { record, scopes, scopeSet: new Set(scopes), ipAllowlist: record.ipAllowlist === null ? null : new IpAllowlist(record.ipAllowlist) };
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
