/**
 * The one error family of Keyport, and its one table. The domain and services throw AppErrors
 * naming a code, a detail written for people and, for bad fields, the fields; the table below
 * gives each code its HTTP status and title, and only `http/problem.ts` turns them into RFC 9457
 * answers (and `/oauth/*` into RFC 6749 bodies). Anything that is not an AppError is a bug and
 * becomes a generic 500.
 */

/**
 * Every error code, with the HTTP status and the RFC 9457 title it is answered with, and what it
 * means. Clients may switch on the codes: they are stable. The OpenAPI document lists this table.
 */
export const ERRORS = {
  validation_failed: { status: 400, title: 'Invalid request', description: 'A field of the request is missing, malformed or out of range; `errors` points at each one.' },
  malformed_json: { status: 400, title: 'Malformed JSON', description: 'The request body is not valid JSON.' },
  confirmation_required: { status: 400, title: 'Confirmation required', description: 'An irreversible action was sent without `"confirm": true`.' },
  unknown_scope: { status: 400, title: 'Unknown scope', description: 'A scope is not in the catalog (GET /v1/catalog lists them).' },
  unknown_role: { status: 400, title: 'Unknown role definition', description: 'A role names a definition that is not in the catalog.' },
  roles_immutable: { status: 400, title: 'Roles cannot change', description: 'The roles of a token key are fixed when it is created.' },
  invalid_kind_scopes: { status: 400, title: 'Access is fixed for this kind', description: 'Scopes or roles were given to an admin or storefront key, whose access its kind fixes.' },
  invalid_cursor: { status: 400, title: 'Invalid cursor', description: 'The cursor is not one this listing returned, or belongs to another sort order.' },
  malformed_request: { status: 400, title: 'Malformed request', description: 'The request is not well-formed HTTP, or its URL has a broken percent-encoding.' },
  service_token_missing: { status: 400, title: 'Gateway not authenticated', description: '/v1/authz: the gateway sent no Keyport-Service-Token (a gateway misconfiguration, never the client\'s fault).' },
  service_token_invalid: { status: 400, title: 'Gateway not authenticated', description: '/v1/authz: the gateway\'s Keyport-Service-Token is unknown, expired or revoked.' },
  invalid_signature: { status: 401, title: 'Invalid signature', description: 'A signed report (POST /v1/leaks/github) names no configured public key, or its signature does not verify over the body.' },
  webhook_url_not_allowed: { status: 400, title: 'Webhook URL not allowed', description: 'The webhook URL is not https://, or its host is (or resolves to) a loopback, private, link-local or other non-public address this installation does not deliver to.' },
  unauthenticated: { status: 401, title: 'Authentication required', description: 'No credentials, or credentials that are unknown, expired or revoked.' },
  forbidden: { status: 403, title: 'Forbidden', description: 'The caller is authenticated but may not do this (a missing permission, a failed CSRF check).' },
  account_not_eligible: { status: 403, title: 'Account not eligible', description: 'The account may not create API keys.' },
  ip_not_allowed: { status: 403, title: 'Address not allowed', description: "The request comes from an address outside the key's ipAllowlist (or the address is unknown)." },
  secret_reveal_not_permitted: { status: 403, title: 'Secret reveal not permitted', description: 'The account never reveals secrets (its secretReveal setting is "never").' },
  leak_reports_not_configured: { status: 404, title: 'Leak reports not configured', description: 'This installation has no public keys for GitHub secret scanning (KEYPORT_GITHUB_LEAK_KEYS or KEYPORT_GITHUB_LEAK_KEYS_FILE).' },
  not_found: { status: 404, title: 'Not found', description: 'No such endpoint, or no such object in an account the caller may see.' },
  conflict: { status: 409, title: 'Conflict', description: 'The change conflicts with what exists (a name or e-mail taken, an existing grant, the last owner).' },
  key_limit_reached: { status: 409, title: 'Key limit reached', description: 'The account holds as many keys in the environment as its keyLimitPerEnvironment allows, or more (a lowered limit keeps the keys already made; GET /keys/counts says how many are over it).' },
  secret_not_revealable: { status: 409, title: 'No revealable secret', description: 'The secret was made before revealing was permitted, or the key has none yet: reset it.' },
  request_timeout: { status: 408, title: 'Request timeout', description: 'The request did not arrive in time.' },
  payload_too_large: { status: 413, title: 'Payload too large', description: 'The request body is larger than the endpoint accepts.' },
  uri_too_long: { status: 414, title: 'URI too long', description: 'A segment of the URL path is longer than Keyport accepts.' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type', description: 'The request body is not application/json.' },
  rate_limited: { status: 429, title: 'Too many requests', description: 'Too many requests or failed attempts; try again after the time the detail names.' },
  usage_exceeded: { status: 429, title: 'Credits used up', description: "The key's credits are used up; they come back at its next refill, or when an operator tops them up." },
  headers_too_large: { status: 431, title: 'Request headers too large', description: 'The request headers are larger than Keyport accepts.' },
  internal_error: { status: 500, title: 'Internal server error', description: 'Something went wrong on the server; it has been logged.' },
  server_busy: { status: 503, title: 'Server busy', description: 'Too many sign-ins are being checked at once on this node; retry after the seconds Retry-After names.' },
  store_unavailable: { status: 503, title: 'Store unavailable', description: 'The store is unreachable or too slow, or this node cannot vouch for its cached answers: an outage, not a bug. Retry after the Retry-After seconds.' },
} as const satisfies Record<string, { status: number; title: string; description: string }>;

/** Stable machine-readable error codes; clients may switch on them. */
export type ErrorCode = keyof typeof ERRORS;
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/**
 * One bad field of the input and what is wrong with it. The pointer (RFC 6901) is relative to the
 * input of the use case, as a service sees it (`/scopes/0`, `/cursor`); the HTTP layer alone says
 * which part of the request that input came from (see `http/problem.ts`).
 */
export interface FieldError {
  pointer: string;
  detail: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly errors: FieldError[] | undefined;
  /** Seconds the client should wait before trying again (answered as Retry-After). */
  retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, detail: string, errors?: FieldError[]) {
    super(detail);
    this.name = 'AppError';
    this.code = code;
    this.errors = errors;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  get title(): string {
    return ERRORS[this.code].title;
  }
}

export const validationError = (detail: string, errors: FieldError[] = []): AppError => new AppError('validation_failed', detail, errors);

/** One field is wrong: the detail is repeated on the field so forms can show it beside the input. */
export const fieldError = (pointer: string, detail: string): AppError => validationError(detail, [{ pointer, detail }]);

export const notFound = (what: string, id: string, errors?: FieldError[]): AppError =>
  new AppError('not_found', `${what} '${id}' does not exist.`, errors);

export const unauthenticated = (detail: string): AppError => new AppError('unauthenticated', detail);

export const forbidden = (detail: string, errors?: FieldError[]): AppError => new AppError('forbidden', detail, errors);

export const confirmationRequired = (action: string): AppError =>
  new AppError('confirmation_required', `${action} cannot be undone: send "confirm": true to go ahead.`, [{ pointer: '/confirm', detail: 'must be true' }]);

/** Too many attempts: 429 with Retry-After. */
export const rateLimited = (detail: string, retryAfterSeconds: number): AppError =>
  Object.assign(new AppError('rate_limited', detail), { retryAfterSeconds });

/** This node has too much of one kind of work queued (password checks): 503 with Retry-After. */
export const serverBusy = (detail: string, retryAfterSeconds = 1): AppError =>
  Object.assign(new AppError('server_busy', detail), { retryAfterSeconds });

/** Seconds a client is asked to wait (Retry-After) when the store is unavailable. */
export const STORE_RETRY_AFTER_SECONDS = 1;

/**
 * The store is unreachable or too slow, or this node cannot vouch for its cached answers: an outage,
 * not a bug (503, with Retry-After). The request may have changed nothing; retrying is safe for reads.
 */
export const storeUnavailable = (
  detail = 'Keyport cannot reach its store, or the store is too slow, right now. Try again shortly.',
): AppError => new AppError('store_unavailable', detail);
