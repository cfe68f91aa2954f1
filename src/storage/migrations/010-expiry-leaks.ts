import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../schema.js';

/**
 * Expiry reminders, leak reports and credits running low.
 * - accounts: `expiry_notice_days` (JSON list of days before expiry a reminder goes out),
 *   `leak_response` (what a leaked key gets: `revoke` or `notify`) and `credits_low_threshold`
 *   (credits left at which key.credits_low is sent).
 * - keys: when and where a leak of the key was reported.
 * - key_notices: one row per notice sent about a key's state (a reminder per threshold, its
 *   expiry) and per scheduled pass. The primary key is the claim: the node whose insert lands
 *   sends the notice, in the same transaction; every other node's insert finds the row and sends
 *   nothing. `marker` ties the row to the state it is about (the expiry instant), so a
 *   key whose expiry is moved gets its reminders again.
 */
export const expiryLeaks = (_dialect: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('accounts').addColumn('expiry_notice_days', 'text', (c) => c.notNull().defaultTo('[7,1]')).execute();
    await db.schema.alterTable('accounts').addColumn('leak_response', 'text', (c) => c.notNull().defaultTo('revoke')).execute();
    await db.schema.alterTable('accounts').addColumn('credits_low_threshold', 'bigint', (c) => c.notNull().defaultTo(10)).execute();
    for (const [column, type] of [
      ['leaked_at', 'bigint'],
      ['leak_source', 'text'],
      ['leak_url', 'text'],
    ] as const)
      await db.schema.alterTable('keys').addColumn(column, type).execute();
    await db.schema.createIndex('keys_account_expires_at').on('keys').columns(['account_id', 'expires_at']).execute();
    await db.schema
      .createTable('key_notices')
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('notice', 'text', (c) => c.notNull())
      .addColumn('marker', 'bigint', (c) => c.notNull())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('sent_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('key_notices_pk', ['key_id', 'notice', 'marker'])
      .execute();
    await db.schema.createIndex('key_notices_sent_at').on('key_notices').columns(['sent_at']).execute();
  },
  async down() {
    throw new Error('Keyport migrations are forward-only.');
  },
});
