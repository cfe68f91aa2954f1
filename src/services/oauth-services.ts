import type { Catalog } from '../domain/catalog.js';
import type { Clock } from '../domain/clock.js';
import type { Keyring } from '../domain/envelope.js';
import { FailureThrottle } from '../domain/throttle.js';
import type { OAuthConfig } from '../config.js';
import { ClientAuthenticator } from './tokens/client-auth.js';
import { IntrospectionEndpoint } from './tokens/introspection.js';
import { RevocationEndpoint } from './tokens/revocation.js';
import { ALL_VERSIONS, RevocationList } from './tokens/revocations.js';
import { MAX_TOKEN_TTL_MS, SigningKeys } from './tokens/signing-keys.js';
import { TokenEndpoint } from './tokens/token.js';
import type { NewClusterEvent } from '../storage/oauth-repositories.js';
import type { Store } from '../storage/repositories.js';
import type { AuthService } from './auth-service.js';
import { ClusterSync } from './cluster-sync.js';
import type { GrantChangeListener, GrantsService } from './grants-service.js';
import type { KeyChange, KeysService } from './keys-service.js';
import { LocalRateLimiter, RedisRateLimiter, type RateLimiter } from './rate-limiter.js';
import { UsageRecorder } from './usage-recorder.js';
import { CreditsLedger } from './credits.js';
import { UsageService } from './usage-service.js';
import { VerificationService } from './verification-service.js';

/** Key-change events are kept this long in the log: far longer than any node lags behind. */
const CHANGE_EVENT_RETENTION_MS = 3_600_000;
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
  /** Failed client authentications, per client id and per source address. */
  throttles: { byClient: FailureThrottle; byAddress: FailureThrottle };
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
  /** Loads signing keys and revocations and starts the background tasks. */
  start(): Promise<void>;
  /** Stops the background tasks and writes what is pending (lastUsedAt). */
  stop(): Promise<void>;
  /** Told of errors in background tasks. */
  onBackgroundError: (err: unknown) => void;
}

/** The cache lookups a key change makes stale: every secret hash and client id before and after. */
export function changeLookups(change: KeyChange): string[] {
  const lookups = new Set<string>();
  for (const key of [change.before, change.after])
    if (key) for (const value of [key.secretHash, key.previousSecretHash, key.clientId]) if (value) lookups.add(value);
  return [...lookups];
}

export function createTokenServices(deps: {
  store: Store;
  catalog: Catalog;
  clock: Clock;
  keyring: Keyring;
  keys: KeysService;
  auth: AuthService;
  grants: GrantsService;
  usageAnalytics: UsageService;
  config: OAuthConfig;
}): TokenServices {
  const { store, catalog, clock, keyring, keys, auth, grants, usageAnalytics, config } = deps;
  const sync = new ClusterSync(store, clock, config.syncIntervalMs);
  const signingKeys = new SigningKeys(store, keyring, clock, {
    rotationIntervalMs: config.signingKeyRotation * 1000,
    prepublishMs: config.signingKeyPrepublish * 1000,
  });
  const revocations = new RevocationList(sync, clock);
  const rateLimiter: RateLimiter = config.redisUrl ? new RedisRateLimiter(config.redisUrl) : new LocalRateLimiter();
  const usage = new UsageRecorder(store, config.usageAnalytics);
  const credits = new CreditsLedger(store);
  const now = () => clock.now();
  const windowMs = config.authFailureWindow * 1000;
  const throttles = {
    byClient: new FailureThrottle({ maxFailures: config.authFailuresPerClient, windowMs, now }),
    byAddress: new FailureThrottle({ maxFailures: config.authFailuresPerAddress, windowMs, now }),
  };
  const clients = new ClientAuthenticator(store, catalog, clock, throttles);
  const verification = new VerificationService(store, catalog, clock, signingKeys, revocations, rateLimiter, usage, credits);

  signingKeys.onRotated = () =>
    sync.publish([{ kind: 'signing_keys_changed', keyId: null, clientId: null, jti: null, lookups: [], expiresAt: clock.now() + CHANGE_EVENT_RETENTION_MS, createdAt: clock.now() }]);
  sync.subscribe(async (event) => {
    if (event.kind === 'key_changed') {
      verification.invalidate(event.lookups, event.keyId);
      clients.invalidate(event.lookups);
    } else if (event.kind === 'signing_keys_changed') {
      await signingKeys.load();
    }
  });
  // Every key change reaches every node's caches; revokeTokens on delete and regenerate stops the
  // tokens of the old client id (new tokens of a regenerated key carry its new client id).
  keys.onChange(async (change) => {
    const key = change.after ?? change.before!;
    const events: NewClusterEvent[] = [
      { kind: 'key_changed', keyId: key.id, clientId: null, jti: null, lookups: changeLookups(change), expiresAt: clock.now() + CHANGE_EVENT_RETENTION_MS, createdAt: clock.now() },
    ];
    if (change.revokeTokens && (change.type === 'deleted' || change.type === 'regenerated') && change.before?.clientId)
      events.push(revocations.clientRevocation(change.before.clientId, key.id, MAX_TOKEN_TTL_MS));
    // A deleted key's grants went with it: its tokens for other accounts stop (tokens for its own
    // account follow the revokeTokens rule above).
    if (change.type === 'deleted' && change.before?.clientId) events.push(revocations.grantRevocation(null, key.id, ALL_VERSIONS, MAX_TOKEN_TTL_MS));
    await sync.publish(events);
  });
  // Tokens for another account are valid only while their grant stands as it was: switching it
  // off, changing its roles or removing it stops them on every node (switching it on again does
  // not bring them back; new tokens carry the grant's new version).
  grants.onChange(async (change) => {
    const revocation = grantChangeRevocation(change, revocations);
    if (revocation !== null) await sync.publish([revocation]);
  });

  const timers: NodeJS.Timeout[] = [];
  const services: TokenServices = {
    oauth: {
      token: new TokenEndpoint(clients, signingKeys, store, clock, rateLimiter, usage, credits, config.tokenAudience, grants),
      introspection: new IntrospectionEndpoint(auth, clients, verification),
      revocation: new RevocationEndpoint(auth, clients, verification, revocations),
      signingKeys,
      revocations,
      clients,
      throttles,
    },
    verification,
    usage,
    credits,
    rateLimiter,
    sync,
    onBackgroundError: () => {},
    async start() {
      await rateLimiter.connect();
      await signingKeys.ensure();
      await sync.start();
      sync.onError = (err) => services.onBackgroundError(err);
      if (rateLimiter instanceof RedisRateLimiter) rateLimiter.onError = (err) => services.onBackgroundError(err);
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
      await sync.stop();
      await usage.flush().catch((err) => services.onBackgroundError(err));
      await rateLimiter.close();
    },
  };
  return services;
}

/**
 * The revocation a grant change calls for: a removal, a switch-off or new roles stop every token
 * issued under the grant before it; null when no token of it can be alive (it was already off) or
 * nothing they carry changed.
 */
function grantChangeRevocation({ type, before, after }: Parameters<GrantChangeListener>[0], revocations: RevocationList): NewClusterEvent | null {
  if (!before.active) return null;
  if (type === 'deleted' || after === undefined) return revocations.grantRevocation(before.id, before.keyId, ALL_VERSIONS, MAX_TOKEN_TTL_MS);
  const rolesChanged = JSON.stringify(after.roles) !== JSON.stringify(before.roles);
  return !after.active || rolesChanged ? revocations.grantRevocation(before.id, before.keyId, after.updatedAt, MAX_TOKEN_TTL_MS) : null;
}
