import type { Clock } from '../domain/clock.js';
import type { ClusterSync } from '../services/cluster-sync.js';
import type { ClusterEvent } from '../storage/oauth-repositories.js';

/**
 * The access tokens that stopped before their expiry, held in memory on every node: single tokens
 * by `jti` (RFC 7009 revocation), and every token of a client id (a key deleted or regenerated with
 * `revokeTokens`; a regenerated key gets a new client id, so its new tokens are not affected).
 *
 * Revocations are written to the cluster event log first, so they survive restarts and reach the
 * other nodes within one poll interval. An entry is kept until the tokens it covers have expired.
 */
export class RevocationList {
  private readonly tokens = new Map<string, number>();
  private readonly clients = new Map<string, number>();

  constructor(
    private readonly sync: ClusterSync,
    private readonly clock: Clock,
  ) {
    sync.subscribe((event) => this.apply(event));
  }

  get size(): number {
    return this.tokens.size + this.clients.size;
  }

  /** Is a token with this jti, issued to this client id, revoked? */
  isRevoked(jti: string, clientId: string): boolean {
    return (this.tokens.size !== 0 && this.tokens.has(jti)) || (this.clients.size !== 0 && this.clients.has(clientId));
  }

  /** Revokes one token until it expires (`expiresAt`, epoch ms). */
  async revokeToken(jti: string, clientId: string, keyId: string, expiresAt: number): Promise<void> {
    if (expiresAt <= this.clock.now() || this.tokens.has(jti)) return;
    await this.sync.publish([
      { kind: 'token_revoked', jti, clientId, keyId, lookups: [], expiresAt, createdAt: this.clock.now() },
    ]);
  }

  /** Revokes every token issued to `clientId` so far, for as long as the longest token can live. */
  clientRevocation(clientId: string, keyId: string, maxTokenTtlMs: number) {
    const now = this.clock.now();
    return { kind: 'client_revoked' as const, clientId, keyId, jti: null, lookups: [], expiresAt: now + maxTokenTtlMs, createdAt: now };
  }

  private apply(event: ClusterEvent): void {
    if (event.kind === 'token_revoked' && event.jti !== null) this.tokens.set(event.jti, event.expiresAt);
    else if (event.kind === 'client_revoked' && event.clientId !== null) this.clients.set(event.clientId, event.expiresAt);
  }

  /** Forgets revocations whose tokens have all expired. */
  sweep(): void {
    const now = this.clock.now();
    for (const [jti, until] of this.tokens) if (until <= now) this.tokens.delete(jti);
    for (const [clientId, until] of this.clients) if (until <= now) this.clients.delete(clientId);
  }
}
