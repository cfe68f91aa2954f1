import type { Kysely, Transaction } from 'kysely';
import type { Database, NodesTable } from './schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** A node's heartbeat as stored: see migration 011-nodes. */
export type NodeRecord = NodesTable;

/** Node heartbeats, for the System page. */
export class NodesRepository {
  constructor(private readonly db: Executor) {}

  /** Writes this node's row (made on its first heartbeat). */
  async upsert(node: NodeRecord): Promise<void> {
    const { id, ...rest } = node;
    await this.db
      .insertInto('nodes')
      .values(node)
      .onConflict((oc) => oc.column('id').doUpdateSet(rest))
      .execute();
  }

  /** Nodes seen since `since` (epoch ms), most recently started first. */
  async seenSince(since: number): Promise<NodeRecord[]> {
    const rows = await this.db.selectFrom('nodes').selectAll().where('lastSeenAt', '>=', since).orderBy('startedAt', 'desc').orderBy('id').execute();
    return rows.map((r) => ({
      ...r,
      startedAt: Number(r.startedAt),
      lastSeenAt: Number(r.lastSeenAt),
      syncLagMs: r.syncLagMs === null ? null : Number(r.syncLagMs),
      lastErrorAt: r.lastErrorAt === null ? null : Number(r.lastErrorAt),
    }));
  }

  /** Forgets nodes not seen since `before` (epoch ms). */
  async purge(before: number): Promise<void> {
    await this.db.deleteFrom('nodes').where('lastSeenAt', '<', before).execute();
  }
}
