/**
 * The shapes of the REST API's answers, as the portal reads them: the server's own schemas
 * (`src/contract`), and the enums of the domain, so the portal cannot drift from the API.
 */

export type { IssuedKey, Key, KeyCounts, KeyPage, QuickstartSample, Role } from '../../contract/keys';
export type { Account, Me, MeAccount, Settings } from '../../contract/accounts';
export type { Catalog } from '../../contract/catalog';
export type { ExternalKey } from '../../contract/grants';
export type { SystemNode, SystemNodes } from '../../contract/system';
export type { AccessLevel } from '../../domain/catalog';
export type { Permission } from '../../domain/principal';
export { CREDENTIAL_TYPES, ENVIRONMENTS, KINDS, type CredentialType, type Environment, type KeyKind as Kind } from '../../domain/environment';

export interface AuditEntry {
  id: string;
  at: string;
  action: string;
  actor: { kind: string; id: string; label?: string | null };
  sourceIp?: string | null;
  keyId?: string | null;
  before?: unknown;
  after?: unknown;
}

export interface Member {
  operatorId: string;
  email: string;
  name?: string | null;
  role: string;
}

export interface RoleInfo {
  id?: string;
  name: string;
  builtIn?: boolean;
  permissions?: string[];
}

