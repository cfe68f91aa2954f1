import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** A notice about a key's state that is sent once: `notice` names it, `marker` the state (the expiry instant; for a scheduled pass, its interval). */
export interface KeyNoticeClaim {
  keyId: string;
  accountId: string;
  notice: string;
  marker: number;
}

/**
 * The notices already sent about keys' states. Inserting a row is the claim to send its notice:
 * the primary key lets exactly one insert land, whichever node makes it, so a notice written in
 * the claim's transaction goes out once however many nodes look.
 */
export class KeyNoticesRepository {
  constructor(private readonly db: Executor) {}

  /** Claims the notice; false when it was claimed before (by this node or another). */
  async claim(claim: KeyNoticeClaim, at: number): Promise<boolean> {
    const result = await this.db
      .insertInto('keyNotices')
      .values({ ...claim, sentAt: at })
      .onConflict((oc) => oc.columns(['keyId', 'notice', 'marker']).doNothing())
      .returning('keyId')
      .executeTakeFirst();
    return result !== undefined;
  }

  /** The notices sent about these keys, as `keyId notice marker` strings. */
  async sentFor(keyIds: readonly string[]): Promise<Set<string>> {
    const sent = new Set<string>();
    for (let i = 0; i < keyIds.length; i += 500) {
      const rows = await this.db.selectFrom('keyNotices').select(['keyId', 'notice', 'marker']).where('keyId', 'in', keyIds.slice(i, i + 500)).execute();
      for (const row of rows) sent.add(noticeKey(row.keyId, row.notice, Number(row.marker)));
    }
    return sent;
  }

  /** Forgets claims older than `before` (their keys expired long ago, or were deleted), or only those of one notice. */
  async purge(before: number, notice?: string): Promise<number> {
    let query = this.db.deleteFrom('keyNotices').where('sentAt', '<', before);
    if (notice !== undefined) query = query.where('notice', '=', notice);
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

export const noticeKey = (keyId: string, notice: string, marker: number): string => `${keyId} ${notice} ${marker}`;
