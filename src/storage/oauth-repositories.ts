import type { Kysely, Selectable, Transaction } from 'kysely';
import type { ClusterEventsTable, Database, SigningKeysTable } from './schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** A JWT signing key as stored: the public JWK in clear, the private key as an encryption envelope. */
export type SigningKeyRecord = Selectable<SigningKeysTable>;

const toSigningKey = (row: Selectable<SigningKeysTable>): SigningKeyRecord => ({ ...row });

export class SigningKeysRepository {
  constructor(private readonly db: Executor) {}

  /** Every signing key, newest generation first. */
  async list(): Promise<SigningKeyRecord[]> {
    return (await this.db.selectFrom('signingKeys').selectAll().orderBy('generation', 'desc').execute()).map(toSigningKey);
  }

  /** Inserts a key; false when its generation is taken (another node rotated at the same time). */
  async insertGeneration(key: SigningKeyRecord): Promise<boolean> {
    const result = await this.db
      .insertInto('signingKeys')
      .values(key)
      .onConflict((oc) => oc.column('generation').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** Marks a key withdrawn (once: a second call keeps the first time); false when it already was, or is not there. */
  async withdraw(id: string, at: number): Promise<boolean> {
    const result = await this.db.updateTable('signingKeys').set({ withdrawnAt: at }).where('id', '=', id).where('withdrawnAt', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Replaces the stored (encrypted) private key of one signing key: used when re-encrypting. */
  async setPrivateKey(id: string, privateKey: string): Promise<void> {
    await this.db.updateTable('signingKeys').set({ privateKey }).where('id', '=', id).execute();
  }

  /** Removes keys that no token can still need. */
  async deleteMany(ids: readonly string[]): Promise<void> {
    if (ids.length) await this.db.deleteFrom('signingKeys').where('id', 'in', ids).execute();
  }
}

export type ClusterEventKind =
  | 'key_changed'
  | 'token_revoked'
  | 'client_revoked'
  | 'grant_revoked'
  | 'grant_changed'
  | 'signing_keys_changed'
  | 'settings_changed'
  | 'members_changed'
  | 'api_token_revoked';

/** One entry of the cluster event log. */
export interface ClusterEvent {
  seq: number;
  kind: ClusterEventKind;
  /** The account the change belongs to; null for signing keys (and the platform's own tokens). */
  accountId: string | null;
  /** What happened to the thing: `created`, `updated`, `deleted`, `secret_reset`, `regenerated`, `rotated`, `withdrawn`, ... */
  changeType: string | null;
  /** The id of what changed when it is not an API key: an operator, a management token, a signing key. */
  targetId: string | null;
  keyId: string | null;
  clientId: string | null;
  jti: string | null;
  /** Cache lookups (secret hashes, client ids) the event invalidates. */
  lookups: string[];
  /** grant_revoked, grant_changed: the grant (grant_revoked: null for every grant of `keyId`, a deleted key). */
  grantId: string | null;
  /** grant_revoked: tokens issued while the grant's version (its updatedAt) was below this stop. */
  grantVersion: number | null;
  expiresAt: number;
  createdAt: number;
}

export type NewClusterEvent = Omit<ClusterEvent, 'seq' | 'grantId' | 'grantVersion' | 'changeType' | 'targetId'> & {
  grantId?: string | null;
  grantVersion?: number | null;
  changeType?: string | null;
  targetId?: string | null;
};

const toEvent = (row: Selectable<ClusterEventsTable>): ClusterEvent => ({
  seq: Number(row.seq),
  kind: row.kind as ClusterEventKind,
  accountId: row.accountId,
  changeType: row.changeType,
  targetId: row.targetId,
  keyId: row.keyId,
  clientId: row.clientId,
  jti: row.jti,
  lookups: row.lookups === null ? [] : (JSON.parse(row.lookups) as string[]),
  grantId: row.grantId,
  grantVersion: row.grantVersion === null ? null : Number(row.grantVersion),
  expiresAt: row.expiresAt,
  createdAt: row.createdAt,
});

const fromEvent = (e: NewClusterEvent) => ({
  kind: e.kind,
  accountId: e.accountId,
  changeType: e.changeType ?? null,
  targetId: e.targetId ?? null,
  keyId: e.keyId,
  clientId: e.clientId,
  jti: e.jti,
  lookups: e.lookups.length ? JSON.stringify(e.lookups) : null,
  grantId: e.grantId ?? null,
  grantVersion: e.grantVersion ?? null,
  expiresAt: e.expiresAt,
  createdAt: e.createdAt,
});

/**
 * The append-only log through which nodes sharing a store learn what changed elsewhere. Each node
 * polls it by sequence number; entries are purged once they matter to no one.
 */
export class ClusterEventsRepository {
  constructor(private readonly db: Executor) {}

  /** Appends events (as the last writes of a change's transaction) and returns them with their sequence numbers. */
  async append(events: readonly NewClusterEvent[]): Promise<ClusterEvent[]> {
    if (events.length === 0) return [];
    const rows = await this.db.insertInto('clusterEvents').values(events.map(fromEvent)).returningAll().execute();
    return rows.map(toEvent);
  }

  /** Events after `seq`, plus the given sequence numbers (gaps that may still fill), oldest first. */
  async since(seq: number, gaps: readonly number[], limit: number): Promise<ClusterEvent[]> {
    let query = this.db.selectFrom('clusterEvents').selectAll();
    query = gaps.length
      ? query.where((eb) => eb.or([eb('seq', '>', seq), eb('seq', 'in', gaps)]))
      : query.where('seq', '>', seq);
    return (await query.orderBy('seq').limit(limit).execute()).map(toEvent);
  }

  /** The highest sequence number so far (0 for an empty log). */
  async lastSeq(): Promise<number> {
    const row = await this.db
      .selectFrom('clusterEvents')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirst();
    return Number(row?.seq ?? 0);
  }

  /** Revocations still in force at `now`. */
  async activeRevocations(now: number): Promise<ClusterEvent[]> {
    return (
      await this.db
        .selectFrom('clusterEvents')
        .selectAll()
        .where('kind', 'in', ['token_revoked', 'client_revoked', 'grant_revoked'])
        .where('expiresAt', '>', now)
        .orderBy('seq')
        .execute()
    ).map(toEvent);
  }

  /** Deletes events that expired before `before`. */
  async purge(before: number): Promise<void> {
    await this.db.deleteFrom('clusterEvents').where('expiresAt', '<', before).execute();
  }
}
