import type { Catalog } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import type { Keyring } from '../domain/envelope.js';
import type { Store } from '../storage/repositories.js';
import { AccountsService } from './accounts-service.js';
import { AuthService } from './auth-service.js';
import { KeysService } from './keys-service.js';

/** Every service of a Keyport node, wired over one store. */
export interface Services {
  catalog: Catalog;
  keyring: Keyring;
  clock: Clock;
  store: Store;
  accounts: AccountsService;
  keys: KeysService;
  auth: AuthService;
}

export function createServices({ store, catalog, clock, keyring }: { store: Store; catalog: Catalog; clock: Clock; keyring: Keyring }): Services {
  return {
    catalog,
    keyring,
    clock,
    store,
    accounts: new AccountsService(store, catalog, clock),
    keys: new KeysService(store, catalog, clock),
    auth: new AuthService(store, clock),
  };
}
