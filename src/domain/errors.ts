/**
 * The one error family of Keyport. The domain and services throw these; only `http/problem.ts`
 * turns them into RFC 9457 responses, and `/oauth/*` into RFC 6749 bodies. Anything that is not an
 * AppError is a bug and becomes a generic 500.
 */

/** Stable machine-readable error codes; clients may switch on them. */
export type ErrorCode =
  | 'validation_failed'
  | 'malformed_json'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'account_not_eligible'
  | 'key_limit_reached'
  | 'confirmation_required'
  | 'unknown_scope'
  | 'unknown_role'
  | 'roles_immutable'
  | 'invalid_kind_scopes'
  | 'invalid_cursor'
  | 'conflict'
  | 'rate_limited'
  | 'secret_reveal_not_permitted'
  | 'store_unavailable'
  | 'internal_error';

/** A pointer to one bad field of a request (RFC 6901 JSON pointer) and what is wrong with it. */
export interface FieldError {
  pointer: string;
  detail: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly errors: FieldError[] | undefined;

  constructor(code: ErrorCode, status: number, title: string, detail: string, errors?: FieldError[]) {
    super(detail);
    this.name = 'AppError';
    this.code = code;
    this.status = status;
    this.title = title;
    this.errors = errors;
  }
}

export const validationError = (detail: string, errors: FieldError[] = []): AppError =>
  new AppError('validation_failed', 400, 'Invalid request', detail, errors);

/** One field is wrong: the detail is repeated on the field so forms can show it beside the input. */
export const fieldError = (pointer: string, detail: string): AppError =>
  validationError(detail, [{ pointer, detail }]);

export const notFound = (what: string, id: string): AppError =>
  new AppError('not_found', 404, 'Not found', `${what} '${id}' does not exist.`);

export const unauthenticated = (detail: string): AppError =>
  new AppError('unauthenticated', 401, 'Authentication required', detail);

export const forbidden = (detail: string): AppError => new AppError('forbidden', 403, 'Forbidden', detail);

export const confirmationRequired = (action: string): AppError =>
  new AppError(
    'confirmation_required',
    400,
    'Confirmation required',
    `${action} cannot be undone: send "confirm": true to go ahead.`,
    [{ pointer: '/confirm', detail: 'must be true' }],
  );

/** Seconds a client is asked to wait (Retry-After) when the store is unavailable. */
export const STORE_RETRY_AFTER_SECONDS = 1;

/**
 * The store is unreachable or too slow, or this node cannot vouch for its cached answers: an outage,
 * not a bug (503, with Retry-After). The request may have changed nothing; retrying is safe for reads.
 */
export const storeUnavailable = (
  detail = 'Keyport cannot reach its store, or the store is too slow, right now. Try again shortly.',
): AppError => new AppError('store_unavailable', 503, 'Store unavailable', detail);
