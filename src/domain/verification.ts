/**
 * Why a credential is not valid, or `valid`: the answers of /v1/verify (and the X-Keyport-Code of
 * forward-auth). Stable: gateways switch on these.
 */
export const VERIFY_CODES = ['valid', 'unknown', 'malformed', 'inactive', 'expired', 'revoked', 'wrong_environment', 'insufficient_scope', 'rate_limited'] as const;
export type VerifyCode = (typeof VERIFY_CODES)[number];
