import { defaultOAuthConfig, type OAuthConfig } from '../config.js';
import type { Catalog } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import type { Keyring } from '../domain/envelope.js';
import type { Store } from '../storage/repositories.js';
import { AccountsService } from './accounts-service.js';
import { AuthService } from './auth-service.js';
import { KeysService } from './keys-service.js';
import { createTokenServices, type TokenServices } from './oauth-services.js';

/** Every service of a Keyport node, wired over one store. */
export interface Services {
  catalog: Catalog;
  keyring: Keyring;
  clock: Clock;
  store: Store;
  accounts: AccountsService;
  keys: KeysService;
  auth: AuthService;
  /** Access tokens and verification: the OAuth endpoints, the hot path, their background tasks. */
  tokens: TokenServices;
}

export function createServices({ store, catalog, clock, keyring, oauth }: { store: Store; catalog: Catalog; clock: Clock; keyring: Keyring; oauth?: OAuthConfig }): Services {
  const keys = new KeysService(store, catalog, clock);
  const auth = new AuthService(store, clock);
  return {
    catalog,
    keyring,
    clock,
    store,
    accounts: new AccountsService(store, catalog, clock),
    keys,
    auth,
    tokens: createTokenServices({ store, catalog, clock, keyring, keys, auth, config: oauth ?? defaultOAuthConfig() }),
  };
}
