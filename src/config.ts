import { resolve } from 'node:path';
import { buildCatalog, loadCatalogFile, type Catalog } from './domain/catalog.js';
import { DEFAULT_CATALOG } from './domain/default-catalog.js';
import { parseKek, type Kek } from './domain/envelope.js';
import type { StorageOptions } from './storage/database.js';

/** Keyport's configuration, read once from the environment at start-up. */
export interface Config {
  /** PORT: the TCP port to listen on (default 8080; 0 picks a free one). */
  port: number;
  /** HOST: the address to listen on (default 127.0.0.1; 0.0.0.0 for every interface). */
  host: string;
  /** KEYPORT_PUBLIC_URL: the URL clients reach this server at; used in quick starts and as the token issuer. */
  publicUrl: string | null;
  /** DATABASE_URL (postgres://...) selects PostgreSQL; otherwise SQLite under KEYPORT_DATA_DIR (default ./data). */
  storage: StorageOptions;
  /** KEYPORT_BOOTSTRAP_TOKEN: the platform owner token to install (16+ characters); generated and printed once when unset. */
  bootstrapToken: string | undefined;
  /** KEYPORT_CATALOG_FILE: a JSON scope catalog replacing the built-in e-commerce one. */
  catalog: Catalog;
  /** KEYPORT_LOG_LEVEL: fatal, error, warn, info (default), debug, trace or silent. */
  logLevel: string;
  /**
   * KEYPORT_ENCRYPTION_KEY: the key-encryption key (32 bytes, base64) that protects private signing
   * keys and revealable secrets. Required with PostgreSQL (every node needs the same one); with
   * SQLite it defaults to a key file made on first start in the data directory.
   */
  encryptionKey: Kek | null;
  /** KEYPORT_PREVIOUS_ENCRYPTION_KEYS: comma-separated older KEKs, still accepted for decryption while re-encrypting. */
  previousEncryptionKeys: Kek[];
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

  if (problems.length) throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return Object.freeze({ port, host, publicUrl, storage, bootstrapToken, catalog: catalog!, logLevel, encryptionKey, previousEncryptionKeys });
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
