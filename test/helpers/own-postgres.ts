import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

/**
 * A PostgreSQL server of the test's own, for tests that break the database: initdb into a
 * temporary directory, a free loopback port below 32768, trust authentication. The shared server on
 * 5432 is never touched. Run as the `postgres` user when the test runs as root (PostgreSQL refuses
 * root). Stopped by its pid.
 */
export const PG_BIN = process.env.KEYPORT_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface OwnPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  /** Ends the server at once (immediate shutdown: every connection dropped) and waits until it is gone. */
  kill(): Promise<void>;
  /** Stops it if still running and removes its directory. */
  dispose(): Promise<void>;
}

export function ownPostgresAvailable(): boolean {
  if (existsSync(join(PG_BIN, 'postgres'))) return true;
  const message = `PostgreSQL server binaries are not installed at ${PG_BIN} (apt-get install postgresql-15)`;
  if (process.env.CI === 'true') throw new Error(`${message}: the store-failure tests need them`);
  process.stderr.write(`\n*** SKIPPING the store-failure tests: ${message} ***\n\n`);
  return false;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'keyport-own-pg-'));
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) } : {};
  if (asRoot) chownSync(dir, user.uid!, user.gid!);
  const data = join(dir, 'data');
  execFileSync(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync'], { ...user, cwd: dir, stdio: 'ignore', timeout: 60_000 });
  const port = await freePortBelow32768();
  const child: ChildProcess = spawn(
    join(PG_BIN, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
    { ...user, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // SIGQUIT: the postmaster ends its backends and exits; SIGKILL only if it does not.
      child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  const deadline = Date.now() + 20_000;
  while (!/ready to accept connections/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await kill();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`PostgreSQL did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    kill,
    dispose: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A free loopback port below the kernel's ephemeral range (32768 and up), so no outgoing connection
 * of another program can take it meanwhile: random tries, each checked by binding it.
 */
async function freePortBelow32768(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below 32768 found in 50 tries');
}
