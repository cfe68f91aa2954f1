import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { systemClock, type Clock } from './domain/clock.js';
import { buildApp } from './http/app.js';
import { createLogging } from './http/logging.js';
import { hostIssuerRefused, issuerNotice } from './http/public-origin.js';
import { createServices, type Services } from './services/index.js';
import { kekFromBytes, Keyring, parseKek, type Kek } from './domain/envelope.js';
import { isStoreUnavailable, openStorage, redactUrl, StorageError, storeFailureCause } from './storage/database.js';
import { Store } from './storage/repositories.js';
import type { NoticeSink } from './services/notices.js';
import Fastify from 'fastify';
import { metricsRoute } from './http/metrics.js';
import { Metrics } from './services/metrics.js';
import { observeServices } from './services/metrics-sources.js';
import { traceStatement } from './services/tracing.js';

/** The version of Keyport, from its package.json (one level above src/ and dist/). */
export const KEYPORT_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

export interface RunningKeyport {
  app: FastifyInstance;
  services: Services;
  /** The process's log. */
  log: FastifyBaseLogger;
  /** The URL the server listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** The metrics listener's URL (KEYPORT_METRICS_PORT), when it has one. */
  metricsUrl: string | null;
  /** The platform owner token, when this start generated it (shown once). */
  generatedToken: string | null;
  close(): Promise<void>;
}

/**
 * Opens the store, wires the services and the HTTP app, makes the platform owner token and
 * listens. main.ts and the integration tests both start Keyport through here.
 *
 * A store that cannot be reached (or is too slow) is retried for KEYPORT_STARTUP_WAIT seconds,
 * each attempt logged; then, or at once for a store that cannot work (a wrong password, a missing
 * database), this fails with a StorageError saying what is wrong. Redis never holds start-up up:
 * without it, rate limits are counted on this node until it answers.
 */
export async function startKeyport(
  config: Readonly<Config>,
  options: { clock?: Clock; logLevel?: string; notices?: NoticeSink } = {},
): Promise<RunningKeyport> {
  const logging = createLogging(options.logLevel === undefined ? false : { level: options.logLevel }, undefined, config.logRepeatIntervalSeconds * 1000, config.requestLog);
  const { log } = logging;
  const deadline = Date.now() + config.startupWaitSeconds * 1000;
  // The store first: it checks the data directory, where the key file may live.
  const storage = await whileUnreachable(() => openStorage(config.storage), deadline, log, describeStore(config));
  storage.onConnectionError = (err) =>
    logging.errors.report(`connection:${storeFailureCause(err)}`, 'warn', 'a connection to the store was lost; the pool opens a new one', { err });
  let keyring: Keyring;
  try {
    keyring = new Keyring(config.encryptionKey ?? dataDirKek(config), config.previousEncryptionKeys);
  } catch (err) {
    await storage.close();
    throw err;
  }
  const services = createServices({
    store: new Store(storage),
    catalog: config.catalog,
    clock: options.clock ?? systemClock,
    keyring,
    oauth: config.oauth,
    version: KEYPORT_VERSION,
    notices: options.notices,
    webhooks: config.webhooks,
  });
  // Metrics only when someone scrapes them (KEYPORT_METRICS_PORT or KEYPORT_METRICS_TOKEN).
  const metrics = config.metrics === null ? null : new Metrics({ version: KEYPORT_VERSION });
  services.metrics = metrics;
  const timeStatement = metrics === null ? null : observeServices(metrics, services);
  storage.onQuery =
    timeStatement === null
      ? traceStatement
      : (pool, ok, seconds) => {
          timeStatement(pool, ok, seconds);
          traceStatement(pool, ok, seconds);
        };
  let app: FastifyInstance | undefined;
  let metricsApp: FastifyInstance | undefined;
  try {
    services.tokens.onBackgroundError = (err) => {
      services.nodes.noteError(isStoreUnavailable(err) ? `the store is unavailable: ${storeFailureCause(err)}` : (err as Error).message || String(err));
      return isStoreUnavailable(err)
        ? logging.errors.report(`background:${storeFailureCause(err)}`, 'warn', 'background task failed: the store is unavailable', { err })
        : logging.errors.report(`background:${(err as Error).message}`, 'error', 'background task failed', { err });
    };
    services.webhookDispatcher.onError = (err) =>
      isStoreUnavailable(err)
        ? logging.errors.report(`webhooks:${storeFailureCause(err)}`, 'warn', 'webhook deliveries wait: the store is unavailable', { err })
        : logging.errors.report(`webhooks:${(err as Error).message}`, 'error', 'webhook delivery round failed', { err });
    services.tokens.onRateLimiterState = ({ available, error }) => {
      if (!available) services.nodes.noteError(`${services.tokens.rateLimiter.describe} is unavailable: ${(error as Error | undefined)?.message ?? 'no answer'}`);
      return available
        ? log.warn(`${services.tokens.rateLimiter.describe} answers again: rate limits are counted there again`)
        : log.warn({ err: error }, `${services.tokens.rateLimiter.describe} is unavailable: rate limits are counted on this node until it answers`);
    };
    services.tokens.verification.existingKeys.onBuilt = ({ hashes, ms, bytes }) =>
      log.info({ hashes, ms, bytes }, `the filter of existing keys holds ${hashes} secret hashes (built in ${ms} ms): made-up keys are refused without a store read`);
    await whileUnreachable(
      async () => {
        await services.tokens.start();
        await services.nodes.start();
        services.webhookDispatcher.start();
      },
      deadline,
      log,
      storage.describe,
    );
    app = await buildApp({ config, services, logging });
    await app.listen({ port: config.port, host: config.host });
    if (config.expiryScanIntervalSeconds > 0) services.expiry.start(config.expiryScanIntervalSeconds * 1000, (err) => services.tokens.onBackgroundError(err));
    // Where token issuers come from, said once at start-up (a refusal to issue as a warning).
    const notice = issuerNotice(config);
    if (notice !== null) (hostIssuerRefused(config) ? log.warn(notice) : log.info(notice));
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    let metricsUrl: string | null = null;
    if (metrics !== null && config.metrics !== null && config.metrics.port !== null) {
      // A listener of its own: /metrics and nothing else, never the API.
      metricsApp = Fastify({ logger: false });
      metricsRoute(metricsApp, metrics, config.metrics.token);
      await metricsApp.listen({ port: config.metrics.port, host: config.host });
      const a = metricsApp.server.address();
      metricsUrl = `http://${host.includes(':') ? `[${host}]` : host}:${typeof a === 'object' && a ? a.port : config.metrics.port}`;
    }
    // Only once the node and its metrics listener listen: a start that fails (a port taken) must
    // not make a token that is never shown; the next start makes it and prints it then.
    const generatedToken = await whileUnreachable(() => services.auth.ensurePlatformToken(config.bootstrapToken), deadline, log, storage.describe);
    return {
      app,
      services,
      log,
      url,
      metricsUrl,
      generatedToken,
      // Stops accepting connections, lets the requests in flight finish (each has its deadline),
      // writes what is pending (lastUsedAt) while the store answers, and closes the store.
      close: async () => {
        // A keep-alive connection whose request finishes after the close began would stay open
        // until its client hangs up: close each as soon as it is idle.
        const idle = setInterval(() => app!.server.closeIdleConnections(), 100);
        try {
          await app!.close();
        } finally {
          clearInterval(idle);
        }
        await metricsApp?.close();
        await services.nodes.stop();
        await services.expiry.stop();
        await services.tokens.stop();
        await services.webhookDispatcher.stop();
        logging.errors.flush();
        await storage.close();
      },
    };
  } catch (err) {
    await services.nodes.stop();
    await metricsApp?.close().catch(() => {});
    await app?.close().catch(() => {});
    await services.expiry.stop();
    await services.tokens.stop().catch(() => {});
    await services.webhookDispatcher.stop().catch(() => {});
    await storage.close();
    throw err;
  }
}

const describeStore = (config: Readonly<Config>) =>
  config.storage.kind === 'sqlite' ? `The SQLite store in ${config.storage.dataDir}` : `PostgreSQL ${redactUrl(config.storage.url)}`;

/**
 * Runs `task` until it succeeds, while it fails because the store is unreachable or too slow and
 * the start-up wait lasts; each failure is logged with what happens next. Any other failure, or
 * the last one, is thrown as a StorageError.
 */
async function whileUnreachable<T>(task: () => Promise<T>, deadline: number, log: FastifyBaseLogger, what: string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await task();
    } catch (err) {
      const transient = err instanceof StorageError ? err.transient : isStoreUnavailable(err);
      if (!transient) throw err;
      const left = deadline - Date.now();
      const reason = (err as Error).message || storeFailureCause(err);
      if (left <= 0)
        throw err instanceof StorageError ? err : new StorageError(`${what} is not reachable: ${reason}`, true);
      const delay = Math.min(1000 * 2 ** Math.min(attempt - 1, 3), 5000, left);
      log.warn(
        { attempt, retryInMs: delay },
        `${what} is not reachable (${reason}); retrying in ${Math.ceil(delay / 1000)} s, for ${Math.ceil(left / 1000)} s more (KEYPORT_STARTUP_WAIT)`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * Without KEYPORT_ENCRYPTION_KEY, a SQLite node keeps its key-encryption key in a file of its data
 * directory (made on first start, readable by its owner only). Back it up with the database.
 */
function dataDirKek(config: Readonly<Config>): Kek {
  if (config.storage.kind !== 'sqlite') throw new StorageError('KEYPORT_ENCRYPTION_KEY is required with PostgreSQL');
  const file = join(config.storage.dataDir, 'encryption.key');
  try {
    return parseKek(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StorageError(`Cannot read ${file}: ${(err as Error).message}`);
  }
  const key = randomBytes(32);
  try {
    mkdirSync(config.storage.dataDir, { recursive: true });
    writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new StorageError(
      `Cannot write the key file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set KEYPORT_DATA_DIR to a writable directory or set KEYPORT_ENCRYPTION_KEY.`,
    );
  }
  return kekFromBytes(key);
}
