import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../schema.js';

/**
 * What a `grant_revoked` cluster event stops: the tokens for another account issued under a grant
 * (`grant_id`) while its version was below `grant_version`, after the grant was switched off,
 * changed or removed.
 */
export const grantRevocations = (_dialect: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('cluster_events').addColumn('grant_id', 'text').execute();
    await db.schema.alterTable('cluster_events').addColumn('grant_version', 'bigint').execute();
  },
  async down() {
    throw new Error('Keyport migrations are forward-only.');
  },
});
