import Type, { type Static } from 'typebox';
import { CREDENTIAL_TYPES, type CredentialType } from './environment.js';

export const SECRET_REVEAL_POLICIES = ['never', 'permitted'] as const;
export type SecretReveal = (typeof SECRET_REVEAL_POLICIES)[number];

/** What a key reported leaked gets: deactivated with its tokens revoked at once, or kept working (its operators are told either way). */
export const LEAK_RESPONSES = ['revoke', 'notify'] as const;
export type LeakResponse = (typeof LEAK_RESPONSES)[number];

/** Bounds of each setting; the HTTP schemas and the CLI both use these. */
export const SETTING_BOUNDS = {
  accessTokenTtl: { min: 60, max: 86_400 },
  keyLifetime: { min: 3_600, max: 10 * 366 * 86_400 },
  keyLimitPerEnvironment: { min: 1, max: 1_000_000 },
  /** Days before a key's expiry a reminder goes out: each a whole number of days, at most this many thresholds. */
  expiryNoticeDays: { min: 1, max: 365, maxItems: 10 },
  creditsLowThreshold: { min: 0, max: 1_000_000_000 },
} as const;

const perCredentialType = <T extends ReturnType<typeof Type.Boolean>>(value: () => T) =>
  Type.Object(Object.fromEntries(CREDENTIAL_TYPES.map((t) => [t, value()])) as Record<CredentialType, T>);

/** Per-account settings: their one shape, for the store, the services and the API. */
export const AccountSettingsSchema = Type.Object({
  accessTokenTtl: Type.Integer({ description: 'Lifetime of access tokens, in seconds.' }),
  keyLifetime: Type.Unsafe<number | null>({ type: ['integer', 'null'], description: 'Default lifetime of new and reset secrets, in seconds; null: they do not expire.' }),
  keyLimitPerEnvironment: Type.Integer({ description: 'How many keys the account may hold in one environment.' }),
  secretReveal: Type.Unsafe<SecretReveal>({ type: 'string', enum: SECRET_REVEAL_POLICIES, description: 'Whether secrets may be revealed after creation (stored encrypted) or never.' }),
  defaultActive: perCredentialType(() => Type.Boolean()),
  expiryNoticeDays: Type.Array(Type.Integer(), { description: 'Days before a key expires that its operators hear of it (key.expiring), once per key and threshold; [] sends none.' }),
  creditsLowThreshold: Type.Integer({ description: 'Credits left at which a key with credits is reported running low (key.credits_low), once each time its credits fall to it; 0: when they run out.' }),
  leakResponse: Type.Unsafe<LeakResponse>({ type: 'string', enum: LEAK_RESPONSES, description: 'What a key reported leaked gets: "revoke" deactivates it and revokes its tokens at once, "notify" keeps it working. key.leaked is sent either way.' }),
});
export type AccountSettings = Static<typeof AccountSettingsSchema>;

export const DEFAULT_SETTINGS: AccountSettings = Object.freeze({
  accessTokenTtl: 3600,
  keyLifetime: null,
  keyLimitPerEnvironment: 25,
  secretReveal: 'never',
  defaultActive: Object.freeze({ client_secret: true, token: false }),
  expiryNoticeDays: Object.freeze([7, 1]),
  leakResponse: 'revoke',
  creditsLowThreshold: 10,
}) as AccountSettings;

/** Expiry thresholds as stored and used: distinct, largest first. */
export const normaliseNoticeDays = (days: readonly number[]): number[] => [...new Set(days)].sort((a, b) => b - a);
