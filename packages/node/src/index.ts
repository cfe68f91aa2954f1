/**
 * @keyport/node: verify Keyport token keys and access tokens in process. See README.md.
 */
import { Verifier, type VerifierOptions } from './verifier.js';

export { Verifier, VERIFY_CODES } from './verifier.js';
export type { Environment, Role, VerifierOptions, VerifierStatus, VerifyCode, VerifyOptions, VerifyResult } from './verifier.js';
export { KeyportError, type KeyportErrorCode } from './errors.js';
export { keyportExpress, keyportFastify, keyportFetch, credentialOf, refusalOf, failureOf } from './middleware.js';
export type { FastifyPluginOptions, FetchCheck, KeyportRequest, ProtectOptions, Refusal } from './middleware.js';

/**
 * Makes a verifier: it connects to Keyport's event stream at once (until it is caught up, answers
 * come from Keyport), caches answers by the SHA-256 of the credential, and reports uses in batches.
 * Throws a TypeError at once for a missing or malformed option.
 */
export function createVerifier(options: VerifierOptions): Verifier {
  return new Verifier(options);
}
