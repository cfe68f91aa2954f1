import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freshStore, STORES } from '../helpers/keyport.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `npm start`'s entry point until it listens (then stops it) or exits; returns what it printed and how it ended. */
function runKeyport(env: Record<string, string>): Promise<{ output: string; code: number | null; url: string | null }> {
  return new Promise((resolve) => {
    // No KEYPORT_BOOTSTRAP_TOKEN: the first start generates the owner token and prints it.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/start.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', KEYPORT_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let url: string | null = null;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const onData = (d: Buffer) => {
      output += d;
      const match = url === null ? /listening on (http:\/\/\S+)/.exec(output) : null;
      if (match) {
        url = match[1]!;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ output, code, url });
    });
  });
}

const TOKEN = /^ {4}(\S{20,})$/m;

for (const store of STORES)
  test(`a first start that cannot listen creates no owner token; the next one creates and prints it (${store})`, async () => {
    const fresh = await freshStore(store);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((taken.address() as AddressInfo).port);
      const failed = await runKeyport({ ...fresh.env, PORT: port });
      assert.equal(failed.code, 2, failed.output);
      assert.match(failed.output, /the port is in use/);
      assert.doesNotMatch(failed.output, /platform owner token was created/);

      const second = await runKeyport({ ...fresh.env, PORT: '0' });
      assert.ok(second.url, second.output);
      assert.match(second.output, /platform owner token was created/, 'the token is printed on the first start that listens');
      const token = TOKEN.exec(second.output)?.[1];
      assert.ok(token, second.output);

      // It works, and it is printed only once.
      const third = await runKeyport({ ...fresh.env, PORT: '0' });
      assert.ok(third.url, third.output);
      assert.doesNotMatch(third.output, /platform owner token was created/);
      const fourth = spawn(process.execPath, ['--import', 'tsx', 'src/start.ts'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', KEYPORT_LOG_LEVEL: 'warn', ...fresh.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        const onData = (d: Buffer) => {
          out += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        };
        fourth.stdout.on('data', onData);
        fourth.stderr.on('data', onData);
        fourth.on('exit', () => reject(new Error(out)));
      });
      try {
        const me = await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(me.status, 200, await me.text());
      } finally {
        fourth.kill('SIGTERM');
        await new Promise((r) => fourth.once('exit', r));
      }
    } finally {
      taken.close();
      await fresh.dispose();
    }
  });
