import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import { createLogging } from '../../src/http/logging.js';
import { installProblemHandlers } from '../../src/http/problem.js';
import { freshStore, TEST_TOKEN } from '../helpers/keyport.js';
import { killHard, startProcess } from '../helpers/process.js';

/** The JSON lines a process printed (its other lines left out). */
const jsonLines = (output: string): any[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));

/** Waits until `check` holds for the output, or fails after two seconds. */
async function eventually(output: () => string, check: (lines: any[]) => boolean): Promise<any[]> {
  for (let waited = 0; waited < 2000; waited += 50) {
    const lines = jsonLines(output());
    if (check(lines)) return lines;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the log never got there:\n${output()}`);
}

describe('logging', () => {
  test('at level info (the default) every management request is logged once under its id, with credentials redacted', async () => {
    const store = await freshStore('sqlite');
    const keyport = await startProcess({ ...store.env, KEYPORT_LOG_LEVEL: 'info' });
    try {
      const res = await fetch(`${keyport.url}/v1/catalog`, { headers: { authorization: `Bearer ${TEST_TOKEN}`, cookie: 'keyport_session=secret-cookie' } });
      assert.equal(res.status, 200);
      const lines = await eventually(keyport.output, (l) => l.some((x) => x.msg === 'request completed' && x.req?.url === '/v1/catalog'));
      const completed = lines.filter((x) => x.msg === 'request completed' && x.req?.url === '/v1/catalog');
      assert.equal(completed.length, 1, keyport.output());
      assert.match(String(completed[0].reqId), /^[0-9a-f-]{36}$/, 'a request id of its own (no X-Request-Id was sent)');
      assert.equal(completed[0].res.statusCode, 200);
      assert.equal(completed[0].req.method, 'GET');
      assert.equal(typeof completed[0].responseTime, 'number');
      assert.ok(!keyport.output().includes(TEST_TOKEN), 'the bearer token is never logged');
      assert.ok(!keyport.output().includes('secret-cookie'), 'cookies are never logged');
    } finally {
      await killHard(keyport.child);
      await store.dispose();
    }
  });

  test('the hot routes log only what failed, was slow or was sampled', async () => {
    const store = await freshStore('sqlite');
    const keyport = await startProcess({ ...store.env, KEYPORT_LOG_LEVEL: 'info', KEYPORT_REQUEST_LOG_SAMPLE: '0' });
    const verify = (key: string, token = TEST_TOKEN) =>
      fetch(`${keyport.url}/v1/verify`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await verify('kp_test_nothing')).status, 200, 'a normal answer, valid or not');
      assert.equal((await verify('kp_test_nothing', 'kpat_not_a_token_at_all')).status, 401);
      const lines = await eventually(keyport.output, (l) => l.some((x) => x.req?.url === '/v1/verify'));
      const logged = lines.filter((x) => x.req?.url === '/v1/verify');
      assert.deepEqual(logged.map((x) => [x.res.statusCode, x.logged]), [[401, 'failed']], keyport.output());
    } finally {
      await killHard(keyport.child);
      await store.dispose();
    }
    // Every request once the threshold is 0 ms (all are slow), or the sample rate 1.
    for (const env of [{ KEYPORT_SLOW_REQUEST_MS: '0' }, { KEYPORT_REQUEST_LOG_SAMPLE: '1' }] as Record<string, string>[]) {
      const again = await freshStore('sqlite');
      const node = await startProcess({ ...again.env, KEYPORT_LOG_LEVEL: 'info', ...env });
      try {
        for (let i = 0; i < 3; i++)
          await fetch(`${node.url}/v1/verify`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: '{"key":"kp_test_nothing"}' });
        const lines = await eventually(node.output, (l) => l.filter((x) => x.req?.url === '/v1/verify').length === 3);
        assert.deepEqual(new Set(lines.filter((x) => x.req?.url === '/v1/verify').map((x) => x.logged)), new Set([env.KEYPORT_SLOW_REQUEST_MS ? 'slow' : 'sampled']));
      } finally {
        await killHard(node.child);
        await again.dispose();
      }
    }
  });

  test('KEYPORT_REQUEST_LOG=all: Fastify logs every request of every route, incoming and completed', async () => {
    const store = await freshStore('sqlite');
    const keyport = await startProcess({ ...store.env, KEYPORT_LOG_LEVEL: 'info', KEYPORT_REQUEST_LOG: 'all' });
    try {
      const res = await fetch(`${keyport.url}/v1/verify`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: '{"key":"kp_test_nothing"}' });
      assert.equal(res.status, 200);
      const lines = await eventually(keyport.output, (l) => l.some((x) => x.msg === 'request completed'));
      const incoming = lines.find((x) => x.msg === 'incoming request' && x.req?.url === '/v1/verify');
      const completed = lines.find((x) => x.msg === 'request completed');
      assert.ok(incoming && completed, keyport.output());
      assert.equal(completed.reqId, incoming.reqId);
      assert.equal(completed.res.statusCode, 200);
      assert.ok(!keyport.output().includes(TEST_TOKEN), 'the bearer token is never logged');
    } finally {
      await killHard(keyport.child);
      await store.dispose();
    }
  });

  test('at level warn requests leave no lines', async () => {
    const store = await freshStore('sqlite');
    const keyport = await startProcess({ ...store.env, KEYPORT_LOG_LEVEL: 'warn' });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await fetch(`${keyport.url}/v1/catalog`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).status, 200);
      assert.equal((await fetch(`${keyport.url}/v1/nothing-here`)).status, 404);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(jsonLines(keyport.output()), []);
    } finally {
      await killHard(keyport.child);
      await store.dispose();
    }
  });

  for (const level of ['info', 'warn'] as const)
    test(`an unexpected error is logged with its request id at level ${level}, and answered without details`, async () => {
      const written: string[] = [];
      const logging = createLogging({ level }, { write: (line: string) => void written.push(line) });
      const app = Fastify(logging.perRequest ? { loggerInstance: logging.log } : { logger: false });
      installProblemHandlers(app, logging);
      app.get('/boom', async () => {
        throw new Error('database on fire');
      });
      const res = await app.inject({ method: 'GET', url: '/boom' });
      assert.equal(res.statusCode, 500);
      assert.equal(res.json().code, 'internal_error');
      assert.ok(!res.body.includes('database on fire'), 'the cause stays in the log');
      const errors = written.map((line) => JSON.parse(line)).filter((line) => line.level === 50);
      assert.equal(errors.length, 1, written.join(''));
      assert.equal(errors[0].msg, 'unhandled error');
      assert.equal(errors[0].err.message, 'database on fire');
      assert.match(String(errors[0].reqId), /^req-/);
      await app.close();
    });
});
