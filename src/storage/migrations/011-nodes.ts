import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../schema.js';

/**
 * Node heartbeats: each Keyport node writes its row every few seconds (version, when it started,
 * how far behind the cluster event log it is, its last error), for the platform owner's System page.
 */
export const nodes = (_dialect: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('nodes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
      .addColumn('sync_lag_ms', 'bigint')
      .addColumn('last_error', 'text')
      .addColumn('last_error_at', 'bigint')
      .execute();
    await db.schema.createIndex('nodes_last_seen').on('nodes').column('last_seen_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('nodes').execute();
  },
});
