import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePortBelow32768 } from './own-postgres.js';

/** Debian's redis-server (apt-get install redis-server); KEYPORT_TEST_REDIS_SERVER points elsewhere. */
export const REDIS_SERVER = process.env.KEYPORT_TEST_REDIS_SERVER ?? 'redis-server';

/** A redis-server of the test's own (`--save ''`: nothing on disk), to stop, freeze and kill. */
export interface OwnRedis {
  port: number;
  url: string;
  readonly pid: number | undefined;
  /** Sends one command (RESP) and returns the raw reply line, e.g. `:3` or `$-1`. */
  command(...args: string[]): Promise<string>;
  /** SIGSTOP: the connection stays open and nothing answers. */
  freeze(): void;
  thaw(): void;
  /** Stops the server (SIGTERM), waiting until it is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePortBelow32768();
  let child: ChildProcess | undefined;

  const command = (...args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.setTimeout(3000);
      let reply = '';
      socket.on('connect', () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
      socket.on('data', (d) => {
        reply += d;
        // One reply: a simple line, or a bulk string with its payload line.
        const lines = reply.split('\r\n');
        if (lines.length >= 2 && (!reply.startsWith('$') || reply.startsWith('$-1') || lines.length >= 3)) {
          socket.end();
          resolve(reply.startsWith('$') && !reply.startsWith('$-1') ? lines[1]! : lines[0]!);
        }
      });
      socket.on('timeout', () => (socket.destroy(), reject(new Error('redis did not answer'))));
      socket.on('error', reject);
    });

  const exited = () =>
    new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
    });

  const start = async () => {
    let log = '';
    child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const self = child;
    started.add(self);
    self.once('exit', () => started.delete(self));
    self.stdout!.on('data', (d) => (log += d));
    self.stderr!.on('data', (d) => (log += d));
    self.once('error', (err) => (log += String(err)));
    const until = Date.now() + 15_000;
    for (;;) {
      if (self.exitCode !== null || log.includes('ENOENT')) throw new Error(`redis-server did not start (apt-get install redis-server):\n${log}`);
      try {
        if ((await command('PING')) === '+PONG') return;
      } catch {
        /* not yet */
      }
      if (Date.now() > until) throw new Error(`redis-server did not answer within 15 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const own: OwnRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.exitCode === null ? child.pid : undefined;
    },
    command,
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
    async stop() {
      if (!child || child.exitCode !== null) return;
      const done = exited();
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await done;
    },
    start,
    async destroy() {
      if (!child || child.exitCode !== null) return;
      const done = exited();
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await done;
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
