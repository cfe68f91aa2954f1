import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** Debian's PostgreSQL server binaries (apt-get install postgresql-15); KEYPORT_TEST_PG_BIN points elsewhere. */
export const PG_BIN = process.env.KEYPORT_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL cluster of the test's own, to stop, freeze and kill without touching the shared
 * server: initdb into a temporary directory (as the `postgres` user when the tests run as root, since
 * PostgreSQL refuses to run as root), on a free port below 32768 (outside the range the kernel hands
 * out to client sockets, so no client connection takes it while the server is down).
 */
export interface OwnPostgres {
  port: number;
  /** The URL of `database` (default `postgres`) as the superuser, trust auth. */
  url(database?: string): string;
  /** The postmaster's pid while it runs. */
  readonly pid: number | undefined;
  /** A new, empty database; its URL. */
  createDatabase(): Promise<string>;
  /** `pg_ctl stop -m <mode>`: `immediate` is a crash (no checkpoint, connections cut at once). */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  /** Starts the server again on the same directory and port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGSTOP to every process of the cluster: connections stay open and nothing answers. */
  freeze(): void;
  /** SIGCONT to every process of the cluster. */
  thaw(): void;
  /** Runs SQL as the superuser on `database` and returns the rows. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[], database?: string): Promise<T[]>;
  /** Stops the server (whatever state it is in) and removes its directory. */
  destroy(): Promise<void>;
}

/** The uid and gid of the `postgres` user, when the tests run as root; undefined otherwise. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('The tests run as root and there is no postgres user to run PostgreSQL as (apt-get install postgresql-15 makes one).');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A port below 32768 that nothing listens on right now. */
export async function freePortBelow32768(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below 32768');
}

/**
 * The processes of a cluster: the postmaster and its children (backends, checkpointer, walwriter,
 * ...). Each child calls setsid(), so a signal to the postmaster's process group does not reach them.
 */
function clusterPids(postmaster: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) children.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return [postmaster, ...children];
}

/** Signals one process, if it is still there. */
function signalOne(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone meanwhile */
  }
}

/** Processes started here that must not outlive the test run, even when it fails. */
const started = new Set<number>();
process.once('exit', () => {
  for (const postmaster of started)
    for (const pid of clusterPids(postmaster)) {
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
});

/** Initialises and starts a cluster; fails with a clear message when the binaries are missing. */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const user = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'keyport-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const as = user ? { uid: user.uid, gid: user.gid } : {};
  const init = spawnSync(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], { ...as, encoding: 'utf8', timeout: 60_000 });
  if (init.error || init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (PostgreSQL server binaries are needed in ${PG_BIN}: apt-get install postgresql-15): ${init.error?.message ?? init.stderr}`);
  }
  const port = await freePortBelow32768();
  let child: ChildProcess | undefined;
  let log = '';

  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const query = async <T,>(text: string, params: unknown[] = [], database = 'postgres'): Promise<T[]> => {
    const client = new pg.Client({ connectionString: url(database), connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end();
    }
  };

  const start = async () => {
    log = '';
    // Detached: its own process group, so a signal to the test run does not reach it.
    child = spawn(
      join(PG_BIN, 'postgres'),
      ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=100', '-c', 'log_min_messages=fatal'],
      { ...as, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const pid = child.pid!;
    started.add(pid);
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    child.once('exit', () => started.delete(pid));
    const until = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`PostgreSQL did not start:\n${log}`);
      try {
        await query('select 1');
        return;
      } catch {
        if (Date.now() > until) throw new Error(`PostgreSQL did not accept connections within 30 s:\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const exited = () =>
    new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
    });

  const signal = (sig: NodeJS.Signals) => {
    if (child?.pid === undefined || child.exitCode !== null) return;
    for (const pid of clusterPids(child.pid)) signalOne(pid, sig);
  };

  const own: OwnPostgres = {
    port,
    url,
    get pid() {
      return child?.exitCode === null ? child.pid : undefined;
    },
    async createDatabase() {
      const name = `keyport_fault_${randomBytes(5).toString('hex')}`;
      await query(`create database ${name}`);
      return url(name);
    },
    async stop(mode = 'immediate') {
      const done = exited();
      const result = spawnSync(join(PG_BIN, 'pg_ctl'), ['stop', '-D', data, '-m', mode, '-w', '-t', '30'], { ...as, encoding: 'utf8', timeout: 40_000 });
      if (result.status !== 0) throw new Error(`pg_ctl stop failed: ${result.stderr}`);
      await done;
    },
    start,
    // The postmaster first, so that it forks no new backend meanwhile; then every child.
    freeze: () => {
      if (child?.pid === undefined || child.exitCode !== null) return;
      for (const pid of clusterPids(child.pid)) signalOne(pid, 'SIGSTOP');
    },
    thaw: () => {
      if (child?.pid === undefined || child.exitCode !== null) return;
      for (const pid of clusterPids(child.pid).reverse()) signalOne(pid, 'SIGCONT');
    },
    query,
    async destroy() {
      if (child && child.exitCode === null) {
        own.thaw();
        const done = exited();
        // SIGQUIT to the postmaster is pg_ctl's immediate shutdown: it cleans up its shared memory.
        process.kill(child.pid!, 'SIGQUIT');
        const timer = setTimeout(() => signal('SIGKILL'), 10_000);
        await done;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await start();
  } catch (err) {
    await own.destroy();
    throw err;
  }
  return own;
}
