import { defaultOAuthConfig, type OAuthConfig } from '../config.js';
import type { Catalog } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import type { Keyring } from '../domain/envelope.js';
import type { Store } from '../storage/repositories.js';
import { AccountsService } from './accounts-service.js';
import { LocalAttemptCounter, RedisAttemptCounter, type AttemptCounter } from './attempts.js';
import { AuditService } from './audit-service.js';
import { AuthService } from './auth-service.js';
import { ClusterSync } from './cluster-sync.js';
import { GrantsService } from './grants-service.js';
import { KeysService } from './keys-service.js';
import { createTokenServices, type TokenServices } from './oauth-services.js';
import { OperatorsService } from './operators-service.js';
import { Outbox } from './outbox.js';
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
  /** Where every change leaves its audit entry and its cluster events, in the change's transaction. */
  outbox: Outbox;
  /** Usage analytics: counts per key and outcome, hourly and daily. */
  usage: UsageService;
  /** Access tokens and verification: the OAuth endpoints, the hot path, their background tasks. */
  tokens: TokenServices;
}

export function createServices({ store, catalog, clock, keyring, oauth }: { store: Store; catalog: Catalog; clock: Clock; keyring: Keyring; oauth?: OAuthConfig }): Services {
  const config = oauth ?? defaultOAuthConfig();
  const sync = new ClusterSync(store, clock, config.syncIntervalMs, config.maxStalenessMs);
  const audit = new AuditService(store, clock);
  const outbox = new Outbox(store, audit, sync);
  const auth = new AuthService(store, clock);
  const grants = new GrantsService(store, catalog, clock, outbox);
  // Cached permissions are forgotten on every node when a membership or a management token changes anywhere.
  sync.subscribe((event) => {
    if (event.kind === 'members_changed' || event.kind === 'api_token_revoked') auth.invalidate();
  });
  const usage = new UsageService(store, clock);
  // Guesses at secrets (sign-in, verify-secret, OAuth clients), counted in Redis when there is one.
  const now = () => clock.now();
  const attempts: AttemptCounter = config.redisUrl ? new RedisAttemptCounter(config.redisUrl, config.redisTimeoutMs, now) : new LocalAttemptCounter(now);
  return {
    audit,
    grants,
    operators: new OperatorsService(store, clock, outbox, auth, { attempts, hashConcurrency: config.passwordHashConcurrency, hashQueue: config.passwordHashQueue }),
    catalog,
    keyring,
    clock,
    store,
    accounts: new AccountsService(store, catalog, clock, outbox),
    keys: new KeysService(store, catalog, clock, outbox, keyring, attempts),
    auth,
    outbox,
    usage,
    tokens: createTokenServices({ store, catalog, clock, keyring, auth, grants, sync, outbox, usageAnalytics: usage, attempts, config }),
  };
}
