import type { Clock } from '../../domain/clock.js';
import type { ClusterSync } from '../cluster-sync.js';
import type { ClusterEvent } from '../../storage/oauth-repositories.js';

/**
 * The access tokens that stopped before their expiry, held in memory on every node: single tokens
 * by `jti` (RFC 7009 revocation), every token of a client id (a key deleted or regenerated with
 * `revokeTokens`; a regenerated key gets a new client id, so its new tokens are not affected), and
 * the tokens for another account issued under a grant before it was switched off, changed or
 * removed (or before the key holding it was deleted).
 *
 * Revocations are cluster events (see change-events.ts), written with the change that causes them,
 * so they survive restarts and reach the other nodes within one poll interval. An entry is kept
 * until the tokens it covers have expired.
 */
export class RevocationList {
  private readonly tokens = new Map<string, number>();
  private readonly clients = new Map<string, number>();
  /** Grant id, or key id for every grant of a deleted key -> tokens of an older grant version stop, and until when. */
  private readonly grants = new Map<string, { before: number; until: number }>();

  constructor(
    sync: ClusterSync,
    private readonly clock: Clock,
  ) {
    sync.subscribe((event) => this.apply(event));
  }

  get size(): number {
    return this.tokens.size + this.clients.size + this.grants.size;
  }

  /** Is a token with this jti, issued to this client id, revoked? */
  isRevoked(jti: string, clientId: string): boolean {
    return (this.tokens.size !== 0 && this.tokens.has(jti)) || (this.clients.size !== 0 && this.clients.has(clientId));
  }

  /**
   * Is a token issued under grant `grantId` (of key `keyId`) revoked? `version` is the grant's
   * `updatedAt` when the token was issued: a switch-off, a change or a removal stops every token of
   * an older version, while tokens issued after a grant is switched on again carry a newer one.
   */
  isGrantRevoked(grantId: string, keyId: string, version: number): boolean {
    if (this.grants.size === 0) return false;
    const byGrant = this.grants.get(grantId);
    if (byGrant !== undefined && version < byGrant.before) return true;
    const byKey = this.grants.get(keyId);
    return byKey !== undefined && version < byKey.before;
  }

  private apply(event: ClusterEvent): void {
    if (event.kind === 'token_revoked' && event.jti !== null) this.tokens.set(event.jti, event.expiresAt);
    else if (event.kind === 'client_revoked' && event.clientId !== null) this.clients.set(event.clientId, event.expiresAt);
    else if (event.kind === 'grant_revoked') {
      const id = event.grantId ?? event.keyId;
      if (id === null || event.grantVersion === null) return;
      const known = this.grants.get(id);
      // Events may arrive out of order or twice: keep the latest cutoff and the longest life.
      this.grants.set(id, { before: Math.max(known?.before ?? 0, event.grantVersion), until: Math.max(known?.until ?? 0, event.expiresAt) });
    }
  }

  /** Forgets revocations whose tokens have all expired. */
  sweep(): void {
    const now = this.clock.now();
    for (const [jti, until] of this.tokens) if (until <= now) this.tokens.delete(jti);
    for (const [clientId, until] of this.clients) if (until <= now) this.clients.delete(clientId);
    for (const [id, { until }] of this.grants) if (until <= now) this.grants.delete(id);
  }
}
