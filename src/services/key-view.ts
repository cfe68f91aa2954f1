import { grantedScopes, type Catalog, type RoleAssignment } from '../domain/catalog.js';
import type { CredentialType, Environment, KeyKind } from '../domain/environment.js';
import type { KeyRecord, RateLimitPolicy } from '../domain/model.js';

/** A key as the API shows it: no hash, timestamps as ISO 8601. */
export interface KeyView {
  id: string;
  accountId: string;
  name: string;
  environment: Environment;
  kind: KeyKind;
  credentialType: CredentialType;
  clientId: string | null;
  /** The scopes of the kind (admin, storefront) or the ones picked (custom). */
  scopes: string[];
  roles: RoleAssignment[];
  /** Everything the key may do: `scopes` plus what its roles grant. */
  grantedScopes: string[];
  channel: string | null;
  active: boolean;
  /** False for keys provisioned with an account until an operator resets the secret. */
  hasSecret: boolean;
  expiresAt: string | null;
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
  createdBy: string;
  /** Requests per window allowed to /v1/verify and /oauth/token; null: unlimited. */
  rateLimit: RateLimitPolicy | null;
}

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The scopes a key's kind gives it, before roles. */
export function kindScopes(catalog: Catalog, key: Pick<KeyRecord, 'kind' | 'scopes'>): string[] {
  if (key.kind === 'admin') return catalog.allScopes;
  if (key.kind === 'storefront') return catalog.storefrontScopes;
  return key.scopes;
}

export function toKeyView(catalog: Catalog, key: KeyRecord, now: number): KeyView {
  return {
    id: key.id,
    accountId: key.accountId,
    name: key.name,
    environment: key.environment,
    kind: key.kind,
    credentialType: key.credentialType,
    clientId: key.clientId,
    scopes: kindScopes(catalog, key),
    roles: key.roles,
    grantedScopes: grantedScopes(catalog, key.kind, key.scopes, key.roles),
    channel: key.channel,
    active: key.active,
    hasSecret: key.secretHash !== null,
    expiresAt: iso(key.expiresAt),
    previousSecretExpiresAt:
      key.previousSecretExpiresAt !== null && key.previousSecretExpiresAt > now ? iso(key.previousSecretExpiresAt) : null,
    createdAt: iso(key.createdAt)!,
    updatedAt: iso(key.updatedAt)!,
    lastUsedAt: iso(key.lastUsedAt),
    createdBy: key.createdBy,
    rateLimit: key.rateLimit,
  };
}
