import { grantedScopes, type Catalog } from '../../domain/catalog.js';
import type { Clock } from '../../domain/clock.js';
import { parseKeyString } from '../../domain/key-strings.js';
import { LruCache } from '../../domain/lru.js';
import type { KeyRecord } from '../../domain/model.js';
import { secretMatches } from '../../domain/key-rules.js';
import { IpAllowlist } from '../../domain/usage-controls.js';
import type { Attempt, AttemptCounter, AttemptRule } from '../attempts.js';
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
 * Authenticates OAuth clients (client_secret keys) by client id and secret. Attempts are counted
 * before the secret is checked (atomically, so a burst of parallel guesses gets no more checks
 * than the limit), per client id from one address and per source address; past a limit, that
 * pair or that address is refused for a while (even with the right secret). A client id is
 * public: guesses from one address lock out that address only, so the right secret from an
 * address that has not failed still gets through.
 */
export class ClientAuthenticator {
  private readonly clients: LruCache<string, OAuthClient | null>;
  private epoch = 0;

  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly attempts: AttemptCounter,
    private readonly rules: { byClient: AttemptRule; byAddress: AttemptRule },
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
    const id = parseKeyString(clientId);
    // Only a well-formed client id is worth counting (and bounded in size); garbage counts
    // against the address alone.
    const byAddress: Attempt = { rule: this.rules.byAddress, subject: sourceAddress };
    const byClient: Attempt | null = id?.type === 'clientId' ? { rule: this.rules.byClient, subject: `${clientId} ${sourceAddress}` } : null;
    const wait = await this.attempts.reserve(byClient ? [byAddress, byClient] : [byAddress]);
    if (wait > 0)
      throw new SlowDown(`Too many failed client authentications from this address or for this client; try again in ${wait} seconds.`, wait);
    let client: OAuthClient | null;
    try {
      client = id?.type === 'clientId' && parseKeyString(secret)?.type === 'clientSecret' ? await this.find(clientId) : null;
    } catch (err) {
      // Not checked (the store failed): not a failed attempt.
      await this.attempts.release([{ attempt: byAddress, clear: false }, ...(byClient ? [{ attempt: byClient, clear: false }] : [])]);
      throw err;
    }
    if (client === null || !secretMatches(client.record, secret, this.clock.now()))
      throw new InvalidClient('Client authentication failed: unknown client id, or wrong secret.');
    await this.attempts.release([{ attempt: byAddress, clear: false }, ...(byClient ? [{ attempt: byClient, clear: true }] : [])]);
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
