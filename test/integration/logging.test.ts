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
  test('at level info every request is logged under its id, with credentials redacted', async () => {
    const store = await freshStore('sqlite');
    const keyport = await startProcess({ ...store.env, KEYPORT_LOG_LEVEL: 'info' });
    try {
      const res = await fetch(`${keyport.url}/v1/catalog`, { headers: { authorization: `Bearer ${TEST_TOKEN}`, cookie: 'keyport_session=secret-cookie' } });
      assert.equal(res.status, 200);
      const lines = await eventually(keyport.output, (l) => l.some((x) => x.msg === 'request completed'));
      const incoming = lines.find((x) => x.msg === 'incoming request' && x.req?.url === '/v1/catalog');
      const completed = lines.find((x) => x.msg === 'request completed');
      assert.ok(incoming && completed, keyport.output());
      assert.equal(completed.reqId, incoming.reqId);
      assert.equal(completed.res.statusCode, 200);
      assert.ok(!keyport.output().includes(TEST_TOKEN), 'the bearer token is never logged');
      assert.ok(!keyport.output().includes('secret-cookie'), 'cookies are never logged');
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
