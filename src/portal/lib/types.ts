/** The shapes of the REST API's answers, as the portal reads them (see the OpenAPI document at /docs). */

export type Environment = 'sandbox' | 'production';
export const ENVIRONMENTS: readonly Environment[] = ['sandbox', 'production'];

export type Kind = 'admin' | 'storefront' | 'custom';
export const KINDS: readonly Kind[] = ['admin', 'storefront', 'custom'];

export type CredentialType = 'client_secret' | 'token';

export type AccessLevel = 'viewer' | 'editor' | 'owner';

export type Permission =
  | 'keys.verify'
  | 'keys.view'
  | 'keys.edit'
  | 'keys.renew'
  | 'keys.reveal'
  | 'settings.edit'
  | 'operators.manage';

export interface Role {
  definition: string;
  level: AccessLevel;
}

export interface Key {
  id: string;
  accountId: string;
  name: string;
  environment: Environment;
  kind: Kind;
  credentialType: CredentialType;
  clientId: string | null;
  scopes: string[];
  roles: Role[];
  grantedScopes: string[];
  channel: string | null;
  active: boolean;
  hasSecret: boolean;
  expiresAt: string | null;
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
  createdBy: string;
}

export interface IssuedKey {
  key: Key;
  secret: string | null;
}

export interface KeyPage {
  items: Key[];
  nextCursor: string | null;
}

export interface Settings {
  accessTokenTtl: number;
  keyLifetime: number | null;
  keyLimitPerEnvironment: number;
  secretReveal: 'never' | 'permitted';
  defaultActive: Record<CredentialType, boolean>;
}

export interface Account {
  id: string;
  name: string;
  eligible: boolean;
  settings: Settings;
  createdAt: string;
  updatedAt: string;
}

export interface MeAccount {
  id: string;
  name: string;
  eligible: boolean;
  permissions: Permission[];
}

export interface Me {
  kind: 'platform' | 'operator' | 'service';
  id: string;
  isPlatformOwner: boolean;
  email?: string;
  name?: string;
  accounts: MeAccount[];
}

export interface Catalog {
  services: { id: string; name: string; scopes: { id: string; description: string }[] }[];
  storefrontScopes: string[];
  roleDefinitions: { id: string; name: string; levels: { level: AccessLevel; scopes: string[] }[] }[];
  levels: AccessLevel[];
}

export interface KeyCounts {
  limit: number;
  counts: Record<Environment, number>;
}

export interface QuickstartSample {
  language: 'curl' | 'javascript' | 'python' | 'gateway';
  title: string;
  code: string;
}

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

export interface ExternalKey {
  grantId: string;
  key: Partial<Key> & { id: string; accountId: string; name: string; environment: Environment };
  roles: Role[];
  active: boolean;
}
