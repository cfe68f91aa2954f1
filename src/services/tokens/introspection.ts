import { ENVIRONMENTS, type Environment } from '../../domain/environment.js';
import type { RoleAssignment } from '../../domain/catalog.js';
import type { AuthService } from '../auth-service.js';
import type { VerificationService } from '../verification-service.js';
import { authenticateCaller } from './caller.js';
import type { ClientAuthenticator } from './client-auth.js';
import { InvalidRequest } from '../../oauth/errors.js';
import type { OAuthRequest } from '../../oauth/form.js';

/** RFC 7662 2.2 introspection response; only `active` when the token is not active. */
export interface IntrospectionResponse {
  active: boolean;
  scope?: string;
  client_id?: string;
  token_type?: 'Bearer';
  exp?: number;
  iat?: number;
  sub?: string;
  aud?: string | string[];
  iss?: string;
  jti?: string;
  account?: string;
  environment?: Environment;
  roles?: readonly RoleAssignment[];
  channel?: string | null;
  /** Tokens for another account: the grant they were issued under and the key's own account. */
  grant_id?: string;
  key_account?: string;
}

const INACTIVE: IntrospectionResponse = Object.freeze({ active: false });

/**
 * The introspection endpoint (RFC 7662). Answers for access tokens and for token keys. A client may
 * introspect the tokens issued to it; a management principal those of the accounts where it holds
 * `keys.verify`. Anything else, and anything invalid, is `{"active": false}` (RFC 7662 2.2).
 * An optional `environment` parameter (Keyport's extension) makes a token of the other environment
 * inactive, like /v1/verify does. Introspection does not count against rate limits or spend credits;
 * a credential whose key has an IP allowlist is inactive here (the client's address is unknown).
 */
export class IntrospectionEndpoint {
  constructor(
    private readonly auth: AuthService,
    private readonly clients: ClientAuthenticator,
    private readonly verification: VerificationService,
  ) {}

  async handle(request: OAuthRequest): Promise<IntrospectionResponse> {
    const caller = await authenticateCaller(request, this.auth, this.clients);
    const token = request.params.require('token');
    const environment = request.params.get('environment');
    if (environment !== undefined && !ENVIRONMENTS.includes(environment as Environment))
      throw new InvalidRequest(`The environment parameter must be ${ENVIRONMENTS.join(' or ')}.`);
    const result = await this.verification.verify(token, { environment: environment as Environment | undefined, consume: false });
    const c = result.credential;
    if (!result.valid || c === null) return INACTIVE;
    // Introspection knows nothing of the client's address: a key bound to networks is not vouched for here.
    if (result.policy?.ipAllowlist) return INACTIVE;
    if (caller.client !== undefined ? c.token?.clientId !== caller.client.record.clientId : !caller.principal.permissionsOn(c.accountId).has('keys.verify'))
      return INACTIVE;
    const body: IntrospectionResponse = { active: true, scope: c.scopes.join(' ') };
    if (c.token !== null) {
      Object.assign(body, { client_id: c.token.clientId, token_type: 'Bearer', exp: Math.floor(c.expiresAt! / 1000), iat: c.token.issuedAt });
      Object.assign(body, { sub: c.keyId, aud: c.token.audience, iss: c.token.issuer, jti: c.token.jti });
      if (c.token.grant !== null) Object.assign(body, { grant_id: c.token.grant.id, key_account: c.token.grant.keyAccountId });
    } else {
      if (c.expiresAt !== null) body.exp = Math.floor(c.expiresAt / 1000);
      body.sub = c.keyId;
    }
    return { ...body, account: c.accountId, environment: c.environment, roles: c.roles, channel: c.channel };
  }
}
