import type { ColumnType, Generated } from 'kysely';

/**
 * The Kysely view of the tables, in camelCase (CamelCasePlugin maps to snake_case columns).
 * Timestamps are milliseconds since the epoch (BIGINT); booleans are 0/1 integers so one migration
 * set serves SQLite and PostgreSQL; lists are JSON text.
 */
export interface Database {
  accounts: AccountsTable;
  keys: KeysTable;
  apiTokens: ApiTokensTable;
  signingKeys: SigningKeysTable;
  clusterEvents: ClusterEventsTable;
  operators: OperatorsTable;
  customRoles: CustomRolesTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  grants: GrantsTable;
  auditLog: AuditLogTable;
  usageHourly: UsageTable;
  usageDaily: UsageTable;
  webhookEndpoints: WebhookEndpointsTable;
  webhookDeliveries: WebhookDeliveriesTable;
  keyNotices: KeyNoticesTable;
  nodes: NodesTable;
}

export interface NodesTable {
  id: string;
  host: string;
  version: string;
  startedAt: number;
  lastSeenAt: number;
  syncLagMs: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
}

export interface AccountsTable {
  id: string;
  name: string;
  eligible: number;
  accessTokenTtl: number;
  keyLifetime: number | null;
  keyLimitPerEnvironment: number;
  secretReveal: string;
  defaultActiveClientSecret: number;
  defaultActiveToken: number;
  /** JSON list of days before expiry a reminder goes out. */
  expiryNoticeDays: string;
  leakResponse: string;
  creditsLowThreshold: number;
  createdAt: number;
  updatedAt: number;
}

export interface KeysTable {
  id: string;
  accountId: string;
  name: string;
  /** Lower-cased name: sorting and search are case-insensitive and the same on both stores. */
  nameKey: string;
  environment: string;
  kind: string;
  credentialType: string;
  clientId: string | null;
  secretHash: string | null;
  previousSecretHash: string | null;
  previousSecretExpiresAt: number | null;
  scopes: string;
  roles: string;
  channel: string | null;
  active: number;
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
  createdBy: string;
  /** The secret, envelope-encrypted, kept only while the account's secretReveal is "permitted". */
  secretEncrypted: string | null;
  /** Requests allowed per window (null: no limit). */
  rateLimit: number | null;
  /** The rate limit window, in seconds. */
  rateLimitWindow: number | null;
  /** JSON list of canonical addresses and CIDR ranges; null: anywhere. */
  ipAllowlist: string | null;
  /** Credits left (null: unlimited). Only traffic's atomic spend and a top-up write it. */
  creditsRemaining: number | null;
  /** The refill: amount (null: none), interval ('day' | 'month') and day of the month. */
  creditsRefillAmount: number | null;
  creditsRefillInterval: string | null;
  creditsRefillDay: number | null;
  /** The start of the refill period the count belongs to (epoch ms). */
  creditsRefilledAt: number | null;
  /** JSON object returned on verification. */
  meta: string | null;
  externalId: string | null;
  /** When a leak of the key was first reported (null: never), where it was found and by what. */
  leakedAt: number | null;
  leakSource: string | null;
  leakUrl: string | null;
}

/** A notice sent about a key's state; the primary key (key, notice, marker) is the one-node claim. */
export interface KeyNoticesTable {
  keyId: string;
  /** `key.expiring:<days>`, `key.expired`; `expiry.pass` (key id '') claims a scheduled pass. */
  notice: string;
  /** The state it is about: the expiry instant (for a pass, the number of its interval). */
  marker: number;
  accountId: string;
  sentAt: number;
}

/** Counts of verifications and token requests of one key in one bucket (an hour, or a day) with one outcome. */
export interface UsageTable {
  keyId: string;
  /** The bucket's start, epoch ms. */
  bucket: number;
  outcome: string;
  accountId: string;
  environment: string;
  count: number;
}

export interface ApiTokensTable {
  id: string;
  tokenHash: string;
  kind: string;
  name: string;
  operatorId: string | null;
  accountId: string | null;
  expiresAt: number | null;
  createdAt: number;
  revokedAt: number | null;
  lastUsedAt: ColumnType<number | null, number | null | undefined, number | null>;
}

/** A JWT signing key pair; the private half is envelope-encrypted. */
export interface SigningKeysTable {
  id: string;
  generation: number;
  alg: string;
  publicJwk: string;
  /** PKCS#8 PEM of the private key, envelope-encrypted under the key-encryption key. */
  privateKey: string;
  createdAt: number;
  /** When nodes start signing with it; until then it is published only, so caches pick it up. */
  activatesAt: number;
  /** When it was withdrawn (suspected compromise): unpublished, its tokens refused. */
  withdrawnAt: number | null;
}

/**
 * The outbox and event log: every change, written in the transaction that makes it. Nodes read it
 * to stay in step (revocations, key changes, signing keys); it says what changed, and in which account.
 */
export interface ClusterEventsTable {
  seq: Generated<number>;
  kind: string;
  /** The account the change belongs to; null for signing keys. */
  accountId: string | null;
  /** What happened: `created`, `updated`, `deleted`, `secret_reset`, `regenerated`, `rotated`, ... */
  changeType: string | null;
  /** The id of what changed when it is not an API key: an operator, a management token, a signing key. */
  targetId: string | null;
  keyId: string | null;
  clientId: string | null;
  jti: string | null;
  /** JSON list of cache lookups (secret hashes, client ids) the event invalidates. */
  lookups: string | null;
  /** grant_revoked: the grant whose tokens stop (null: every grant of the key). */
  grantId: string | null;
  /** grant_revoked: tokens issued under an older version of the grant (its updatedAt) stop. */
  grantVersion: number | null;
  /** After this the event matters to no one and may be purged. */
  expiresAt: number;
  createdAt: number;
}

export interface OperatorsTable {
  id: string;
  email: string;
  name: string;
  passwordHash: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface CustomRolesTable {
  id: string;
  accountId: string;
  name: string;
  /** JSON list of permissions. */
  permissions: string;
  createdAt: number;
}

export interface MembershipsTable {
  accountId: string;
  operatorId: string;
  /** A built-in role name (owner, editor, viewer) or a custom role id. */
  role: string;
  createdAt: number;
}

export interface SessionsTable {
  id: string;
  tokenHash: string;
  csrfToken: string;
  operatorId: string;
  expiresAt: number;
  createdAt: number;
}

export interface GrantsTable {
  id: string;
  accountId: string;
  keyId: string;
  roles: string;
  active: number;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
}

export interface AuditLogTable {
  id: string;
  accountId: string | null;
  at: number;
  action: string;
  actorKind: string;
  actorId: string;
  actorLabel: string;
  sourceIp: string | null;
  keyId: string | null;
  targetId: string | null;
  before: string | null;
  after: string | null;
}

export type Dialect = 'sqlite' | 'postgres';
export type Seq = Generated<number>;

export interface WebhookEndpointsTable {
  id: string;
  accountId: string;
  url: string;
  description: string | null;
  /** JSON list of the event types the endpoint hears. */
  events: string;
  active: number;
  /** The signing secret (whsec_...), envelope-encrypted. */
  secretEncrypted: string;
  /** The secret before the last rotation, signing alongside until it expires. */
  previousSecretEncrypted: string | null;
  previousSecretExpiresAt: number | null;
  /** When a delivery to it last gave up after retrying for days (null: not failing). */
  failingSince: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface WebhookDeliveriesTable {
  /** The message id, sent as webhook-id: the same on every attempt, so receivers can deduplicate. */
  id: string;
  endpointId: string;
  accountId: string;
  /** The event's id: the same for every endpoint that hears it. */
  eventId: string;
  eventType: string;
  /** The JSON body sent: {type, timestamp, data}. */
  payload: string;
  /** pending | delivered | failed */
  status: string;
  attempts: number;
  nextAttemptAt: number | null;
  /** Retries stop at this time and the delivery fails. */
  giveUpAt: number;
  /** A node is sending it until then. */
  leaseUntil: number | null;
  lastAttemptAt: number | null;
  lastStatusCode: number | null;
  lastDurationMs: number | null;
  lastError: string | null;
  deliveredAt: number | null;
  createdAt: number;
}
