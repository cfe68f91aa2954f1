import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../schema.js';

/** Byte-order collation, so `ORDER BY name_key` is the same on SQLite (BINARY) and PostgreSQL ("C"). */
export const byteOrder = (dialect: Dialect) => (dialect === 'postgres' ? sql`collate "C"` : sql``);

export const initial = (dialect: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('accounts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('eligible', 'integer', (c) => c.notNull())
      .addColumn('access_token_ttl', 'integer', (c) => c.notNull())
      .addColumn('key_lifetime', 'integer')
      .addColumn('key_limit_per_environment', 'integer', (c) => c.notNull())
      .addColumn('secret_reveal', 'text', (c) => c.notNull())
      .addColumn('default_active_client_secret', 'integer', (c) => c.notNull())
      .addColumn('default_active_token', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('name_key', 'text', (c) => c.notNull().modifyEnd(byteOrder(dialect)))
      .addColumn('environment', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('credential_type', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.unique())
      .addColumn('secret_hash', 'text', (c) => c.unique())
      .addColumn('previous_secret_hash', 'text')
      .addColumn('previous_secret_expires_at', 'bigint')
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('roles', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.modifyEnd(byteOrder(dialect)))
      .addColumn('active', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .execute();
    // One index per sortable column, led by account and environment: a filtered, sorted page of a
    // large account reads the index in order and stops after `limit` rows.
    for (const column of ['created_at', 'updated_at', 'name_key', 'active']) {
      await db.schema
        .createIndex(`keys_account_env_${column}`)
        .on('keys')
        .columns(['account_id', 'environment', column, 'id'])
        .execute();
    }
    await db.schema.createIndex('keys_account_created_at').on('keys').columns(['account_id', 'created_at', 'id']).execute();

    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('operator_id', 'text')
      .addColumn('account_id', 'text', (c) => c.references('accounts.id').onDelete('cascade'))
      .addColumn('expires_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addColumn('last_used_at', 'bigint')
      .execute();
  },
  async down() {
    throw new Error('Keyport migrations are forward-only.');
  },
});
