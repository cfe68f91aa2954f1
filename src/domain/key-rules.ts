import type { Catalog, RoleAssignment } from './catalog.js';
import type { CredentialType, Environment, KeyKind } from './environment.js';
import { AppError, fieldError, validationError, type FieldError } from './errors.js';
import { newId } from './ids.js';
import { generateKeyString, hashKeyString, secretMatchesHash } from './key-strings.js';
import type { KeyRecord, RateLimitPolicy } from './model.js';
import { checkCredits, checkIpAllowlist, checkMeta, normalRefill, type CreditsInput, type KeyCredits } from './usage-controls.js';

/**
 * The rules of a key's access and secrets, shared by the use cases that make and change keys and
 * grants, and by client authentication. Pure: no storage, no HTTP. Errors point at the field of
 * the use case's input they concern.
 */

/** The picked scopes of a key of `kind`: only custom keys pick, and only scopes of the catalog. */
export function checkScopes(catalog: Catalog, kind: KeyKind, scopes: readonly string[] | undefined): string[] {
  if (scopes === undefined) return [];
  if (kind !== 'custom') {
    if (scopes.length === 0) return [];
    throw new AppError(
      'invalid_kind_scopes',
      `${kind === 'admin' ? 'Admin keys have every scope of the catalog' : 'Storefront keys have the catalog\u2019s fixed storefront scopes'}; pick scopes on a custom key instead.`,
      [{ pointer: '/scopes', detail: `cannot be set on a ${kind} key` }],
    );
  }
  const errors = scopes.flatMap((s, i) => (catalog.scopeSet.has(s) ? [] : [{ pointer: `/scopes/${i}`, detail: `unknown scope '${s}'` }]));
  if (errors.length)
    throw new AppError('unknown_scope', `${errors.length === 1 ? 'A scope is' : 'Some scopes are'} not in the catalog (GET /v1/catalog lists them).`, errors);
  return [...new Set(scopes)];
}

/** Refuses roles whose definition the catalog lacks, pointing at each (`/roles/<i>/definition`). */
export function checkRoleDefinitions(catalog: Catalog, roles: readonly RoleAssignment[]): void {
  const errors: FieldError[] = roles.flatMap((r, i) =>
    catalog.grants.has(r.definition) ? [] : [{ pointer: `/roles/${i}/definition`, detail: `unknown role definition '${r.definition}'` }],
  );
  if (errors.length) throw new AppError('unknown_role', 'A role names a definition that is not in the catalog (GET /v1/catalog lists them).', errors);
}

/** The roles of a key of `kind`: only custom keys hold roles; one level per definition, the highest asked for. */
export function checkRoles(catalog: Catalog, kind: KeyKind, roles: readonly RoleAssignment[] | undefined): RoleAssignment[] {
  if (roles === undefined || roles.length === 0) return [];
  if (kind !== 'custom')
    throw new AppError('invalid_kind_scopes', `A ${kind} key's access is fixed by its kind; give roles to a custom key instead.`, [
      { pointer: '/roles', detail: `cannot be set on a ${kind} key` },
    ]);
  checkRoleDefinitions(catalog, roles);
  const byDefinition = new Map<string, RoleAssignment>();
  const rank = (level: string) => catalog.levels.indexOf(level as never);
  for (const r of roles) {
    const seen = byDefinition.get(r.definition);
    if (!seen || rank(r.level) > rank(seen.level)) byDefinition.set(r.definition, { definition: r.definition, level: r.level });
  }
  return [...byDefinition.values()];
}

/** A custom key must be able to do something. */
export function checkCustomAccess(key: Pick<KeyRecord, 'kind' | 'scopes' | 'roles'>): void {
  if (key.kind === 'custom' && key.scopes.length === 0 && key.roles.length === 0)
    throw fieldError('/scopes', 'A custom key needs at least one scope or role.');
}

/** Do two role lists grant the same, whatever their order? */
export function sameRoles(a: readonly RoleAssignment[], b: readonly RoleAssignment[]): boolean {
  const norm = (r: readonly RoleAssignment[]) => r.map((x) => `${x.definition}:${x.level}`).sort().join(',');
  return norm(a) === norm(b);
}

/** An expiry as sent (ISO 8601, or null for none) as epoch ms; it must lie in the future. */
export function parseExpiry(value: string | null, now: number): number | null {
  if (value === null) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw fieldError('/expiresAt', `'${value}' is not an ISO 8601 date-time.`);
  if (ms <= now) throw fieldError('/expiresAt', 'must be in the future');
  return ms;
}

/** Does the candidate match the current secret, or the previous one while its grace period lasts? */
export function secretMatches(key: KeyRecord, candidate: string, now: number): boolean {
  const current = secretMatchesHash(candidate, key.secretHash);
  const previous =
    key.previousSecretExpiresAt !== null && key.previousSecretExpiresAt > now && secretMatchesHash(candidate, key.previousSecretHash);
  return current || previous;
}

/** A new secret: a client secret, or the key string of a token key. */
export const newSecret = (type: CredentialType, environment: Environment): string =>
  generateKeyString(type === 'client_secret' ? 'clientSecret' : 'token', environment);

/** Builds a new key record and, unless `withSecret` is false, its secret. */
export function newKeyRecord(input: {
  accountId: string;
  name: string;
  environment: Environment;
  kind: KeyKind;
  credentialType: CredentialType;
  scopes: string[];
  roles: RoleAssignment[];
  channel: string | null;
  active: boolean;
  expiresAt: number | null;
  createdBy: string;
  now: number;
  withSecret: boolean;
  rateLimit?: RateLimitPolicy | null;
  ipAllowlist?: string[] | null;
  credits?: KeyCredits | null;
  meta?: Record<string, unknown> | null;
  externalId?: string | null;
  /** Encrypts the secret for later reveal; absent when the account never reveals secrets. */
  seal?: ((secret: string) => string) | undefined;
}): { record: KeyRecord; secret: string | null } {
  const secret = input.withSecret ? newSecret(input.credentialType, input.environment) : null;
  return {
    secret,
    record: {
      id: newId('key'),
      accountId: input.accountId,
      name: input.name,
      environment: input.environment,
      kind: input.kind,
      credentialType: input.credentialType,
      clientId: input.credentialType === 'client_secret' ? generateKeyString('clientId', input.environment) : null,
      secretHash: secret === null ? null : hashKeyString(secret),
      previousSecretHash: null,
      previousSecretExpiresAt: null,
      scopes: input.scopes,
      roles: input.roles,
      channel: input.channel,
      active: input.active,
      expiresAt: input.expiresAt,
      createdAt: input.now,
      updatedAt: input.now,
      lastUsedAt: null,
      secretEncrypted: secret !== null && input.seal ? input.seal(secret) : null,
      createdBy: input.createdBy,
      rateLimit: input.rateLimit ?? null,
      ipAllowlist: input.ipAllowlist ?? null,
      credits: input.credits ?? null,
      meta: input.meta ?? null,
      externalId: input.externalId ?? null,
      leak: null,
    },
  };
}

/** The usage controls of a key as sent on create or PATCH (each absent when not sent). */
export interface UsageControlsInput {
  ipAllowlist?: string[] | null | undefined;
  credits?: CreditsInput | null | undefined;
  meta?: Record<string, unknown> | null | undefined;
  externalId?: string | null | undefined;
}

/**
 * Checks the usage controls sent and returns them as stored, only the ones sent; every bad field is
 * named in one validation error, so nothing is changed by a request with any of them wrong. New
 * credits start their refill period now: the first refill is at the next boundary.
 */
export function checkUsageControls(input: UsageControlsInput, now: number): Partial<Pick<KeyRecord, 'ipAllowlist' | 'credits' | 'meta' | 'externalId'>> {
  const out: Partial<Pick<KeyRecord, 'ipAllowlist' | 'credits' | 'meta' | 'externalId'>> = {};
  const errors: FieldError[] = [];
  if (input.ipAllowlist !== undefined) {
    const { value, errors: bad } = checkIpAllowlist(input.ipAllowlist);
    errors.push(...bad);
    out.ipAllowlist = value;
  }
  if (input.credits !== undefined) {
    errors.push(...checkCredits(input.credits));
    out.credits = input.credits === null ? null : { remaining: input.credits.remaining, refill: normalRefill(input.credits.refill), refilledAt: now };
  }
  if (input.meta !== undefined) {
    errors.push(...checkMeta(input.meta));
    out.meta = input.meta;
  }
  if (input.externalId !== undefined) out.externalId = input.externalId;
  if (errors.length) throw validationError(errors.length === 1 ? `${errors[0]!.pointer.slice(1)}: ${errors[0]!.detail}.` : 'Some usage controls are invalid; see errors.', errors);
  return out;
}
