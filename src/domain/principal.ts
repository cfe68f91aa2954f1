/** Management permissions, as PRODUCT.md lists them. */
export const PERMISSIONS = [
  'keys.verify',
  'keys.view',
  'keys.edit',
  'keys.renew',
  'keys.reveal',
  'settings.edit',
  'operators.manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * Who is calling the management API. `platform` is the platform owner (every permission on every
 * account); operators and service tokens are scoped to accounts.
 */
export interface Principal {
  kind: 'platform' | 'operator' | 'service';
  /** The id recorded as `createdBy` and in the audit log: an api token id or an operator id. */
  id: string;
  /** A human label for the audit log: the operator's e-mail, or the token's name. */
  label: string;
  /** The operator behind a session or personal token. */
  operatorId?: string;
  /** The session a portal request came in with (for signing out). */
  sessionId?: string;
  /**
   * When the API token this principal came with expires (null: never); absent for sessions and
   * the platform owner. A token made with this one may not outlive it.
   */
  tokenExpiresAt?: number | null;
  /** The permissions this principal holds on an account; empty when it has none there. */
  permissionsOn(accountId: string): ReadonlySet<Permission>;
  /** May this principal create accounts and see every account? */
  isPlatformOwner: boolean;
  /** The accounts this principal has any permission on; `all` for the platform owner. */
  accounts(): Promise<'all' | readonly string[]> | 'all' | readonly string[];
}

const ALL = new Set<Permission>(PERMISSIONS);

/** The platform owner: every permission on every account. */
export function platformPrincipal(tokenId: string): Principal {
  return { kind: 'platform', id: tokenId, label: 'platform owner', permissionsOn: () => ALL, isPlatformOwner: true, accounts: () => 'all' };
}

/** Who made a change and from where: recorded as createdBy and in the audit log. */
export interface Actor {
  principal: Principal;
  /** The source address of the request. */
  sourceIp: string;
}
