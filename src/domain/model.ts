import Type, { type Static } from 'typebox';
import type { RoleAssignment } from './catalog.js';
import type { CredentialType, Environment, KeyKind } from './environment.js';
import type { SortField } from './sort-fields.js';
import type { AccountSettings } from './settings.js';
import type { KeyCredits } from './usage-controls.js';

/** A tenant. */
export interface Account {
  id: string;
  name: string;
  eligible: boolean;
  settings: AccountSettings;
  createdAt: number;
  updatedAt: number;
}

/** A key as stored, hashes included. Never leaves the service layer as is: see `KeyView`. */
export interface KeyRecord {
  id: string;
  accountId: string;
  name: string;
  environment: Environment;
  kind: KeyKind;
  credentialType: CredentialType;
  clientId: string | null;
  secretHash: string | null;
  previousSecretHash: string | null;
  previousSecretExpiresAt: number | null;
  /** Scopes picked for a custom key; empty for admin and storefront keys, whose scopes come from the catalog. */
  scopes: string[];
  roles: RoleAssignment[];
  channel: string | null;
  active: boolean;
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
  createdBy: string;
  /** At most `limit` verifications and token requests per `windowSeconds`; null: unlimited. */
  rateLimit: RateLimitPolicy | null;
  /** The secret, envelope-encrypted, while the account permits revealing secrets; otherwise null. */
  secretEncrypted: string | null;
  /** Canonical addresses and CIDR ranges the key may be used from; null: anywhere. */
  ipAllowlist: string[] | null;
  /** The credits the key may spend, and their refill; null: unlimited. */
  credits: KeyCredits | null;
  /** A JSON object returned on verification (plan, tenant, ...); null: none. */
  meta: Record<string, unknown> | null;
  /** The customer's own id for the key's owner; null: none. */
  externalId: string | null;
  /** The first report of the key's secret found in public (a secret scanner's alert); null: none. */
  leak: KeyLeak | null;
}

/** Where and when a key's secret was reported found in public. */
export interface KeyLeak {
  reportedAt: number;
  /** What found it, e.g. `github` with the alert's source (`content`, `commit`, ...). */
  source: string | null;
  /** The public URL the secret was found at, as reported. */
  url: string | null;
}

/** A key's rate limit: `limit` requests per fixed window of `windowSeconds`. */
export const RateLimitPolicySchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
    windowSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  },
  { additionalProperties: false },
);
export type RateLimitPolicy = Static<typeof RateLimitPolicySchema>;

/** Longest grace period for a previous secret after a reset: 7 days. */
export const MAX_PREVIOUS_SECRET_VALID_FOR = 7 * 86_400;


/** The filters of a key listing; each is optional and they combine with AND. */
export interface KeyFilter {
  environment?: Environment;
  kind?: KeyKind;
  credentialType?: CredentialType;
  active?: boolean;
  channel?: string;
  /** Case-insensitive substring of the name. */
  q?: string;
  createdFrom?: number;
  createdTo?: number;
  updatedFrom?: number;
  updatedTo?: number;
  externalId?: string;
  /** Keys not used since this instant (epoch ms): never used, or last used before it. */
  unusedSince?: number;
  /** Keys with an expiry before this instant (epoch ms), expired ones included. */
  expiresBefore?: number;
  /** Keys with an expiry after this instant (epoch ms). */
  expiresAfter?: number;
}

export interface KeySort {
  field: SortField;
  descending: boolean;
}

/**
 * Where the previous page stopped: the sort value and id of its last row. The value is null for
 * the nullable sort columns (channel, lastUsedAt, credits); see the repository for where NULL sorts.
 */
export interface KeyCursor {
  value: string | number | null;
  id: string;
}
