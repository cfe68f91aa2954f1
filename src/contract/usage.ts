import { ENVIRONMENTS } from '../domain/environment.js';
import { USAGE_GRANULARITIES, USAGE_OUTCOMES } from '../domain/verification.js';
import { nullable, oneOf, timestamp, Type, type Static } from './schema.js';

/** Counts per outcome: every outcome, 0 when there was none. */
export const UsageCounts = Type.Object(
  Object.fromEntries(USAGE_OUTCOMES.map((o) => [o, Type.Integer()])) as Record<(typeof USAGE_OUTCOMES)[number], ReturnType<typeof Type.Integer>>,
  { description: 'Verifications and token requests by outcome: `valid` and each refusal code (credentials that belong to no key, `unknown` and `malformed`, are not counted).' },
);
export type UsageCounts = Static<typeof UsageCounts>;

export const UsageBucket = Type.Object({
  start: timestamp,
  total: Type.Integer(),
  counts: UsageCounts,
});
export type UsageBucket = Static<typeof UsageBucket>;

export const KeyUsage = Type.Object({
  keyId: Type.String(),
  name: nullable(Type.String({ description: 'null when the key was deleted since.' })),
  total: Type.Integer(),
  counts: UsageCounts,
});
export type KeyUsage = Static<typeof KeyUsage>;

/** The longest range of one answer: 31 days of hours, 2 years of days. */
export const USAGE_MAX_RANGE_DAYS = { hour: 31, day: 731 } as const;

export const UsageQuery = Type.Object(
  {
    key: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "One key's usage; without it, the whole account's." })),
    environment: Type.Optional(oneOf(ENVIRONMENTS, { description: 'Only keys of this environment (account-wide usage).' })),
    granularity: Type.Optional(oneOf(USAGE_GRANULARITIES, { default: 'hour', description: 'hour (kept 90 days) or day (kept 2 years).' })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Rounded down to its bucket. Default: the 24 hours (hour) or 30 days (day) that end with the bucket of `to`.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Default: now. Exclusive; rounded up to its bucket.' })),
    top: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, default: 10, description: 'Account-wide: how many of the most used keys to list.' })),
  },
  { additionalProperties: false },
);
export type UsageQuery = Static<typeof UsageQuery>;

export const Usage = Type.Object({
  granularity: oneOf(USAGE_GRANULARITIES),
  from: timestamp,
  to: timestamp,
  key: nullable(Type.String()),
  environment: Type.Unsafe<(typeof ENVIRONMENTS)[number] | null>({ type: ['string', 'null'], enum: [...ENVIRONMENTS, null] }),
  buckets: Type.Array(UsageBucket, { description: 'Every bucket of the range, oldest first; empty ones have zero counts.' }),
  totals: Type.Object({ total: Type.Integer(), counts: UsageCounts }),
  keys: Type.Array(KeyUsage, { description: 'Account-wide only: the most used keys of the range, most first (`top` of them).' }),
});
export type Usage = Static<typeof Usage>;
