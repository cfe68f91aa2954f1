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

export interface RunningKeyport {
  app: FastifyInstance;
  services: Services;
  /** The process's log. */
  log: FastifyBaseLogger;
  /** The URL the server listens on, e.g. http://127.0.0.1:8080. */
  url: string;
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
  options: { clock?: Clock; logLevel?: string } = {},
): Promise<RunningKeyport> {
  const logging = createLogging(options.logLevel === undefined ? false : { level: options.logLevel }, undefined, config.logRepeatIntervalSeconds * 1000);
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
  const services = createServices({ store: new Store(storage), catalog: config.catalog, clock: options.clock ?? systemClock, keyring, oauth: config.oauth });
  let app: FastifyInstance | undefined;
  try {
    services.tokens.onBackgroundError = (err) =>
      isStoreUnavailable(err)
        ? logging.errors.report(`background:${storeFailureCause(err)}`, 'warn', 'background task failed: the store is unavailable', { err })
        : logging.errors.report(`background:${(err as Error).message}`, 'error', 'background task failed', { err });
    services.tokens.onRateLimiterState = ({ available, error }) =>
      available
        ? log.warn(`${services.tokens.rateLimiter.describe} answers again: rate limits are counted there again`)
        : log.warn({ err: error }, `${services.tokens.rateLimiter.describe} is unavailable: rate limits are counted on this node until it answers`);
    const generatedToken = await whileUnreachable(
      async () => {
        const token = await services.auth.ensurePlatformToken(config.bootstrapToken);
        await services.tokens.start();
        return token;
      },
      deadline,
      log,
      storage.describe,
    );
    app = await buildApp({ config, services, logging });
    await app.listen({ port: config.port, host: config.host });
    // Where token issuers come from, said once at start-up (a refusal to issue as a warning).
    const notice = issuerNotice(config);
    if (notice !== null) (hostIssuerRefused(config) ? log.warn(notice) : log.info(notice));
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return {
      app,
      services,
      log,
      url,
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
        await services.tokens.stop();
        logging.errors.flush();
        await storage.close();
      },
    };
  } catch (err) {
    await app?.close().catch(() => {});
    await services.tokens.stop().catch(() => {});
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
