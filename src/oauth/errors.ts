/**
 * OAuth 2.0 errors, one class per error code, each carrying the HTTP status its RFC names. Under
 * `/oauth/*` they are answered as `{error, error_description}` (RFC 6749 section 5.2) instead of
 * problem+json.
 */

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'unsupported_token_type'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'slow_down'
  | 'access_denied'
  | 'usage_exceeded'
  | 'temporarily_unavailable'
  | 'server_error';

/** The realm named in WWW-Authenticate challenges. */
export const REALM = 'keyport';

export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;
  /** Extra response headers (challenges, Retry-After). */
  readonly headers: Record<string, string>;

  constructor(error: OAuthErrorCode, status: number, description: string, headers: Record<string, string> = {}) {
    super(description);
    this.name = 'OAuthError';
    this.error = error;
    this.status = status;
    this.headers = headers;
  }

  /** The RFC 6749 section 5.2 error body. */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.message };
  }
}

/** RFC 6749 5.2: a parameter is missing, repeated, malformed or unsupported. */
export class InvalidRequest extends OAuthError {
  constructor(description: string) {
    super('invalid_request', 400, description);
  }
}

/**
 * RFC 6749 5.2: client authentication failed. Always 401 with a challenge for the methods we accept,
 * whether or not the client used the Authorization header.
 */
export class InvalidClient extends OAuthError {
  constructor(description: string) {
    super('invalid_client', 401, description, { 'www-authenticate': `Basic realm="${REALM}"` });
  }
}

/** RFC 6749 5.2: the grant (for client credentials: the key itself) is switched off or expired. */
export class InvalidGrant extends OAuthError {
  constructor(description: string) {
    super('invalid_grant', 400, description);
  }
}

/** RFC 6749 5.2: the authenticated client may not use this grant type. */
export class UnauthorizedClient extends OAuthError {
  constructor(description: string) {
    super('unauthorized_client', 400, description);
  }
}

/** RFC 6749 5.2: the grant type is not one this server supports. */
export class UnsupportedGrantType extends OAuthError {
  constructor(description: string) {
    super('unsupported_grant_type', 400, description);
  }
}

/** RFC 6749 5.2: the scope asked for is unknown, malformed, or wider than the key's. */
export class InvalidScope extends OAuthError {
  constructor(description: string) {
    super('invalid_scope', 400, description);
  }
}

/** RFC 8707 2: a `resource` parameter is not an absolute URI without a fragment. */
export class InvalidTarget extends OAuthError {
  constructor(description: string) {
    super('invalid_target', 400, description);
  }
}

/** RFC 7009 2.2.1: revocation of this token type is not supported. */
export class UnsupportedTokenType extends OAuthError {
  constructor(description: string) {
    super('unsupported_token_type', 400, description);
  }
}

/** RFC 6750 3.1: the bearer token authorizing the call is unknown, expired or revoked. */
export class InvalidToken extends OAuthError {
  constructor(description: string) {
    super('invalid_token', 401, description, {
      'www-authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="${description.replace(/["\\]/g, '')}"`,
    });
  }
}

/** RFC 6750 3.1: the bearer token authorizing the call lacks the permission needed. */
export class InsufficientScope extends OAuthError {
  constructor(description: string) {
    super('insufficient_scope', 403, description, {
      'www-authenticate': `Bearer realm="${REALM}", error="insufficient_scope"`,
    });
  }
}

/**
 * Too many requests: a key over its rate limit, or a client or address throttled after failed
 * authentications. `slow_down` is the token endpoint error of the OAuth Extensions Error Registry
 * (RFC 8628 3.5) for "ask less often"; the status is 429 (RFC 6585) with Retry-After.
 */
export class SlowDown extends OAuthError {
  constructor(description: string, retryAfterSeconds: number, headers: Record<string, string> = {}) {
    super('slow_down', 429, description, { 'retry-after': String(retryAfterSeconds), ...headers });
  }
}

/**
 * The key may not be used from where the request comes (outside its IP allowlist). The client did
 * authenticate, so this is not invalid_client: RFC 6749 4.1.2.1 names `access_denied` for "the
 * authorization server denied the request", and a 403 says the credentials are right but not
 * enough (RFC 9110 15.5.4).
 */
export class AccessDenied extends OAuthError {
  constructor(description: string) {
    super('access_denied', 403, description);
  }
}

/**
 * The key's credits are used up: 429 like a rate limit (RFC 6585), with Retry-After when a refill
 * is scheduled. `usage_exceeded` is Keyport's extension error code (RFC 6749 8.5), the same code
 * /v1/verify answers.
 */
export class UsageExceeded extends OAuthError {
  constructor(description: string, retryAfterSeconds: number | null, headers: Record<string, string> = {}) {
    super('usage_exceeded', 429, description, retryAfterSeconds === null ? headers : { 'retry-after': String(retryAfterSeconds), ...headers });
  }
}

/**
 * The store is unreachable or too slow: an outage, not a fault of the request. RFC 6749 4.1.2.1
 * names `temporarily_unavailable` for this (for the authorization endpoint; OAuth servers use it
 * at every endpoint), answered 503 with Retry-After.
 */
export class TemporarilyUnavailable extends OAuthError {
  constructor(retryAfterSeconds: number, description = 'The server cannot reach its store right now; try again shortly.') {
    super('temporarily_unavailable', 503, description, { 'retry-after': String(retryAfterSeconds) });
  }
}

/** Anything unexpected: the details go to the log, never to the client. */
export class ServerError extends OAuthError {
  constructor() {
    super('server_error', 500, 'The server could not answer the request. It has been logged; try again later.');
  }
}
