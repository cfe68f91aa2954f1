import type { Clock } from '../../domain/clock.js';
import { parseKeyString } from '../../domain/key-strings.js';
import type { AuthService } from '../auth-service.js';
import { tokenRevokedEvent } from '../change-events.js';
import type { Outbox } from '../outbox.js';
import type { VerificationService } from '../verification-service.js';
import { authenticateCaller } from './caller.js';
import type { ClientAuthenticator } from './client-auth.js';
import { InsufficientScope, UnsupportedTokenType } from '../../oauth/errors.js';
import type { OAuthRequest } from '../../oauth/form.js';

/**
 * The revocation endpoint (RFC 7009). A client revokes its own access tokens; a management
 * principal holding `keys.edit` on the token's account revokes any of that account's. The
 * revocation is a cluster event, committed before the answer: the token stops at once on this node
 * and within a poll interval on every other, and a node starting later knows it. Unknown, expired and
 * foreign tokens are answered 200 with nothing done (RFC 7009 2.2), so nothing can be probed.
 * API keys are not revoked here (unsupported_token_type): delete or switch off the key instead.
 */
export class RevocationEndpoint {
  constructor(
    private readonly auth: AuthService,
    private readonly clients: ClientAuthenticator,
    private readonly verification: VerificationService,
    private readonly outbox: Outbox,
    private readonly clock: Clock,
  ) {}

  async handle(request: OAuthRequest): Promise<void> {
    const caller = await authenticateCaller(request, this.auth, this.clients);
    const token = request.params.require('token');
    // token_type_hint is only a hint (RFC 7009 2.1); the token's shape says what it is.
    request.params.get('token_type_hint');
    if (parseKeyString(token) !== null)
      throw new UnsupportedTokenType('API keys and client secrets are not revoked here: delete the key, switch it off, or reset its secret.');
    const result = await this.verification.verify(token, { consume: false });
    const c = result.credential;
    if (c === null || c.token === null || result.code === 'expired' || result.code === 'revoked') return;
    if (caller.client !== undefined) {
      if (c.token.clientId !== caller.client.record.clientId) return;
    } else if (!caller.principal.permissionsOn(c.accountId).has('keys.edit')) {
      throw new InsufficientScope(`Revoking this token needs the 'keys.edit' permission on account '${c.accountId}'.`);
    }
    const revoked = { accountId: c.accountId, keyId: c.keyId, clientId: c.token.clientId, jti: c.token.jti, expiresAt: c.expiresAt! };
    await this.outbox.write({ events: [tokenRevokedEvent(revoked, this.clock.now())] });
  }
}
