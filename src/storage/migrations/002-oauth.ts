import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../schema.js';

/**
 * Access tokens and verification: per-key rate limits, the previous-secret lookup, signing keys
 * (private halves encrypted) and the cluster event log through which nodes sharing one store learn
 * of revocations, key changes and signing-key rotations.
 */
export const oauth = (dialect: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    // A rate limit is both or neither: `limit` requests per `window` seconds.
    await db.schema.alterTable('keys').addColumn('rate_limit', 'integer').execute();
    await db.schema.alterTable('keys').addColumn('rate_limit_window', 'integer').execute();
    // A secret reset with a grace period keeps the old hash here; verification looks it up too.
    await db.schema.createIndex('keys_previous_secret_hash').on('keys').column('previous_secret_hash').execute();

    await db.schema
      .createTable('signing_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      // Generations are consecutive: two nodes rotating at once collide on this unique column, so
      // exactly one rotation wins.
      .addColumn('generation', 'integer', (c) => c.notNull().unique())
      .addColumn('alg', 'text', (c) => c.notNull())
      .addColumn('public_jwk', 'text', (c) => c.notNull())
      .addColumn('private_key', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('activates_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('cluster_events')
      .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
        dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
      )
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('key_id', 'text')
      .addColumn('client_id', 'text')
      .addColumn('jti', 'text')
      .addColumn('lookups', 'text')
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('cluster_events_expires_at').on('cluster_events').column('expires_at').execute();
  },
  async down() {
    throw new Error('Keyport migrations are forward-only.');
  },
});
