import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../schema.js';

/**
 * A signing key withdrawn after a suspected compromise: out of the JWKS at once, and the tokens it
 * signed refused as revoked.
 */
export const signingKeyWithdrawal = (_dialect: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('signing_keys').addColumn('withdrawn_at', 'bigint').execute();
  },
  async down() {
    throw new Error('Keyport migrations are forward-only.');
  },
});
