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

  /** Marks a key withdrawn (once: a second call keeps the first time). */
  async withdraw(id: string, at: number): Promise<void> {
    await this.db.updateTable('signingKeys').set({ withdrawnAt: at }).where('id', '=', id).where('withdrawnAt', 'is', null).execute();
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

export type ClusterEventKind = 'key_changed' | 'token_revoked' | 'client_revoked' | 'grant_revoked' | 'signing_keys_changed';

/** One entry of the cluster event log. */
export interface ClusterEvent {
  seq: number;
  kind: ClusterEventKind;
  keyId: string | null;
  clientId: string | null;
  jti: string | null;
  /** Cache lookups (secret hashes, client ids) the event invalidates. */
  lookups: string[];
  /** grant_revoked: the grant whose tokens stop; null for every grant of `keyId` (a deleted key). */
  grantId: string | null;
  /** grant_revoked: tokens issued while the grant's version (its updatedAt) was below this stop. */
  grantVersion: number | null;
  expiresAt: number;
  createdAt: number;
}

export type NewClusterEvent = Omit<ClusterEvent, 'seq' | 'grantId' | 'grantVersion'> & { grantId?: string | null; grantVersion?: number | null };

const toEvent = (row: Selectable<ClusterEventsTable>): ClusterEvent => ({
  seq: Number(row.seq),
  kind: row.kind as ClusterEventKind,
  keyId: row.keyId,
  clientId: row.clientId,
  jti: row.jti,
  lookups: row.lookups === null ? [] : (JSON.parse(row.lookups) as string[]),
  grantId: row.grantId,
  grantVersion: row.grantVersion === null ? null : Number(row.grantVersion),
  expiresAt: row.expiresAt,
  createdAt: row.createdAt,
});

/**
 * The append-only log through which nodes sharing a store learn what changed elsewhere. Each node
 * polls it by sequence number; entries are purged once they matter to no one.
 */
export class ClusterEventsRepository {
  constructor(private readonly db: Executor) {}

  async append(events: readonly NewClusterEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.db
      .insertInto('clusterEvents')
      .values(events.map((e) => ({ ...e, grantId: e.grantId ?? null, grantVersion: e.grantVersion ?? null, lookups: e.lookups.length ? JSON.stringify(e.lookups) : null })))
      .execute();
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
