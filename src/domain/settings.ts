import Type, { type Static } from 'typebox';
import { CREDENTIAL_TYPES, type CredentialType } from './environment.js';

export const SECRET_REVEAL_POLICIES = ['never', 'permitted'] as const;
export type SecretReveal = (typeof SECRET_REVEAL_POLICIES)[number];

/** Bounds of each setting; the HTTP schemas and the CLI both use these. */
export const SETTING_BOUNDS = {
  accessTokenTtl: { min: 60, max: 86_400 },
  keyLifetime: { min: 3_600, max: 10 * 366 * 86_400 },
  keyLimitPerEnvironment: { min: 1, max: 1_000_000 },
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
});
export type AccountSettings = Static<typeof AccountSettingsSchema>;

export const DEFAULT_SETTINGS: AccountSettings = Object.freeze({
  accessTokenTtl: 3600,
  keyLifetime: null,
  keyLimitPerEnvironment: 25,
  secretReveal: 'never',
  defaultActive: Object.freeze({ client_secret: true, token: false }),
}) as AccountSettings;
