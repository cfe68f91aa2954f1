import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { CamelCasePlugin, CompiledQuery, Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type LogEvent, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { migrations } from './migrations/index.js';
import type { Database, Dialect } from './schema.js';

// BIGINT (int8) columns hold millisecond timestamps, well inside Number's exact range.
pg.types.setTypeParser(20, (v) => Number(v));

/** The bounds on every wait for the store (see Config.storage for the settings). */
export interface StoreTimeouts {
  /** The longest one statement may run, and a transaction may sit idle. */
  statementMs: number;
  /** The longest a statement waits for a lock. */
  lockMs: number;
  /** The longest a request waits for a connection (PostgreSQL). */
  poolMs: number;
}

export const DEFAULT_STORE_TIMEOUTS: Readonly<StoreTimeouts> = Object.freeze({ statementMs: 3000, lockMs: 1000, poolMs: 2000 });

export type StorageOptions =
  | { kind: 'sqlite'; dataDir: string; timeouts?: StoreTimeouts }
  | { kind: 'postgres'; url: string; poolSize?: number; timeouts?: StoreTimeouts };

/** An open store: the Kysely handle, which dialect it speaks, and how to close it. */
export interface Storage {
  db: Kysely<Database>;
  /**
   * The node's own bookkeeping (reading the cluster event log, readiness) on connections of its
   * own, so that requests using up the pool (waiting on locks, say) cannot make a node fall behind
   * the log. The same handle as `db` on SQLite.
   */
  background: Kysely<Database>;
  dialect: Dialect;
  /** A human description for logs, with no password in it. */
  describe: string;
  /** True when the store answers a trivial query (within the statement timeout), on a background connection. */
  ping(): Promise<boolean>;
  /** Told when a connection is lost outside any query (PostgreSQL restarting, an idle connection killed). */
  onConnectionError: (err: Error) => void;
  /**
   * Told of every statement, with its pool, outcome and duration (seconds), for the store metrics;
   * unset, nothing is measured.
   */
  onQuery: QueryObserver | null;
  /** The connections of the request pool: open, idle, and requests waiting for one (PostgreSQL only). */
  poolStats(): { total: number; idle: number; waiting: number; max: number } | null;
  /**
   * A read by a statement prepared once per text, for the hot reads (a key by secret hash, a page
   * of keys): no query is built per call. SQLite: cached better-sqlite3 statements, answered
   * synchronously, placeholders `?`; PostgreSQL: named statements (parsed and planned once per
   * connection), placeholders `$1`, `$2`... Rows come as arrays of values in the order of the
   * select list (cheaper to make than objects: a page of keys costs half as much). Reads committed
   * rows only: on SQLite, while a transaction holds the one connection, the read waits for it to
   * end (asynchronously, like Kysely's own queries). Not for use inside a transaction.
   */
  read(text: string, params: readonly unknown[]): unknown[][] | Promise<unknown[][]>;
  close(): Promise<void>;
}

/** See Storage.onQuery. */
export type QueryObserver = (pool: 'request' | 'background', ok: boolean, seconds: number) => void;

/** Kysely's query log, passed on to `storage.onQuery` while one is set. */
function observeQueries(storage: () => Storage, pool: 'request' | 'background') {
  return (event: LogEvent) => {
    const observer = storage().onQuery;
    if (observer !== null) observer(pool, event.level === 'query', event.queryDurationMillis / 1000);
  };
}

/** How many statements a SQLite store keeps prepared (the shapes of the hot reads are few). */
const PREPARED_STATEMENTS = 256;

/**
 * The store cannot be opened. `transient` when the cause may go away by itself (the server is
 * starting, unreachable, or too slow), as opposed to a wrong password or a missing database.
 */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly transient = false,
  ) {
    super(message);
  }
}

/** The store gave no answer in time: Keyport gave up on the connection. */
export class StoreTimeoutError extends Error {
  readonly code = 'KEYPORT_STORE_TIMEOUT';
}

/** Node's socket errors: the store cannot be reached or went away. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'EHOSTDOWN', 'KEYPORT_STORE_TIMEOUT']);
/**
 * PostgreSQL SQLSTATEs of a store that is not serving right now (the request changed nothing or may
 * be retried): connection exceptions (08), insufficient resources (53), operator intervention
 * (57: shutting down, terminated, statement timeout), lock timeout, serialization failure and
 * deadlock, a read-only transaction (a standby after a failover), system errors (58).
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57|58)...$|^(55P03|40001|40P01|25006)$/;
/** What node-postgres and pg-pool say when a connection ends or cannot be had. */
const PG_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end)/;
/** SQLite: the file is locked by another connection, or cannot be read or written. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|PROTOCOL|NOMEM)/;

/**
 * Is this error the store being unreachable, too slow or not serving (an outage, answered 503), as
 * opposed to a bug? Looks through `cause` chains.
 */
export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code) || SQLITE_UNAVAILABLE.test(code)) return true;
    if (typeof e.message === 'string' && PG_MESSAGES.test(e.message)) return true;
    if (e instanceof AggregateError && e.errors.some(isStoreUnavailable)) return true;
  }
  return false;
}

/** A short, stable name for what went wrong with the store (for grouping log lines): a code, or the message. */
export function storeFailureCause(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && e.code) return e.code;
  if (err instanceof AggregateError && err.errors.length) return storeFailureCause(err.errors[0]);
  return typeof e?.message === 'string' ? e.message.split('\n')[0]!.slice(0, 100) : String(err);
}

/** The SQLite file of a data directory. */
export const sqliteFile = (dataDir: string) => join(dataDir, 'keyport.db');

/** Opens the store and brings its schema up to date. Fails with a StorageError that says what to fix. */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  const storage = options.kind === 'sqlite' ? openSqlite(options.dataDir, options.timeouts ?? DEFAULT_STORE_TIMEOUTS) : await openPostgres(options);
  try {
    await migrate(storage);
  } catch (err) {
    await storage.close().catch(() => {});
    throw new StorageError(`Could not migrate ${storage.describe}: ${(err as Error).message}`, isStoreUnavailable(err));
  }
  return storage;
}

function openSqlite(dataDir: string, timeouts: StoreTimeouts): Storage {
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
    // SQLite runs statements in this thread, so a lock held by another process (a backup, a shell)
    // is waited for here, blocking the node: the lock timeout bounds it, then SQLITE_BUSY (503).
    handle.pragma(`busy_timeout = ${timeouts.lockMs}`);
  } catch (err) {
    throw new StorageError(`Cannot open the SQLite store ${file}: ${(err as Error).message}`, isStoreUnavailable(err));
  }
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: handle }),
    plugins: [new CamelCasePlugin()],
    log: observeQueries(() => storage, 'request'),
  });
  const statements = new Map<string, SQLite.Statement>();
  const storage: Storage = {
    read: (text, params) => {
      // While a transaction is open (between its statements) the one connection is the
      // transaction's: wait for it as Kysely's own queries do, rather than read its uncommitted rows.
      if (handle.inTransaction) return db.executeQuery(CompiledQuery.raw(text, [...params])).then((r) => r.rows.map((row) => Object.values(row as object)));
      let statement = statements.get(text);
      if (statement === undefined) {
        if (statements.size >= PREPARED_STATEMENTS) statements.clear();
        statement = handle.prepare(text).raw(true);
        statements.set(text, statement);
      }
      // Measured like Kysely's statements (Storage.onQuery): the hot reads are the ones to watch.
      const started = performance.now();
      try {
        const rows = statement.all(...params) as unknown[][];
        storage.onQuery?.('request', true, (performance.now() - started) / 1000);
        return rows;
      } catch (err) {
        storage.onQuery?.('request', false, (performance.now() - started) / 1000);
        throw err;
      }
    },
    db,
    background: db,
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
    onConnectionError: () => {},
    onQuery: null,
    poolStats: () => null,
    close: () => db.destroy(),
  };
  return storage;
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

/** How much longer than the statement timeout Keyport waits for a server that does not answer at all. */
const CLIENT_GRACE_MS = 500;

async function openPostgres(options: { url: string; poolSize?: number; timeouts?: StoreTimeouts }): Promise<Storage> {
  const timeouts = options.timeouts ?? DEFAULT_STORE_TIMEOUTS;
  const newPool = (max: number, name: string) =>
    new pg.Pool({
      connectionString: options.url,
      max,
      // Bounds both a new connection and the wait for a free one.
      connectionTimeoutMillis: timeouts.poolMs,
      // Server-side bounds, set on every connection: a statement, a lock wait, an idle transaction.
      statement_timeout: timeouts.statementMs,
      lock_timeout: timeouts.lockMs,
      idle_in_transaction_session_timeout: timeouts.statementMs,
      keepAlive: true,
      application_name: name,
    });
  const pool = newPool(options.poolSize ?? 10, 'keyport');
  const background = newPool(2, 'keyport background');
  const describe = `PostgreSQL ${redactUrl(options.url)}`;
  const kysely = (p: pg.Pool, name: 'request' | 'background') =>
    new Kysely<Database>({
      dialect: new PostgresDialect({ pool: boundedPool(p, timeouts.statementMs + CLIENT_GRACE_MS) }),
      plugins: [new CamelCasePlugin()],
      log: observeQueries(() => storage, name),
    });
  const deadlineMs = timeouts.statementMs + CLIENT_GRACE_MS;
  // A statement's name is derived from its text, so every node and connection agrees on it.
  const names = new Map<string, string>();
  const storage: Storage = {
    read: async (text, params) => {
      let name = names.get(text);
      if (name === undefined) {
        if (names.size >= PREPARED_STATEMENTS) names.clear();
        name = `keyport_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
        names.set(text, name);
      }
      const started = performance.now();
      try {
        const result = await boundedQuery(pool, deadlineMs, { name, text, values: params as unknown[], rowMode: 'array' });
        storage.onQuery?.('request', true, (performance.now() - started) / 1000);
        return result.rows as unknown[][];
      } catch (err) {
        storage.onQuery?.('request', false, (performance.now() - started) / 1000);
        throw err;
      }
    },
    db: kysely(pool, 'request'),
    background: kysely(background, 'background'),
    dialect: 'postgres',
    describe,
    ping: async () => {
      try {
        await sql`select 1`.execute(storage.background);
        return true;
      } catch {
        return false;
      }
    },
    onConnectionError: () => {},
    onQuery: null,
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: options.poolSize ?? 10 }),
    close: async () => {
      await storage.background.destroy();
      await storage.db.destroy();
    },
  };
  // A connection can fail at any time: while idle in the pool (pg-pool reports it here), and while
  // checked out, when pg-pool has removed its own listener. An 'error' event nobody listens to
  // would end the process, so every client gets a listener for its whole life. The query that was
  // running fails by itself, and the pool replaces the connection.
  for (const p of [pool, background]) {
    p.on('error', (err) => storage.onConnectionError(err));
    p.on('connect', (client) => client.on('error', (err) => storage.onConnectionError(err)));
  }
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await storage.close().catch(() => {});
    throw new StorageError(`Cannot connect to ${describe}: ${(err as Error).message || (err as NodeJS.ErrnoException).code}`, isStoreUnavailable(err));
  }
  return storage;
}

/**
 * One query on a connection of the pool, under the same client-side deadline as boundedPool's: a
 * connection that does not answer in time is torn down and the query fails with StoreTimeoutError.
 */
async function boundedQuery(pool: pg.Pool, deadlineMs: number, query: pg.QueryArrayConfig): Promise<pg.QueryArrayResult> {
  const client = await pool.connect();
  let broken: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      broken = new StoreTimeoutError(`The store did not answer within ${deadlineMs} ms`);
      reject(broken);
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    }, deadlineMs);
  });
  try {
    return await Promise.race([client.query(query), deadline]);
  } finally {
    clearTimeout(timer);
    client.release(broken);
  }
}

/**
 * The pool as Kysely sees it, with a deadline on every query that holds when the server cannot
 * enforce its own statement timeout (it is frozen, or the network dropped without a reset): the
 * connection is then torn down, its query fails with StoreTimeoutError, and the pool opens a new
 * one for the next request.
 */
function boundedPool(pool: pg.Pool, deadlineMs: number): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let broken: Error | undefined;
      const bounded = {
        query(text: string, params: readonly unknown[]) {
          if (broken) return Promise.reject(broken);
          let timer: NodeJS.Timeout | undefined;
          const deadline = new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              broken = new StoreTimeoutError(`The store did not answer within ${deadlineMs} ms`);
              reject(broken);
              (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
            }, deadlineMs);
          });
          return Promise.race([client.query(text, params as unknown[]), deadline]).finally(() => clearTimeout(timer));
        },
        release() {
          client.release(broken);
        },
      };
      return bounded as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
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
    const wrapped = new Error(`${failed ? `migration ${failed.migrationName}: ` : ''}${(error as Error).message}`, { cause: error });
    throw wrapped;
  }
}
