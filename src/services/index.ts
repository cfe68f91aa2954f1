import { defaultOAuthConfig, type OAuthConfig } from '../config.js';
import type { Catalog } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import type { Keyring } from '../domain/envelope.js';
import type { Store } from '../storage/repositories.js';
import { AccountsService } from './accounts-service.js';
import { AuditService } from './audit-service.js';
import { AuthService } from './auth-service.js';
import { GrantsService } from './grants-service.js';
import { toKeyView } from './key-view.js';
import { OperatorsService } from './operators-service.js';
import { KeysService } from './keys-service.js';
import { createTokenServices, type TokenServices } from './oauth-services.js';
import { UsageService } from './usage-service.js';

/** Every service of a Keyport node, wired over one store. */
export interface Services {
  catalog: Catalog;
  keyring: Keyring;
  clock: Clock;
  store: Store;
  accounts: AccountsService;
  keys: KeysService;
  auth: AuthService;
  audit: AuditService;
  operators: OperatorsService;
  grants: GrantsService;
  /** Usage analytics: counts per key and outcome, hourly and daily. */
  usage: UsageService;
  /** Access tokens and verification: the OAuth endpoints, the hot path, their background tasks. */
  tokens: TokenServices;
}

export function createServices({ store, catalog, clock, keyring, oauth }: { store: Store; catalog: Catalog; clock: Clock; keyring: Keyring; oauth?: OAuthConfig }): Services {
  const keys = new KeysService(store, catalog, clock, keyring);
  const auth = new AuthService(store, clock);
  const audit = new AuditService(store, clock);
  const grants = new GrantsService(store, catalog, clock, audit);
  recordKeyEvents(keys, audit, catalog, clock);
  const usage = new UsageService(store, clock);
  return {
    usage,
    audit,
    grants,
    operators: new OperatorsService(store, clock, audit, auth),
    catalog,
    keyring,
    clock,
    store,
    accounts: new AccountsService(store, catalog, clock, audit),
    keys,
    auth,
    tokens: createTokenServices({ store, catalog, clock, keyring, keys, auth, grants, usageAnalytics: usage, config: oauth ?? defaultOAuthConfig() }),
  };
}

/** Every key change and every verify-secret check leaves an audit entry (hashes never do). */
function recordKeyEvents(keys: KeysService, audit: AuditService, catalog: Catalog, clock: Clock): void {
  const view = (k: Parameters<typeof toKeyView>[1] | undefined) => (k ? toKeyView(catalog, k, clock.now()) : null);
  keys.onChange((change) =>
    audit.record(change.actor, {
      accountId: (change.after ?? change.before)!.accountId,
      action: `key.${change.type}`,
      keyId: (change.after ?? change.before)!.id,
      before: view(change.before),
      after: change.revokeTokens ? { ...view(change.after), revokeTokens: true } : view(change.after),
    }),
  );
  keys.onSecretCheck(({ key, matches, actor }) =>
    audit.record(actor, {
      accountId: key.accountId,
      action: matches === null ? 'key.verify_secret_locked' : 'key.verify_secret',
      keyId: key.id,
      after: matches === null ? null : { matches },
    }),
  );
}
