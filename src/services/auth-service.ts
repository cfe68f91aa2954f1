import type { Clock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import { generateKeyString, hashKeyString } from '../domain/key-strings.js';
import { LruCache } from '../domain/lru.js';
import { platformPrincipal, type Principal } from '../domain/principal.js';
import type { Store } from '../storage/repositories.js';

/** How long a resolved bearer token is trusted before storage is asked again (revocations reach every node within it). */
export const PRINCIPAL_CACHE_MS = 1000;

/** Turns management bearer tokens into principals, and makes the platform owner token. */
export class AuthService {
  private readonly cache: LruCache<string, Principal | null>;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {
    this.cache = new LruCache(10_000, () => clock.now());
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

  /** The principal a bearer token stands for, or null when it is unknown, revoked or expired. */
  async authenticate(bearer: string): Promise<Principal | null> {
    const tokenHash = hashKeyString(bearer);
    const cached = this.cache.get(tokenHash);
    if (cached !== undefined) return cached;
    const principal = await this.resolve(tokenHash);
    this.cache.set(tokenHash, principal, PRINCIPAL_CACHE_MS);
    return principal;
  }

  private async resolve(tokenHash: string): Promise<Principal | null> {
    const token = await this.store.repos.apiTokens.findByHash(tokenHash);
    if (!token || token.revokedAt !== null) return null;
    if (token.expiresAt !== null && token.expiresAt <= this.clock.now()) return null;
    if (token.kind === 'platform') return platformPrincipal(token.id);
    return null;
  }

  /** Forgets cached answers, after a token was revoked or a membership changed. */
  invalidate(): void {
    this.cache.clear();
  }
}
