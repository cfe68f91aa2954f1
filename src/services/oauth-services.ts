import type { Catalog } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import type { Keyring } from '../domain/envelope.js';
import type { OAuthConfig } from '../config.js';
import type { AttemptCounter, AttemptRule } from './attempts.js';
import { ClientAuthenticator } from './tokens/client-auth.js';
import { IntrospectionEndpoint } from './tokens/introspection.js';
import { RevocationEndpoint } from './tokens/revocation.js';
import { RevocationList } from './tokens/revocations.js';
import { SigningKeys } from './tokens/signing-keys.js';
import { TokenEndpoint } from './tokens/token.js';
import type { Store } from '../storage/repositories.js';
import type { AuthService } from './auth-service.js';
import { CacheGuard, type ClusterSync } from './cluster-sync.js';
import type { GrantsService } from './grants-service.js';
import type { Outbox } from './outbox.js';
import { LocalRateLimiter, RedisRateLimiter, type RateLimiter } from './rate-limiter.js';
import { UsageRecorder } from './usage-recorder.js';
import { CreditsLedger } from './credits.js';
import { UsageService } from './usage-service.js';
import { VerificationService } from './verification-service.js';

const MAINTENANCE_INTERVAL_MS = 1000;
const USAGE_FLUSH_INTERVAL_MS = 5000;
const PURGE_INTERVAL_MS = 60_000;

/** The OAuth endpoints and what they share: signing keys, revocations, client authentication. */
export interface OAuthServices {
  token: TokenEndpoint;
  introspection: IntrospectionEndpoint;
  revocation: RevocationEndpoint;
  signingKeys: SigningKeys;
  revocations: RevocationList;
  clients: ClientAuthenticator;
  /** Client authentication attempts: per client id from one address, and per source address. */
  attemptRules: { byClient: AttemptRule; byAddress: AttemptRule };
}

/** Access tokens, verification and the background work they need, wired over one store. */
export interface TokenServices {
  oauth: OAuthServices;
  verification: VerificationService;
  usage: UsageRecorder;
  /** Credits spent by verifications and token requests. */
  credits: CreditsLedger;
  rateLimiter: RateLimiter;
  sync: ClusterSync;
  /** Loads signing keys and revocations and starts the background tasks. Can be called again after it failed. */
  start(): Promise<void>;
  /** Stops the background tasks and writes what is pending (lastUsedAt). */
  stop(): Promise<void>;
  /** Told of errors in background tasks. */
  onBackgroundError: (err: unknown) => void;
  /** Told when rate-limit counting falls back to this node (Redis unavailable) and when it is back. */
  onRateLimiterState: (state: { available: boolean; error?: unknown }) => void;
}

export function createTokenServices(deps: {
  store: Store;
  catalog: Catalog;
  clock: Clock;
  keyring: Keyring;
  auth: AuthService;
  grants: GrantsService;
  sync: ClusterSync;
  outbox: Outbox;
  usageAnalytics: UsageService;
  /** Counts guesses at secrets (shared with sign-in and verify-secret); connected and closed here. */
  attempts: AttemptCounter;
  config: OAuthConfig;
}): TokenServices {
  const { store, catalog, clock, keyring, auth, grants, sync, outbox, usageAnalytics, attempts, config } = deps;
  const signingKeys = new SigningKeys(
    store,
    keyring,
    clock,
    { rotationIntervalMs: config.signingKeyRotation * 1000, prepublishMs: config.signingKeyPrepublish * 1000 },
    outbox,
  );
  const revocations = new RevocationList(sync, clock);
  const rateLimiter: RateLimiter = config.redisUrl ? new RedisRateLimiter(config.redisUrl, config.redisTimeoutMs) : new LocalRateLimiter();
  const usage = new UsageRecorder(store, config.usageAnalytics);
  const credits = new CreditsLedger(store);
  const windowMs = config.authFailureWindow * 1000;
  const attemptRules = {
    byClient: { name: 'oauth-client', maxFailures: config.authFailuresPerClient, windowMs },
    byAddress: { name: 'oauth-address', maxFailures: config.authFailuresPerAddress, windowMs },
  };
  // Answers from caches only while this node is up to date with the cluster event log.
  const guard = new CacheGuard(sync, config.stalePolicy);
  const clients = new ClientAuthenticator(store, catalog, clock, attempts, attemptRules, guard);
  const verification = new VerificationService(store, catalog, clock, signingKeys, revocations, rateLimiter, usage, credits, guard, config.unknownKeyReads);

  // Every change anywhere in the cluster reaches this node's caches (written by the Outbox).
  sync.subscribe(async (event) => {
    if (event.kind === 'key_changed') {
      verification.invalidate(event.lookups, event.keyId);
      clients.invalidate(event.lookups);
    } else if (event.kind === 'signing_keys_changed') {
      await signingKeys.load();
    }
  });

  const timers: NodeJS.Timeout[] = [];
  let started = false;
  const services: TokenServices = {
    oauth: {
      token: new TokenEndpoint(clients, signingKeys, store, clock, rateLimiter, usage, credits, config.tokenAudience, grants),
      introspection: new IntrospectionEndpoint(auth, clients, verification),
      revocation: new RevocationEndpoint(auth, clients, verification, outbox, clock),
      signingKeys,
      revocations,
      clients,
      attemptRules,
    },
    verification,
    usage,
    credits,
    rateLimiter,
    sync,
    onBackgroundError: () => {},
    onRateLimiterState: () => {},
    async start() {
      if (started) return;
      sync.onError = (err) => services.onBackgroundError(err);
      if (rateLimiter instanceof RedisRateLimiter) rateLimiter.onStateChange = (state) => services.onRateLimiterState(state);
      await signingKeys.ensure();
      await sync.start();
      // In the background, after the sync has its place in the event log: a key created from now
      // on is in a page read below or added by its event (until then, misses read the store).
      verification.existingKeys.onError = (err) => services.onBackgroundError(err);
      void verification.existingKeys.start();
      await rateLimiter.connect();
      await attempts.connect();
      started = true;
      const every = (ms: number, task: () => Promise<void> | void) => {
        let running = false;
        const timer = setInterval(async () => {
          if (running) return;
          running = true;
          try {
            await task();
          } catch (err) {
            services.onBackgroundError(err);
          } finally {
            running = false;
          }
        }, ms);
        timer.unref();
        timers.push(timer);
      };
      every(MAINTENANCE_INTERVAL_MS, () => signingKeys.rotateIfDue().then(() => {}));
      every(USAGE_FLUSH_INTERVAL_MS, () => usage.flush());
      every(PURGE_INTERVAL_MS, async () => {
        revocations.sweep();
        await signingKeys.purge();
        await store.repos.clusterEvents.purge(clock.now());
        await usageAnalytics.maintain();
      });
    },
    async stop() {
      for (const timer of timers.splice(0)) clearInterval(timer);
      await verification.existingKeys.stop();
      await sync.stop();
      await usage.flush().catch((err) => services.onBackgroundError(err));
      await rateLimiter.close();
      await attempts.close();
    },
  };
  return services;
}
