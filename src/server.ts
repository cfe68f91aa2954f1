import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { systemClock, type Clock } from './domain/clock.js';
import { buildApp } from './http/app.js';
import { createLogging } from './http/logging.js';
import { createServices, type Services } from './services/index.js';
import { kekFromBytes, Keyring, parseKek, type Kek } from './domain/envelope.js';
import { openStorage, StorageError } from './storage/database.js';
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
 */
export async function startKeyport(
  config: Readonly<Config>,
  options: { clock?: Clock; logLevel?: string } = {},
): Promise<RunningKeyport> {
  // The store first: it checks the data directory, where the key file may live.
  const storage = await openStorage(config.storage);
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
    const generatedToken = await services.auth.ensurePlatformToken(config.bootstrapToken);
    const logging = createLogging(options.logLevel === undefined ? false : { level: options.logLevel });
    const { log } = logging;
    app = await buildApp({ config, services, logging });
    services.tokens.onBackgroundError = (err) => log.warn({ err }, 'background task failed');
    await services.tokens.start();
    await app.listen({ port: config.port, host: config.host });
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
      close: async () => {
        await app!.close();
        await services.tokens.stop();
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
