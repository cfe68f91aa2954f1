import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { CamelCasePlugin, Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { migrations } from './migrations/index.js';
import type { Database, Dialect } from './schema.js';

// BIGINT (int8) columns hold millisecond timestamps, well inside Number's exact range.
pg.types.setTypeParser(20, (v) => Number(v));

export type StorageOptions =
  | { kind: 'sqlite'; dataDir: string }
  | { kind: 'postgres'; url: string; poolSize?: number };

/** An open store: the Kysely handle, which dialect it speaks, and how to close it. */
export interface Storage {
  db: Kysely<Database>;
  dialect: Dialect;
  /** A human description for logs, with no password in it. */
  describe: string;
  /** True when the store answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export class StorageError extends Error {}

/** The SQLite file of a data directory. */
export const sqliteFile = (dataDir: string) => join(dataDir, 'keyport.db');

/** Opens the store and brings its schema up to date. Fails with a StorageError that says what to fix. */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  const storage = options.kind === 'sqlite' ? openSqlite(options.dataDir) : await openPostgres(options);
  try {
    await migrate(storage);
  } catch (err) {
    await storage.close();
    throw new StorageError(`Could not migrate ${storage.describe}: ${(err as Error).message}`);
  }
  return storage;
}

function openSqlite(dataDir: string): Storage {
  try {
    mkdirSync(dataDir, { recursive: true });
    accessSync(dataDir, constants.W_OK);
  } catch (err) {
    throw new StorageError(
      `The data directory ${dataDir} cannot be created or written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set KEYPORT_DATA_DIR to a writable directory.`,
    );
  }
  const file = sqliteFile(dataDir);
  let handle: SQLite.Database;
  try {
    handle = new SQLite(file);
    handle.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before the request that made it is answered, so an acknowledged
    // write survives kill -9 and power loss alike.
    handle.pragma('synchronous = FULL');
    handle.pragma('foreign_keys = ON');
    handle.pragma('busy_timeout = 5000');
  } catch (err) {
    throw new StorageError(`Cannot open the SQLite store ${file}: ${(err as Error).message}`);
  }
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: handle }),
    plugins: [new CamelCasePlugin()],
  });
  return {
    db,
    dialect: 'sqlite',
    describe: `SQLite ${file}`,
    ping: async () => {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    close: () => db.destroy(),
  };
}

/** The URL with its password masked, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

async function openPostgres(options: { url: string; poolSize?: number }): Promise<Storage> {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, connectionTimeoutMillis: 5000 });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const describe = `PostgreSQL ${redactUrl(options.url)}`;
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new StorageError(`Cannot connect to ${describe}: ${(err as Error).message || (err as NodeJS.ErrnoException).code}`);
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()] });
  return {
    db,
    dialect: 'postgres',
    describe,
    ping: async () => {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    close: () => db.destroy(),
  };
}

async function migrate(storage: Storage): Promise<void> {
  const migrator = new Migrator({
    db: storage.db,
    // Migration numbers are handed out to changes made side by side: a store that already ran a
    // higher number still runs a lower one that arrives later.
    allowUnorderedMigrations: true,
    provider: { getMigrations: async () => migrations(storage.dialect) },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`${failed ? `migration ${failed.migrationName}: ` : ''}${(error as Error).message}`);
  }
}
