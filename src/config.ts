import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { buildCatalog, type Catalog, type CatalogInput } from './domain/catalog.js';
import { DEFAULT_CATALOG } from './domain/default-catalog.js';
import { parseKek, type Kek } from './domain/envelope.js';
import { IpAllowlist, parseAddressList } from './domain/usage-controls.js';
import { parseLeakKeys, type LeakKeys } from './domain/leak-keys.js';
import { DEFAULT_STORE_TIMEOUTS, type StorageOptions, type StoreTimeouts } from './storage/database.js';

/** Keyport's configuration, read once from the environment at start-up. */
export interface Config {
  /** PORT: the TCP port to listen on (default 8080; 0 picks a free one). */
  port: number;
  /** HOST: the address to listen on (default 127.0.0.1; 0.0.0.0 for every interface). */
  host: string;
  /** KEYPORT_PUBLIC_URL: the URL clients reach this server at; used in quick starts and as the token issuer. */
  publicUrl: string | null;
  /** NODE_ENV=production: production mode, where tokens are not issued with an issuer taken from the Host header. */
  production: boolean;
  /**
   * KEYPORT_ALLOW_HOST_ISSUER: `on` lets a production node without KEYPORT_PUBLIC_URL issue tokens
   * whose issuer and audience follow the request's Host header (default off).
   */
  allowHostIssuer: boolean;
  /**
   * DATABASE_URL (postgres://...) selects PostgreSQL; otherwise SQLite under KEYPORT_DATA_DIR (default
   * ./data). With it come the bounds on every wait for the store:
   * - KEYPORT_DB_STATEMENT_TIMEOUT_MS (default 3000): the longest one statement may run. PostgreSQL
   *   cancels it (statement_timeout), and Keyport gives up on the connection a little later if the
   *   server does not answer at all (a frozen database); it also bounds how long a transaction may sit
   *   idle (idle_in_transaction_session_timeout), so a frozen node cannot hold row locks.
   * - KEYPORT_DB_LOCK_TIMEOUT_MS (default 1000): the longest a statement waits for a row or table
   *   lock (PostgreSQL lock_timeout; SQLite busy_timeout). At most the statement timeout.
   * - KEYPORT_DB_POOL_TIMEOUT_MS (default 2000, PostgreSQL): the longest a request waits for a
   *   connection, a free one of the pool or a new one.
   * - KEYPORT_DB_POOL_SIZE (default 10, PostgreSQL): connections per node.
   */
  storage: StorageOptions;
  /** KEYPORT_BOOTSTRAP_TOKEN: the platform owner token to install (16+ characters); generated and printed once when unset. */
  bootstrapToken: string | undefined;
  /** KEYPORT_CATALOG_FILE: a JSON scope catalog replacing the built-in e-commerce one. */
  catalog: Catalog;
  /** KEYPORT_LOG_LEVEL: fatal, error, warn, info (default), debug, trace or silent. */
  logLevel: string;
  /**
   * What is logged of each request at level info (see http/logging.ts):
   * - KEYPORT_REQUEST_LOG: `sampled` (default; the hot routes log only failed, slow and sampled
   *   requests) or `all` (every request of every route, two lines each).
   * - KEYPORT_REQUEST_LOG_SAMPLE: the fraction, 0 to 1, of the hot routes' other requests logged
   *   all the same (default 0.01).
   * - KEYPORT_SLOW_REQUEST_MS: a hot-route request taking this long or longer is logged (default 500).
   */
  requestLog: { mode: 'sampled' | 'all'; sampleRate: number; slowMs: number };
  /**
   * KEYPORT_ENCRYPTION_KEY: the key-encryption key (32 bytes, base64) that protects private signing
   * keys and revealable secrets. Required with PostgreSQL (every node needs the same one); with
   * SQLite it defaults to a key file made on first start in the data directory.
   */
  encryptionKey: Kek | null;
  /** KEYPORT_PREVIOUS_ENCRYPTION_KEYS: comma-separated older KEKs, still accepted for decryption while re-encrypting. */
  previousEncryptionKeys: Kek[];
  /** Access tokens, signing keys, rate limits and how nodes stay in step: see OAuthConfig. */
  oauth: OAuthConfig;
  /** Webhook deliveries: where they may go and how long an attempt may take. */
  webhooks: WebhookConfig;
  /**
   * KEYPORT_TRUSTED_PROXIES: comma-separated addresses and CIDR ranges of reverse proxies in front
   * of Keyport. A request from one of them is taken to come from the address its X-Forwarded-For
   * names (the nearest address that is not itself a trusted proxy); from anywhere else, the
   * connection's address counts and X-Forwarded-For is ignored. Default: none (no proxy trusted).
   */
  trustedProxies: IpAllowlist | null;
  /**
   * KEYPORT_REQUEST_TIMEOUT_MS: the deadline of every request (default 10000). A request not
   * answered by then is answered 503 store_unavailable (under /oauth, temporarily_unavailable).
   */
  requestTimeoutMs: number;
  /**
   * Bounds on slow and idle clients, so none can hold a connection open for long:
   * - KEYPORT_HEADERS_TIMEOUT_MS (default 10000): all of a request's headers must have arrived by then.
   * - KEYPORT_BODY_TIMEOUT_MS (default 15000): the whole request, headers and body, must have
   *   arrived by then (a body trickled a byte at a time is cut off). At least the headers timeout.
   * - KEYPORT_KEEP_ALIVE_TIMEOUT_MS (default 72000, longer than the idle timeout of most proxies and
   *   load balancers, so they never reuse a connection Keyport is closing): idle keep-alive connections close after it.
   * - KEYPORT_MAX_CONNECTIONS (default 4096): connections a node holds at once; more are closed at once.
   * A timed-out request is answered 408 request_timeout and its connection closed.
   */
  connectionLimits: ConnectionLimits;
  /**
   * KEYPORT_STARTUP_WAIT: seconds a starting node keeps retrying a store it cannot reach, saying so
   * in its log, before it gives up and exits with code 2 (default 60; 0 exits at once). A store that
   * refuses the credentials or lacks the database is not retried.
   */
  startupWaitSeconds: number;
  /**
   * KEYPORT_SHUTDOWN_TIMEOUT: seconds a node given SIGTERM or SIGINT takes at most to finish its
   * requests in flight and write what is pending (lastUsedAt) before it exits (default 15).
   */
  shutdownTimeoutSeconds: number;
  /**
   * KEYPORT_LOG_REPEAT_INTERVAL: seconds over which errors of one cause (the store unreachable, say)
   * are logged once, then summed up in one line with their count (default 10).
   */
  logRepeatIntervalSeconds: number;
  /**
   * KEYPORT_GITHUB_LEAK_KEYS (the keys themselves) or KEYPORT_GITHUB_LEAK_KEYS_FILE (a file holding
   * them): the ECDSA P-256 public keys GitHub secret scanning signs its alerts with, as GitHub's
   * JSON document (https://api.github.com/meta/public_keys/secret_scanning) or PEM. Unset:
   * POST /v1/leaks/github answers 404 leak_reports_not_configured. Never fetched at run time.
   */
  githubLeakKeys: LeakKeys | null;
  /**
   * KEYPORT_EXPIRY_SCAN_INTERVAL: seconds between a node's passes over keys about to expire or
   * expired, to send key.expiring and key.expired (default 60; 0 turns this node's passes off).
   * Every node may run them: one node claims each interval's pass, and each notice is claimed in
   * the store and sent once.
   */
  expiryScanIntervalSeconds: number;
  /**
   * Prometheus metrics (README, Operations). Off unless one of these is set, so a node that nobody
   * scrapes pays nothing and the client-facing port does not reveal traffic figures to anyone:
   * - KEYPORT_METRICS_PORT: serve `GET /metrics` on a listener of its own on this port (at HOST),
   *   for a private network or a sidecar; the main port has no /metrics then.
   * - KEYPORT_METRICS_TOKEN (16+ characters): ask for `Authorization: Bearer <token>` on /metrics;
   *   without KEYPORT_METRICS_PORT, /metrics is served on the main port, with this token.
   */
  metrics: { port: number | null; token: string | null } | null;
}

/** See Config.connectionLimits. */
export interface ConnectionLimits {
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

/** What a node answers for credentials it cannot re-check while its view of the cluster event log is too old. */
export const STALE_POLICIES = ['unavailable', 'serve'] as const;
export type StalePolicy = (typeof STALE_POLICIES)[number];

/** Configuration of access tokens and the verification path. */
export interface OAuthConfig {
  /** KEYPORT_TOKEN_AUDIENCE: the `aud` of access tokens asked for without `resource` (default: the public URL). */
  tokenAudience: string | null;
  /** KEYPORT_SIGNING_KEY_ROTATION: seconds between scheduled signing-key rotations (default 30 days; 0 turns the schedule off). */
  signingKeyRotation: number;
  /** KEYPORT_SIGNING_KEY_PREPUBLISH: seconds a new signing key is published before tokens are signed with it (default 300). */
  signingKeyPrepublish: number;
  /** KEYPORT_SYNC_INTERVAL_MS: how often a node reads revocations and key changes made by other nodes (default 250 ms). */
  syncIntervalMs: number;
  /**
   * KEYPORT_MAX_STALENESS_MS: how old a node's view of the cluster event log may be before its cached
   * answers are not trusted (default 1000, the revocation promise; more than KEYPORT_SYNC_INTERVAL_MS).
   * Past it, verification first reads the log; when the store cannot be read, see stalePolicy.
   */
  maxStalenessMs: number;
  /**
   * KEYPORT_STALE_POLICY: what a node answers for keys and tokens it cannot re-check while its view
   * is too old and the store cannot be read. `unavailable` (default): 503 store_unavailable (under
   * /oauth, temporarily_unavailable), so no revoked credential is ever answered valid. `serve`: the
   * cached answer, for operators who prefer availability to the revocation bound.
   */
  stalePolicy: StalePolicy;
  /** REDIS_URL: a redis:// URL; rate-limit counters are then shared by every node instead of kept per node. */
  redisUrl: string | null;
  /**
   * KEYPORT_REDIS_TIMEOUT_MS: the longest a Redis command may take (default 250). A command that
   * fails or takes longer switches rate-limit counting to this node's own counters until Redis
   * answers again (checked every second).
   */
  redisTimeoutMs: number;
  /** KEYPORT_AUTH_FAILURES_PER_CLIENT: failed client authentications per client id before it is refused for the window (default 10). */
  authFailuresPerClient: number;
  /** KEYPORT_AUTH_FAILURES_PER_ADDRESS: failed client authentications per source address before it is refused for the window (default 100). */
  authFailuresPerAddress: number;
  /** KEYPORT_AUTH_FAILURE_WINDOW: seconds failed authentications are counted and a throttled client or address waits (default 300). */
  authFailureWindow: number;
  /**
   * KEYPORT_PASSWORD_HASH_CONCURRENCY: password hashes (scrypt) run at once on a node (default 2).
   * They share libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise) with token
   * signing, so keep it below that size: a sign-in flood then cannot stall token issuance.
   */
  passwordHashConcurrency: number;
  /**
   * KEYPORT_PASSWORD_HASH_QUEUE: sign-ins that may wait for the hashing pool (default 32); more
   * are answered 503 server_busy with Retry-After at once, without counting as a failed attempt.
   */
  passwordHashQueue: number;
  /**
   * KEYPORT_USAGE_ANALYTICS: `on` (default) counts every verification and token request per key,
   * hour and outcome for usage analytics (batched in memory, written every few seconds); `off`
   * counts nothing.
   */
  usageAnalytics: boolean;
  /**
   * KEYPORT_UNKNOWN_KEY_READS: well-formed keys per second that the filter of existing keys says
   * are not in the store and are read from it all the same (default 100; 0: never). A key made on
   * another node is in this node's filter only once this node has read its event (within
   * KEYPORT_SYNC_INTERVAL_MS): while unknown keys are few, each is still read, so a key used the
   * moment it was made is found on every node; past the budget (a flood of made-up keys) the
   * filter's answer stands.
   */
  unknownKeyReads: number;
}

/** How this node delivers webhooks. */
export interface WebhookConfig {
  /**
   * KEYPORT_WEBHOOK_ALLOW_HTTP (on/off, default off): also accept http:// URLs, to loopback
   * addresses only, and deliver to loopback addresses; for tests and development.
   */
  allowHttp: boolean;
  /**
   * KEYPORT_WEBHOOK_ALLOW_PRIVATE (on/off, default off): deliver to private, link-local and loopback
   * addresses too (receivers inside the platform's own network). Off, such URLs are refused.
   */
  allowPrivate: boolean;
  /** KEYPORT_WEBHOOK_TIMEOUT_MS: the longest one delivery attempt may take, connection to answer (default 10000). */
  timeoutMs: number;
  /** KEYPORT_WEBHOOK_POLL_MS: how often a node looks for due deliveries (default 1000; new ones of its own go out at once). */
  pollIntervalMs: number;
}

export const defaultWebhookConfig = (): WebhookConfig => ({ allowHttp: false, allowPrivate: false, timeoutMs: 10_000, pollIntervalMs: 1000 });

function parseWebhookConfig(env: NodeJS.ProcessEnv, problems: string[]): WebhookConfig {
  return {
    allowHttp: parseSwitch(env, 'KEYPORT_WEBHOOK_ALLOW_HTTP', false, problems),
    allowPrivate: parseSwitch(env, 'KEYPORT_WEBHOOK_ALLOW_PRIVATE', false, problems),
    timeoutMs: parseInteger(env, 'KEYPORT_WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000, problems, ' milliseconds'),
    pollIntervalMs: parseInteger(env, 'KEYPORT_WEBHOOK_POLL_MS', 1000, 10, 600_000, problems, ' milliseconds'),
  };
}

export class ConfigError extends Error {}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Reads the configuration from `env`. Every bad variable is named in one ConfigError, so an
 * operator fixes them all in one go.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const problems: string[] = [];
  const port = parsePort(env.PORT, problems);
  const host = env.HOST?.trim() || '127.0.0.1';

  let storage: StorageOptions = { kind: 'sqlite', dataDir: resolve(env.KEYPORT_DATA_DIR?.trim() || './data') };
  const dbUrl = env.DATABASE_URL?.trim();
  if (dbUrl) {
    let url: URL | undefined;
    try {
      url = new URL(dbUrl);
    } catch {
      problems.push('DATABASE_URL is not a URL; expected postgres://user:password@host:5432/database');
    }
    if (url && url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
      problems.push(`DATABASE_URL must be a postgres:// URL (got ${url.protocol}//...); leave it unset to use SQLite under KEYPORT_DATA_DIR`);
    else if (url && !url.pathname.replace('/', '')) problems.push('DATABASE_URL names no database; add /<database> to it');
    if (url) storage = { kind: 'postgres', url: dbUrl };
  }

  const bootstrapToken = env.KEYPORT_BOOTSTRAP_TOKEN;
  if (bootstrapToken !== undefined && (bootstrapToken.length < 16 || /\s/.test(bootstrapToken)))
    problems.push('KEYPORT_BOOTSTRAP_TOKEN must be at least 16 characters with no white space');

  let publicUrl: string | null = null;
  if (env.KEYPORT_PUBLIC_URL) {
    try {
      const u = new URL(env.KEYPORT_PUBLIC_URL);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
      publicUrl = u.toString().replace(/\/$/, '');
    } catch {
      problems.push('KEYPORT_PUBLIC_URL must be an http:// or https:// URL, e.g. https://keys.example.com');
    }
  }

  let catalog: Catalog | undefined;
  try {
    catalog = env.KEYPORT_CATALOG_FILE ? loadCatalogFile(env.KEYPORT_CATALOG_FILE) : buildCatalog(DEFAULT_CATALOG, 'built-in catalog');
  } catch (err) {
    problems.push((err as Error).message);
  }

  const logLevel = env.KEYPORT_LOG_LEVEL?.trim() || 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`KEYPORT_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const requestLogMode = env.KEYPORT_REQUEST_LOG?.trim().toLowerCase() || 'sampled';
  if (requestLogMode !== 'sampled' && requestLogMode !== 'all') problems.push(`KEYPORT_REQUEST_LOG must be sampled or all (got '${env.KEYPORT_REQUEST_LOG}')`);
  const sampleText = env.KEYPORT_REQUEST_LOG_SAMPLE?.trim();
  let sampleRate = 0.01;
  if (sampleText) {
    sampleRate = Number(sampleText);
    if (!/^(0|1|0?\.\d+|1\.0*)$/.test(sampleText) || !(sampleRate >= 0 && sampleRate <= 1)) {
      problems.push(`KEYPORT_REQUEST_LOG_SAMPLE must be a fraction from 0 to 1, e.g. 0.01 (got '${sampleText}')`);
      sampleRate = 0.01;
    }
  }
  const requestLog = {
    mode: requestLogMode === 'all' ? ('all' as const) : ('sampled' as const),
    sampleRate,
    slowMs: parseInteger(env, 'KEYPORT_SLOW_REQUEST_MS', 500, 0, 600_000, problems, ' milliseconds'),
  };

  let encryptionKey: Kek | null = null;
  const previousEncryptionKeys: Kek[] = [];
  try {
    if (env.KEYPORT_ENCRYPTION_KEY) encryptionKey = parseKek(env.KEYPORT_ENCRYPTION_KEY, 'KEYPORT_ENCRYPTION_KEY');
    else if (storage.kind === 'postgres')
      problems.push('KEYPORT_ENCRYPTION_KEY is required with DATABASE_URL, so that every node shares it (make one with: openssl rand -base64 32)');
  } catch (err) {
    problems.push((err as Error).message);
  }
  for (const [i, text] of (env.KEYPORT_PREVIOUS_ENCRYPTION_KEYS ?? '').split(',').filter((t) => t.trim()).entries()) {
    try {
      previousEncryptionKeys.push(parseKek(text, `KEYPORT_PREVIOUS_ENCRYPTION_KEYS[${i}]`));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }

  const oauth = parseOAuthConfig(env, problems);
  const timeouts = parseStoreTimeouts(env, problems);
  storage = storage.kind === 'sqlite' ? { ...storage, timeouts } : { ...storage, timeouts, poolSize: parseInteger(env, 'KEYPORT_DB_POOL_SIZE', 10, 1, 1000, problems, ' connections') };
  const requestTimeoutMs = parseInteger(env, 'KEYPORT_REQUEST_TIMEOUT_MS', 10_000, 100, 600_000, problems, ' milliseconds');
  const connectionLimits: ConnectionLimits = {
    headersTimeoutMs: parseInteger(env, 'KEYPORT_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000, problems, ' milliseconds'),
    bodyTimeoutMs: parseInteger(env, 'KEYPORT_BODY_TIMEOUT_MS', 15_000, 100, 3_600_000, problems, ' milliseconds'),
    keepAliveTimeoutMs: parseInteger(env, 'KEYPORT_KEEP_ALIVE_TIMEOUT_MS', 72_000, 100, 3_600_000, problems, ' milliseconds'),
    maxConnections: parseInteger(env, 'KEYPORT_MAX_CONNECTIONS', 4096, 1, 1_000_000, problems, ' connections'),
  };
  if (connectionLimits.headersTimeoutMs > connectionLimits.bodyTimeoutMs)
    problems.push(`KEYPORT_HEADERS_TIMEOUT_MS (${connectionLimits.headersTimeoutMs} ms) must not be longer than KEYPORT_BODY_TIMEOUT_MS (${connectionLimits.bodyTimeoutMs} ms): the whole request includes its headers`);
  const startupWaitSeconds = parseInteger(env, 'KEYPORT_STARTUP_WAIT', 60, 0, 86_400, problems, ' seconds');
  const shutdownTimeoutSeconds = parseInteger(env, 'KEYPORT_SHUTDOWN_TIMEOUT', 15, 1, 3600, problems, ' seconds');
  const logRepeatIntervalSeconds = parseInteger(env, 'KEYPORT_LOG_REPEAT_INTERVAL', 10, 1, 3600, problems, ' seconds');

  let trustedProxies: IpAllowlist | null = null;
  const proxies = env.KEYPORT_TRUSTED_PROXIES?.trim();
  if (proxies) {
    const parsed = parseAddressList(proxies);
    for (const error of parsed.errors) problems.push(`KEYPORT_TRUSTED_PROXIES: ${error}`);
    if (parsed.errors.length === 0 && parsed.value === null) problems.push('KEYPORT_TRUSTED_PROXIES names no address; leave it unset to trust no proxy');
    trustedProxies = parsed.value;
  }

  let githubLeakKeys: LeakKeys | null = null;
  const leakKeys = env.KEYPORT_GITHUB_LEAK_KEYS?.trim();
  const leakKeysFile = env.KEYPORT_GITHUB_LEAK_KEYS_FILE?.trim();
  if (leakKeys && leakKeysFile) problems.push('Set KEYPORT_GITHUB_LEAK_KEYS or KEYPORT_GITHUB_LEAK_KEYS_FILE, not both');
  else if (leakKeys || leakKeysFile) {
    const name = leakKeys ? 'KEYPORT_GITHUB_LEAK_KEYS' : `KEYPORT_GITHUB_LEAK_KEYS_FILE ${leakKeysFile}`;
    try {
      githubLeakKeys = parseLeakKeys(leakKeys ?? readFileSync(leakKeysFile!, 'utf8'));
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}`);
    }
  }
  const expiryScanIntervalSeconds = parseInteger(env, 'KEYPORT_EXPIRY_SCAN_INTERVAL', 60, 0, 86_400, problems, ' seconds');
  const metrics = parseMetricsConfig(env, port, problems);
  const webhooks = parseWebhookConfig(env, problems);
  const production = env.NODE_ENV?.trim() === 'production';
  const allowHostIssuer = parseSwitch(env, 'KEYPORT_ALLOW_HOST_ISSUER', false, problems);

  if (problems.length) throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return Object.freeze({
    webhooks,
    githubLeakKeys,
    expiryScanIntervalSeconds,
    port,
    host,
    publicUrl,
    production,
    allowHostIssuer,
    storage,
    bootstrapToken,
    catalog: catalog!,
    logLevel,
    requestLog,
    encryptionKey,
    previousEncryptionKeys,
    oauth,
    requestTimeoutMs,
    connectionLimits,
    startupWaitSeconds,
    shutdownTimeoutSeconds,
    logRepeatIntervalSeconds,
    trustedProxies,
    metrics,
  });
}

function parseMetricsConfig(env: NodeJS.ProcessEnv, mainPort: number, problems: string[]): Config['metrics'] {
  const rawPort = env.KEYPORT_METRICS_PORT?.trim();
  const token = env.KEYPORT_METRICS_TOKEN;
  let port: number | null = null;
  if (rawPort) {
    const n = Number(rawPort);
    if (!/^\d+$/.test(rawPort) || n < 0 || n > 65535) problems.push(`KEYPORT_METRICS_PORT must be a whole number from 0 to 65535 (got '${rawPort}')`);
    else if (n !== 0 && n === mainPort) problems.push(`KEYPORT_METRICS_PORT must differ from PORT (${mainPort}); leave it unset to serve /metrics on the main port with KEYPORT_METRICS_TOKEN`);
    else port = n;
  }
  if (token !== undefined && token !== '' && (token.length < 16 || /\s/.test(token)))
    problems.push('KEYPORT_METRICS_TOKEN must be at least 16 characters with no white space');
  const usableToken = token !== undefined && token !== '' ? token : null;
  if (port === null && usableToken === null) return null;
  return { port, token: usableToken };
}

function parseStoreTimeouts(env: NodeJS.ProcessEnv, problems: string[]): StoreTimeouts {
  const d = DEFAULT_STORE_TIMEOUTS;
  const statementMs = parseInteger(env, 'KEYPORT_DB_STATEMENT_TIMEOUT_MS', d.statementMs, 100, 600_000, problems, ' milliseconds');
  const lockMs = parseInteger(env, 'KEYPORT_DB_LOCK_TIMEOUT_MS', d.lockMs, 10, 600_000, problems, ' milliseconds');
  const poolMs = parseInteger(env, 'KEYPORT_DB_POOL_TIMEOUT_MS', d.poolMs, 100, 600_000, problems, ' milliseconds');
  if (lockMs > statementMs)
    problems.push(`KEYPORT_DB_LOCK_TIMEOUT_MS (${lockMs} ms) must not be longer than KEYPORT_DB_STATEMENT_TIMEOUT_MS (${statementMs} ms): a statement waiting for a lock is cancelled at the statement timeout`);
  return { statementMs, lockMs, poolMs };
}

function parsePort(value: string | undefined, problems: string[]): number {
  if (value === undefined || value.trim() === '') return 8080;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    problems.push(`PORT must be a whole number from 0 to 65535 (got '${value}')`);
    return 8080;
  }
  return n;
}

/** A whole number within bounds, or the default when unset; a bad value is named in `problems`. */
function parseInteger(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number, problems: string[], hint = ''): number {
  const value = env[name]?.trim();
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max}${hint} (got '${value}')`);
    return fallback;
  }
  return n;
}

/** `on` or `off` (also true/false, 1/0), or the default when unset; a bad value is named in `problems`. */
function parseSwitch(env: NodeJS.ProcessEnv, name: string, fallback: boolean, problems: string[]): boolean {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === '') return fallback;
  if (['on', 'true', '1'].includes(value)) return true;
  if (['off', 'false', '0'].includes(value)) return false;
  problems.push(`${name} must be on or off (got '${env[name]}')`);
  return fallback;
}

/** The OAuth configuration with every variable unset. */
export const defaultOAuthConfig = (): OAuthConfig => parseOAuthConfig({}, []);

function parseOAuthConfig(env: NodeJS.ProcessEnv, problems: string[]): OAuthConfig {
  let tokenAudience: string | null = null;
  const audience = env.KEYPORT_TOKEN_AUDIENCE?.trim();
  if (audience) {
    try {
      new URL(audience);
      tokenAudience = audience;
    } catch {
      problems.push(`KEYPORT_TOKEN_AUDIENCE must be an absolute URI, e.g. https://api.example.com (got '${audience}')`);
    }
  }
  let redisUrl: string | null = null;
  const redis = env.REDIS_URL?.trim();
  if (redis) {
    let ok = false;
    try {
      ok = ['redis:', 'rediss:'].includes(new URL(redis).protocol);
    } catch {
      /* reported below */
    }
    if (ok) redisUrl = redis;
    else problems.push('REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379');
  }
  const rotation = parseInteger(env, 'KEYPORT_SIGNING_KEY_ROTATION', 30 * 86_400, 0, 10 * 366 * 86_400, problems, ' seconds');
  if (rotation > 0 && rotation < 3600)
    problems.push(`KEYPORT_SIGNING_KEY_ROTATION must be 0 (no scheduled rotation) or at least 3600 seconds (got '${rotation}')`);
  const prepublish = parseInteger(env, 'KEYPORT_SIGNING_KEY_PREPUBLISH', 300, 0, 86_400, problems, ' seconds');
  if (rotation > 0 && prepublish >= rotation)
    problems.push(`KEYPORT_SIGNING_KEY_PREPUBLISH (${prepublish} s) must be shorter than KEYPORT_SIGNING_KEY_ROTATION (${rotation} s): a key must sign before the next one is made`);
  const syncIntervalMs = parseInteger(env, 'KEYPORT_SYNC_INTERVAL_MS', 250, 50, 5000, problems, ' milliseconds');
  const maxStalenessMs = parseInteger(env, 'KEYPORT_MAX_STALENESS_MS', 1000, 100, 600_000, problems, ' milliseconds');
  if (maxStalenessMs <= syncIntervalMs)
    problems.push(`KEYPORT_MAX_STALENESS_MS (${maxStalenessMs} ms) must be longer than KEYPORT_SYNC_INTERVAL_MS (${syncIntervalMs} ms): a node reads the log once per interval`);
  const policy = env.KEYPORT_STALE_POLICY?.trim() || 'unavailable';
  if (!(STALE_POLICIES as readonly string[]).includes(policy))
    problems.push(`KEYPORT_STALE_POLICY must be ${STALE_POLICIES.join(' or ')} (got '${policy}')`);
  return {
    tokenAudience,
    signingKeyRotation: rotation,
    signingKeyPrepublish: prepublish,
    syncIntervalMs,
    maxStalenessMs,
    stalePolicy: (STALE_POLICIES as readonly string[]).includes(policy) ? (policy as StalePolicy) : 'unavailable',
    redisUrl,
    redisTimeoutMs: parseInteger(env, 'KEYPORT_REDIS_TIMEOUT_MS', 250, 10, 60_000, problems, ' milliseconds'),
    authFailuresPerClient: parseInteger(env, 'KEYPORT_AUTH_FAILURES_PER_CLIENT', 10, 1, 1_000_000, problems),
    authFailuresPerAddress: parseInteger(env, 'KEYPORT_AUTH_FAILURES_PER_ADDRESS', 100, 1, 1_000_000, problems),
    authFailureWindow: parseInteger(env, 'KEYPORT_AUTH_FAILURE_WINDOW', 300, 1, 86_400, problems, ' seconds'),
    passwordHashConcurrency: parseInteger(env, 'KEYPORT_PASSWORD_HASH_CONCURRENCY', 2, 1, 1024, problems),
    passwordHashQueue: parseInteger(env, 'KEYPORT_PASSWORD_HASH_QUEUE', 32, 0, 100_000, problems),
    usageAnalytics: parseSwitch(env, 'KEYPORT_USAGE_ANALYTICS', true, problems),
    unknownKeyReads: parseInteger(env, 'KEYPORT_UNKNOWN_KEY_READS', 100, 0, 1_000_000, problems, ' reads per second'),
  };
}

/** Reads and resolves a catalog file (JSON); the error names the file and every problem. */
function loadCatalogFile(path: string): Catalog {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`KEYPORT_CATALOG_FILE ${path}: ${(err as Error).message}`);
  }
  return buildCatalog(parsed as CatalogInput, `KEYPORT_CATALOG_FILE ${path}`);
}
