/** Why the SDK could not answer: a string-literal union, for callers to switch on. */
export type KeyportErrorCode =
  /** Keyport is unreachable, too slow, answered 5xx or something that is not a Keyport answer. */
  | 'keyport_unavailable'
  /** Keyport refused the service token (401): a configuration error of this service. */
  | 'service_token_invalid'
  /** Keyport refused the request as malformed (400): a bug or a version mismatch. */
  | 'bad_request'
  /** The verifier was closed. */
  | 'closed';

/**
 * Thrown by `verify()` when no answer can be given. Never a pass: middleware turns it into a 503
 * (or a 500 for a misconfiguration), and a caller that does not catch it refuses the request.
 */
export class KeyportError extends Error {
  override readonly name = 'KeyportError';
  constructor(
    readonly code: KeyportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
