import type { CreditsView, Key } from '../contract/keys.js';
import { creditsAt, nextRefillAt, type KeyCredits } from '../domain/usage-controls.js';
import { grantedScopes, type Catalog } from '../domain/catalog.js';
import type { KeyRecord } from '../domain/model.js';

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The scopes a key's kind gives it, before roles. */
export function kindScopes(catalog: Catalog, key: Pick<KeyRecord, 'kind' | 'scopes'>): string[] {
  if (key.kind === 'admin') return catalog.allScopes;
  if (key.kind === 'storefront') return catalog.storefrontScopes;
  return key.scopes;
}

/**
 * Views of a page of keys: the granted scopes are worked out once per kind, scopes and roles
 * (rows of one page that share their parsed scopes and roles share the answer too).
 */
export function toKeyViews(catalog: Catalog, keys: readonly KeyRecord[], now: number): Key[] {
  const granted = new Map<string, Map<readonly string[], Map<readonly unknown[], string[]>>>();
  const grantedOf = (key: KeyRecord) => {
    let byScopes = granted.get(key.kind);
    if (byScopes === undefined) granted.set(key.kind, (byScopes = new Map()));
    let byRoles = byScopes.get(key.scopes);
    if (byRoles === undefined) byScopes.set(key.scopes, (byRoles = new Map()));
    let scopes = byRoles.get(key.roles);
    if (scopes === undefined) byRoles.set(key.roles, (scopes = grantedScopes(catalog, key.kind, key.scopes, key.roles)));
    return scopes;
  };
  return keys.map((key) => toKeyView(catalog, key, now, grantedOf(key)));
}

/** A key as the API shows it (the `Key` schema): no hash, timestamps as ISO 8601. */
export function toKeyView(catalog: Catalog, key: KeyRecord, now: number, granted = grantedScopes(catalog, key.kind, key.scopes, key.roles)): Key {
  const createdAt = iso(key.createdAt)!;
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
    grantedScopes: granted,
    channel: key.channel,
    active: key.active,
    hasSecret: key.secretHash !== null,
    expiresAt: iso(key.expiresAt),
    previousSecretExpiresAt:
      key.previousSecretExpiresAt !== null && key.previousSecretExpiresAt > now ? iso(key.previousSecretExpiresAt) : null,
    createdAt,
    // A key never changed has one timestamp twice: formatted once.
    updatedAt: key.updatedAt === key.createdAt ? createdAt : iso(key.updatedAt)!,
    lastUsedAt: iso(key.lastUsedAt),
    createdBy: key.createdBy,
    rateLimit: key.rateLimit,
    ipAllowlist: key.ipAllowlist,
    credits: key.credits === null ? null : creditsView(key.credits, now),
    meta: key.meta,
    externalId: key.externalId,
    leak: key.leak === null ? null : { reportedAt: iso(key.leak.reportedAt)!, source: key.leak.source, url: key.leak.url },
  };
}

/** Credits as they stand at `now`: a refill that is due counts, though the store applies it at the next use. */
export function creditsView(credits: KeyCredits, now: number): CreditsView {
  return {
    remaining: creditsAt(credits, now),
    refill: credits.refill,
    nextRefillAt: credits.refill === null ? null : iso(nextRefillAt(credits.refill, now)),
  };
}
