import type { CredentialType } from './environment.js';

export const SECRET_REVEAL_POLICIES = ['never', 'permitted'] as const;
export type SecretReveal = (typeof SECRET_REVEAL_POLICIES)[number];

/** Per-account settings. */
export interface AccountSettings {
  /** Lifetime of access tokens, in seconds. */
  accessTokenTtl: number;
  /** Default lifetime of new (and reset) secrets, in seconds; null means they do not expire. */
  keyLifetime: number | null;
  /** How many keys the account may hold in one environment. */
  keyLimitPerEnvironment: number;
  /** Whether secrets may be revealed after creation (stored encrypted) or never. */
  secretReveal: SecretReveal;
  /** Whether new keys start active when the request does not say, per credential type. */
  defaultActive: Record<CredentialType, boolean>;
}

export const DEFAULT_SETTINGS: AccountSettings = Object.freeze({
  accessTokenTtl: 3600,
  keyLifetime: null,
  keyLimitPerEnvironment: 25,
  secretReveal: 'never',
  defaultActive: Object.freeze({ client_secret: true, token: false }),
}) as AccountSettings;

/** Bounds of each setting; the HTTP schemas and the CLI both use these. */
export const SETTING_BOUNDS = {
  accessTokenTtl: { min: 60, max: 86_400 },
  keyLifetime: { min: 3_600, max: 10 * 366 * 86_400 },
  keyLimitPerEnvironment: { min: 1, max: 1_000_000 },
} as const;
