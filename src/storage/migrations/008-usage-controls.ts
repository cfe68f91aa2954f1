import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../schema.js';

/**
 * Usage controls on keys (IP allowlist, credits with refill, metadata, external owner id) and the
 * usage counts: hourly buckets (kept 90 days) and daily ones rolled up from them (kept 2 years).
 */
export const usageControls = (dialect: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    for (const [column, type] of [
      ['ip_allowlist', 'text'],
      ['credits_remaining', 'bigint'],
      ['credits_refill_amount', 'bigint'],
      ['credits_refill_interval', 'text'],
      ['credits_refill_day', 'integer'],
      ['credits_refilled_at', 'bigint'],
      ['meta', 'text'],
      ['external_id', 'text'],
    ] as const)
      await db.schema.alterTable('keys').addColumn(column, type).execute();
    await db.schema.createIndex('keys_account_external_id').on('keys').columns(['account_id', 'external_id']).execute();
    // Sorting by credits left: unlimited keys (NULL) sort as the most credits, which is
    // PostgreSQL's default for an ascending index; SQLite reads its index and sorts NULLs itself.
    await sql`create index keys_account_env_credits on keys (account_id, environment, credits_remaining${dialect === 'postgres' ? sql` nulls last` : sql``}, id)`.execute(db);

    for (const table of ['usage_hourly', 'usage_daily']) {
      await db.schema
        .createTable(table)
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('bucket', 'bigint', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint(`${table}_pk`, ['key_id', 'bucket', 'outcome'])
        .execute();
      await db.schema.createIndex(`${table}_account_bucket`).on(table).columns(['account_id', 'bucket']).execute();
    }
  },
  async down() {
    throw new Error('Keyport migrations are forward-only.');
  },
});
