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
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
