import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../schema.js';

/**
 * Indexes for the two sort columns the portal's key table added: channel and lastUsedAt. Both may
 * be NULL, and NULL sorts below every value (first ascending, last descending) on both stores.
 * SQLite indexes already order NULL first; PostgreSQL is told so, so that the same index serves
 * `ASC NULLS FIRST` read forwards and `DESC NULLS LAST` read backwards.
 */
export const portal = (dialect: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    const nullsFirst = dialect === 'postgres' ? sql` nulls first` : sql``;
    for (const column of ['channel', 'last_used_at']) {
      await sql`create index ${sql.id(`keys_account_env_${column}`)} on keys (account_id, environment, ${sql.id(column)}${nullsFirst}, id)`.execute(db);
    }
  },
  async down() {
    throw new Error('Keyport migrations are forward-only.');
  },
});
