import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestKeyport, type TestKeyport } from '../helpers/keyport.js';

/**
 * Slow and idle clients are dropped within seconds: a real socket that trickles its headers or
 * its body, one that idles after a request, and more connections than the cap.
 */
describe('slow clients', () => {
  let kp: TestKeyport;
  before(async () => {
    kp = await startTestKeyport('sqlite', {
      KEYPORT_HEADERS_TIMEOUT_MS: '1000',
      KEYPORT_BODY_TIMEOUT_MS: '2000',
      KEYPORT_KEEP_ALIVE_TIMEOUT_MS: '1000',
      KEYPORT_MAX_CONNECTIONS: '20',
    });
  });
  after(async () => kp?.stop());

  const open = () =>
    new Promise<Socket>((resolve, reject) => {
      const { port } = new URL(kp.url);
      const socket = connect(Number(port), '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    });
  /** Writes `first`, then one byte of `trickle` every 300 ms; resolves with what the server said once it closed, and after how long. */
  const trickle = (socket: Socket, first: string, rest: string) =>
    new Promise<{ answer: string; ms: number }>((resolve) => {
      const started = Date.now();
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (d) => (answer += d));
      socket.on('error', () => {});
      socket.write(first);
      let i = 0;
      const timer = setInterval(() => {
        if (!socket.destroyed && socket.writable && i < rest.length) socket.write(rest[i++]!);
      }, 300);
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ answer, ms: Date.now() - started });
      });
    });
  /** Resolves when the server closes the socket, or rejects after `ms`. */
  const closedWithin = (socket: Socket, ms: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
      socket.on('error', () => {});
      socket.resume();
      socket.once('close', () => (clearTimeout(timer), resolve()));
    });

  test('a body trickled one byte at a time is cut off with 408 within seconds', { timeout: 30_000 }, async () => {
    const body = JSON.stringify({ email: 'slow@example.com', password: 'x'.repeat(200) });
    const headers = `POST /v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const { answer, ms } = await trickle(await open(), headers, body);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /request_timeout/);
    assert.ok(ms < 10_000, `dropped after ${ms} ms`);
  });

  test('headers trickled one byte at a time are cut off within seconds', { timeout: 30_000 }, async () => {
    const { answer, ms } = await trickle(await open(), 'GET /healthz HTTP/1.1\r\n', `Host: 127.0.0.1\r\nX-Slow: ${'a'.repeat(100)}\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(ms < 10_000, `dropped after ${ms} ms`);
  });

  test('an idle keep-alive connection is closed after the keep-alive timeout', { timeout: 30_000 }, async () => {
    const socket = await open();
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await closedWithin(socket, 10_000);
  });

  test('connections beyond the cap are closed at once; the ones held keep working', { timeout: 30_000 }, async () => {
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 20; i++) held.push(await open());
      const extra = await open();
      await closedWithin(extra, 5000);
      for (const socket of held) socket.destroy();
      held.length = 0;
      // Once they are gone, new connections are served again.
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = await fetch(`${kp.url}/healthz`).then((r) => r.status, () => 0);
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 200);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });
});
