import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../schema.js';

/**
 * The cluster event log becomes the outbox of every change: each event names the account it
 * belongs to (null for signing keys, which belong to no account), what kind of change it was
 * (`created`, `deleted`, ...) and, for things that are not API keys, their id (a grant, an
 * operator, a management token, a signing key), so that readers of the log (other nodes, event
 * streams, webhooks) can tell what changed without asking the store again.
 */
export const eventLog = (_dialect: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('cluster_events').addColumn('account_id', 'text').execute();
    await db.schema.alterTable('cluster_events').addColumn('change_type', 'text').execute();
    await db.schema.alterTable('cluster_events').addColumn('target_id', 'text').execute();
  },
  async down() {
    throw new Error('Keyport migrations are forward-only.');
  },
});
