import { defaultOAuthConfig, defaultWebhookConfig, type OAuthConfig, type WebhookConfig } from '../config.js';
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
import { NodesService } from './nodes-service.js';
import type { Metrics } from './metrics.js';
import { createTokenServices, type TokenServices } from './oauth-services.js';
import { OperatorsService } from './operators-service.js';
import { Outbox } from './outbox.js';
import { UsageService } from './usage-service.js';
import { CreditsNotices } from './credits-notices.js';
import { ExpiryReminders } from './expiry-reminders.js';
import { LeaksService } from './leaks-service.js';
import type { NoticeSink } from './notices.js';
import { WebhookDispatcher, WebhookSink, WebhooksService } from './webhooks-service.js';

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
  /** key.expiring and key.expired, sent once per key and threshold by whichever node claims them. */
  expiry: ExpiryReminders;
  /** key.credits_low, when a spend takes a key's credits to its account's threshold. */
  creditsNotices: CreditsNotices;
  /** Reports of keys found in public (GitHub secret scanning). */
  leaks: LeaksService;
  /** This node's heartbeat, and the cluster's nodes (the System page). */
  nodes: NodesService;
  /** The node's Prometheus metrics, when switched on (KEYPORT_METRICS_PORT / KEYPORT_METRICS_TOKEN). */
  metrics: Metrics | null;
  /** Webhook endpoints and their delivery log. */
  webhooks: WebhooksService;
  /** Sends queued webhook deliveries in the background (start/stop with the node). */
  webhookDispatcher: WebhookDispatcher;
}

export function createServices({
  store,
  catalog,
  clock,
  keyring,
  oauth,
  notices,
  version = '0.0.0',
  webhooks,
}: {
  store: Store;
  catalog: Catalog;
  clock: Clock;
  keyring: Keyring;
  oauth?: OAuthConfig;
  /** Where the notices of changes go (the account's webhooks); by default they are discarded. */
  notices?: NoticeSink;
  /** The version of Keyport this node runs, for its heartbeat. */
  version?: string;
  /** Where and how webhook deliveries may go. */
  webhooks?: WebhookConfig;
}): Services {
  const config = oauth ?? defaultOAuthConfig();
  const sync = new ClusterSync(store, clock, config.syncIntervalMs, config.maxStalenessMs);
  const audit = new AuditService(store, clock);
  const webhookConfig = webhooks ?? defaultWebhookConfig();
  const webhookDispatcher = new WebhookDispatcher(store, clock, keyring, webhookConfig);
  // Notices go to the account's webhooks (a test may collect them instead).
  const outbox = new Outbox(store, audit, sync, notices ?? new WebhookSink(clock, webhookDispatcher));
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
  const tokens = createTokenServices({ store, catalog, clock, keyring, auth, grants, sync, outbox, usageAnalytics: usage, attempts, config });
  const creditsNotices = new CreditsNotices(store, catalog, clock, outbox);
  // Read at call time: the node sets its error reporting after wiring.
  tokens.credits.onSpent = creditsNotices.listener((err) => tokens.onBackgroundError(err));
  sync.subscribe((event) => {
    if (event.kind === 'settings_changed') creditsNotices.forget(event.accountId);
  });
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
    tokens,
    expiry: new ExpiryReminders(store, catalog, clock, outbox),
    creditsNotices,
    leaks: new LeaksService(store, catalog, clock, outbox),
    nodes: new NodesService(store, clock, sync, version),
    metrics: null,
    webhooks: new WebhooksService(store, clock, outbox, keyring, webhookConfig, webhookDispatcher),
    webhookDispatcher,
  };
}
