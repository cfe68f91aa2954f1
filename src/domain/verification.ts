/**
 * Why a credential is not valid, or `valid`: the answers of /v1/verify (and the X-Keyport-Code of
 * forward-auth). Stable: gateways switch on these.
 */
export const VERIFY_CODES = [
  'valid',
  'unknown',
  'malformed',
  'inactive',
  'expired',
  'revoked',
  'wrong_environment',
  'insufficient_scope',
  'rate_limited',
  'ip_not_allowed',
  'usage_exceeded',
] as const;
export type VerifyCode = (typeof VERIFY_CODES)[number];

/**
 * The outcomes usage analytics counts per key: every code but those of credentials that belong to
 * no key (`unknown`, `malformed`). The columns of `keyport usage --csv`, in this order.
 */
export const USAGE_OUTCOMES = ['valid', 'inactive', 'expired', 'revoked', 'wrong_environment', 'insufficient_scope', 'rate_limited', 'ip_not_allowed', 'usage_exceeded'] as const;
export type UsageOutcome = (typeof USAGE_OUTCOMES)[number];

/** Each outcome's position in USAGE_OUTCOMES, for counters kept as arrays. */
export const USAGE_OUTCOME_INDEX = Object.fromEntries(USAGE_OUTCOMES.map((o, i) => [o, i])) as Record<UsageOutcome, number>;

/** The granularities of usage buckets: hourly ones are kept 90 days, daily ones 2 years. */
export const USAGE_GRANULARITIES = ['hour', 'day'] as const;
export type UsageGranularity = (typeof USAGE_GRANULARITIES)[number];
