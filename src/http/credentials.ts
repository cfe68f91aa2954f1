import type { VerifyCode } from '../domain/verification.js';

/**
 * What the routes that check a client's credential share (/v1/verify, /v1/whoami, /v1/authz).
 */

/** Why a credential is refused, in words, by its stable code. */
export const REFUSAL_REASONS: Readonly<Record<Exclude<VerifyCode, 'valid'> | 'missing', string>> = {
  missing: 'is missing',
  unknown: 'is not a key or token Keyport knows',
  malformed: 'is not a well-formed token key or access token',
  inactive: 'belongs to a key that is switched off',
  expired: 'has expired',
  revoked: 'has been revoked',
  wrong_environment: 'belongs to the other environment',
  insufficient_scope: 'lacks a scope this route needs',
  rate_limited: "has used up its key's rate limit",
  ip_not_allowed: "is used from outside its key's IP allowlist",
  usage_exceeded: "has used up its key's credits",
};
