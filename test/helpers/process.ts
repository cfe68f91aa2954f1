import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEST_TOKEN } from './keyport.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A Keyport started as its own process, the way `npm start` does. */
export interface KeyportProcess {
  child: ChildProcess;
  url: string;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
}

/** Starts Keyport as its own process (log level warn unless `env` says otherwise) and waits until it listens. */
export function startProcess(env: Record<string, string>): Promise<KeyportProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/start.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: '0', KEYPORT_BOOTSTRAP_TOKEN: TEST_TOKEN, KEYPORT_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let started = false;
    const timer = setTimeout(() => reject(new Error(`Keyport did not start:\n${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d;
      const match = started ? null : /listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        started = true;
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Keyport exited with ${code}:\n${out}`));
    });
  });
}

/** Stops a Keyport process with SIGKILL, as a crash would, and waits until it is gone. */
export const killHard = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    child.removeAllListeners('exit');
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

/** A Keyport process as it starts: its output so far, and its URL once it listens. */
export interface StartingKeyport {
  child: ChildProcess;
  output(): string;
  /** Resolves with the URL once it listens; rejects when it exits first or takes longer than `timeoutMs`. */
  listening: Promise<string>;
}

/** Spawns Keyport as its own process (log level warn unless `env` says otherwise), without waiting for it. */
export function spawnKeyport(env: Record<string, string>, timeoutMs = 60_000): StartingKeyport {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/start.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', KEYPORT_BOOTSTRAP_TOKEN: TEST_TOKEN, KEYPORT_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listening = new Promise<string>((resolve, reject) => {
    let started = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Keyport did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d;
      const match = started ? null : /listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        started = true;
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`Keyport exited with ${code}:\n${out}`));
    });
  });
  listening.catch(() => {});
  return { child, output: () => out, listening };
}

/** Starts Keyport as its own process and waits up to `timeoutMs` until it listens. */
export async function startProcessWithin(env: Record<string, string>, timeoutMs: number): Promise<KeyportProcess> {
  const starting = spawnKeyport(env, timeoutMs);
  return { child: starting.child, url: await starting.listening, output: starting.output };
}

/** Resolves with how the process ended; at once if it has already. */
export const exitOf = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

/** Waits until the output matches `pattern` (or fails after `timeoutMs`); returns the match. */
export async function outputMatching(output: () => string, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(output());
    if (match) return match;
    if (Date.now() > until) throw new Error(`the output never matched ${pattern}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The JSON log lines a process printed (its other lines left out). */
export const logLines = (output: string): any[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
