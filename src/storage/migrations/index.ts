import type { Migration } from 'kysely';
import type { Dialect } from '../schema.js';
import { initial } from './001-initial.js';
import { oauth } from './002-oauth.js';
import { operators } from './003-operators.js';
import { portal } from './004-portal.js';
import { grantRevocations } from './005-grant-revocations.js';
import { signingKeyWithdrawal } from './006-signing-key-withdrawal.js';
import { eventLog } from './007-event-log.js';
import { usageControls } from './008-usage-controls.js';
import { webhooks } from './009-webhooks.js';
import { expiryLeaks } from './010-expiry-leaks.js';
import { nodes } from './011-nodes.js';

/**
 * The one migration set of both stores, applied in name order. A migration gets the dialect only
 * for the few places the two differ (collation of sort columns); everything else is shared.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '001-initial': initial(dialect),
    '002-oauth': oauth(dialect),
    '003-operators': operators(dialect),
    '004-portal': portal(dialect),
    '005-grant-revocations': grantRevocations(dialect),
    '006-signing-key-withdrawal': signingKeyWithdrawal(dialect),
    '007-event-log': eventLog(dialect),
    '008-usage-controls': usageControls(dialect),
    '009-webhooks': webhooks(dialect),
    '010-expiry-leaks': expiryLeaks(dialect),
    '011-nodes': nodes(dialect),
  };
}
