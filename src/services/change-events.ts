import { SETTING_BOUNDS } from '../domain/settings.js';
import type { KeyRecord } from '../domain/model.js';
import type { GrantRecord } from '../storage/operator-repositories.js';
import type { NewClusterEvent } from '../storage/oauth-repositories.js';
import type { KeyChange } from './keys-service.js';

/**
 * The cluster events each kind of change leaves in the log (see Outbox). Every event names its
 * account and what changed; revocations live as long as the tokens they stop can, every other
 * event an hour: far longer than any node lags behind.
 */
export const CHANGE_EVENT_RETENTION_MS = 3_600_000;

/** The cutoff of a removed grant (or of every grant of a deleted key): no version of it lives on. */
export const ALL_VERSIONS = Number.MAX_SAFE_INTEGER;

/** How long a revocation of every token of a client or a grant stays in force: the longest a token can live. */
const MAX_TOKEN_TTL_MS = SETTING_BOUNDS.accessTokenTtl.max * 1000;

type Fields = Partial<Omit<NewClusterEvent, 'kind' | 'accountId' | 'createdAt' | 'expiresAt'>>;

function event(kind: NewClusterEvent['kind'], accountId: string | null, now: number, fields: Fields, livesMs = CHANGE_EVENT_RETENTION_MS): NewClusterEvent {
  return { kind, accountId, keyId: null, clientId: null, jti: null, lookups: [], ...fields, expiresAt: now + livesMs, createdAt: now };
}

/** The cache lookups a key change makes stale: every secret hash and client id before and after. */
export function changeLookups(change: Pick<KeyChange, 'before' | 'after'>): string[] {
  const lookups = new Set<string>();
  for (const key of [change.before, change.after])
    if (key) for (const value of [key.secretHash, key.previousSecretHash, key.clientId]) if (value) lookups.add(value);
  return [...lookups];
}

/**
 * A key change reaches every node's caches. `revokeTokens` on delete and regenerate stops the tokens
 * of the old client id (new tokens of a regenerated key carry its new client id). A deleted key's
 * grants (`grants`, read before the delete) went with it: its tokens for other accounts stop, and
 * each granting account is told its grant is gone.
 */
export function keyChangeEvents(change: KeyChange, grants: readonly GrantRecord[], now: number): NewClusterEvent[] {
  const key = change.after ?? change.before!;
  const events = [event('key_changed', key.accountId, now, { changeType: change.type, keyId: key.id, lookups: changeLookups(change) })];
  const clientId = change.before?.clientId ?? null;
  if (change.revokeTokens && (change.type === 'deleted' || change.type === 'regenerated') && clientId !== null)
    events.push(event('client_revoked', key.accountId, now, { changeType: change.type, keyId: key.id, clientId }, MAX_TOKEN_TTL_MS));
  if (change.type === 'deleted' && clientId !== null) {
    events.push(event('grant_revoked', key.accountId, now, { changeType: 'deleted', keyId: key.id, grantId: null, grantVersion: ALL_VERSIONS }, MAX_TOKEN_TTL_MS));
    for (const grant of grants) events.push(event('grant_changed', grant.accountId, now, { changeType: 'deleted', keyId: key.id, grantId: grant.id }));
  }
  return events;
}

/**
 * A grant created, changed or removed. Tokens for another account are valid only while their grant
 * stands as it was: a removal, a switch-off or new roles stop every token issued under it before
 * (switching it on again does not bring them back; new tokens carry the grant's new version).
 */
export function grantChangeEvents(change: { type: 'created' | 'updated' | 'deleted'; before?: GrantRecord; after?: GrantRecord }, now: number): NewClusterEvent[] {
  const grant = (change.after ?? change.before)!;
  const events = [event('grant_changed', grant.accountId, now, { changeType: change.type, keyId: grant.keyId, grantId: grant.id })];
  const { before, after } = change;
  if (before === undefined || !before.active) return events;
  const revoke = (version: number) =>
    events.push(event('grant_revoked', grant.accountId, now, { changeType: change.type, keyId: grant.keyId, grantId: grant.id, grantVersion: version }, MAX_TOKEN_TTL_MS));
  if (change.type === 'deleted' || after === undefined) revoke(ALL_VERSIONS);
  else if (!after.active || JSON.stringify(after.roles) !== JSON.stringify(before.roles)) revoke(after.updatedAt);
  return events;
}

/** One access token revoked (RFC 7009), until it expires. `accountId` is the token's account. */
export function tokenRevokedEvent(token: { accountId: string; keyId: string; clientId: string; jti: string; expiresAt: number }, now: number): NewClusterEvent {
  return event('token_revoked', token.accountId, now, { changeType: 'revoked', keyId: token.keyId, clientId: token.clientId, jti: token.jti }, Math.max(0, token.expiresAt - now));
}

/** A signing key added (`rotated`) or withdrawn: every node reloads the signing keys. */
export function signingKeysChangedEvent(kid: string, changeType: 'rotated' | 'withdrawn', now: number): NewClusterEvent {
  return event('signing_keys_changed', null, now, { changeType, targetId: kid });
}

/** An account's settings changed. */
export function settingsChangedEvent(accountId: string, now: number): NewClusterEvent {
  return event('settings_changed', accountId, now, { changeType: 'updated' });
}

/** An operator joined or left an account, or got another role there: every node forgets cached permissions. */
export function membersChangedEvent(accountId: string, operatorId: string, changeType: 'added' | 'role_changed' | 'removed', now: number): NewClusterEvent {
  return event('members_changed', accountId, now, { changeType, targetId: operatorId });
}

/** A personal or service token revoked: every node forgets cached principals. */
export function apiTokenRevokedEvent(accountId: string | null, tokenId: string, now: number): NewClusterEvent {
  return event('api_token_revoked', accountId, now, { changeType: 'revoked', targetId: tokenId });
}

/**
 * A key reported leaked: every node forgets what it cached of it (it may have been switched off)
 * and, with `revokeTokens`, every access token of its client id stops for as long as one can live
 * (the key should be regenerated, which gives it a new client id).
 */
export function keyLeakedEvents(before: KeyRecord, after: KeyRecord, revokeTokens: boolean, now: number): NewClusterEvent[] {
  const events = [event('key_changed', after.accountId, now, { changeType: 'leaked', keyId: after.id, lookups: changeLookups({ before, after }) })];
  if (revokeTokens && after.clientId !== null)
    events.push(event('client_revoked', after.accountId, now, { changeType: 'leaked', keyId: after.id, clientId: after.clientId }, MAX_TOKEN_TTL_MS));
  return events;
}
