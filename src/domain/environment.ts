/** Every key and every token belongs to exactly one environment. */
export const ENVIRONMENTS = ['sandbox', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** The short label key strings carry, so a human or a scanner sees the environment at a glance. */
export const ENVIRONMENT_LABEL: Record<Environment, 'test' | 'live'> = { sandbox: 'test', production: 'live' };

export const KINDS = ['admin', 'storefront', 'custom'] as const;
export type KeyKind = (typeof KINDS)[number];

export const CREDENTIAL_TYPES = ['client_secret', 'token'] as const;
export type CredentialType = (typeof CREDENTIAL_TYPES)[number];
