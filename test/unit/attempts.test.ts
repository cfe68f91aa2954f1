import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { WorkPool } from '../../src/domain/work-pool.js';
import { LocalAttemptCounter, RedisAttemptCounter, type AttemptCounter } from '../../src/services/attempts.js';

const REDIS_URL = process.env.KEYPORT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A rule of its own per test, so counts left in the shared Redis by earlier runs do not matter. */
const rule = (maxFailures: number, windowMs = 60_000) => ({ name: `test-${randomBytes(6).toString('hex')}`, maxFailures, windowMs });

async function reserveInParallel(counters: AttemptCounter[], attempts: Parameters<AttemptCounter['reserve']>[0], n: number): Promise<number> {
  const waits = await Promise.all(Array.from({ length: n }, (_, i) => counters[i % counters.length]!.reserve(attempts)));
  return waits.filter((w) => w === 0).length;
}

describe('attempt counters', () => {
  test('in process: at most maxFailures reservations, all subjects or none; a release un-counts, a clear forgets', () => {
    let now = 0;
    const counter = new LocalAttemptCounter(() => now);
    const byEmail = { rule: rule(3), subject: 'a@example.com' };
    const byAddress = { rule: rule(5), subject: '192.0.2.1' };
    const granted = Array.from({ length: 10 }, () => counter.reserve([byEmail, byAddress])).filter((w) => w === 0).length;
    assert.equal(granted, 3);
    assert.equal(counter.reserve([byEmail]), 60);
    // The address had 3 counted: 2 more for another e-mail, then it is refused too.
    const other = { rule: byEmail.rule, subject: 'b@example.com' };
    assert.equal(counter.reserve([other, byAddress]), 0);
    assert.equal(counter.reserve([other, byAddress]), 0);
    assert.ok(counter.reserve([other, byAddress]) > 0);
    assert.equal(counter.reserve([other]), 0, 'refused for the address: nothing was counted for the e-mail');
    counter.release([{ attempt: byEmail, clear: true }]);
    assert.equal(counter.reserve([byEmail]), 0, 'cleared');
    now = 60_000;
    assert.equal(counter.reserve([byAddress]), 0, 'the window is over');
  });

  test('a released attempt is not counted', () => {
    const counter = new LocalAttemptCounter(() => 0);
    const attempt = { rule: rule(2), subject: 'x' };
    for (let i = 0; i < 10; i++) {
      assert.equal(counter.reserve([attempt]), 0);
      counter.release([{ attempt, clear: false }]);
    }
  });

  test('in Redis: two nodes reserving 300 attempts at once get maxFailures between them', { timeout: 30_000 }, async () => {
    const nodes = [new RedisAttemptCounter(REDIS_URL, 1000, Date.now), new RedisAttemptCounter(REDIS_URL, 1000, Date.now)];
    try {
      for (const node of nodes) await node.connect();
      const attempt = { rule: rule(5), subject: 'shared@example.com' };
      assert.equal(await reserveInParallel(nodes, [attempt], 300), 5);
      const wait = await nodes[1]!.reserve([attempt]);
      assert.ok(wait > 0 && wait <= 60, String(wait));
      // A success on one node clears the count for both.
      await nodes[0]!.release([{ attempt, clear: true }]);
      assert.equal(await nodes[1]!.reserve([attempt]), 0);
      // Un-counting: one released attempt makes room for one more.
      const pair = [{ rule: rule(2), subject: 'p' }, { rule: rule(10), subject: 'q' }];
      assert.equal(await reserveInParallel(nodes, pair, 50), 2);
      await nodes[0]!.release([{ attempt: pair[0]!, clear: false }, { attempt: pair[1]!, clear: false }]);
      assert.equal(await reserveInParallel(nodes, pair, 50), 1);
      assert.equal(await nodes[0]!.reserve([pair[1]!]), 0, 'the second rule counted 2, not 50');
    } finally {
      for (const node of nodes) await node.close();
    }
  });

  test('Redis unreachable: counting falls back to the node at once', { timeout: 30_000 }, async () => {
    const node = new RedisAttemptCounter('redis://127.0.0.1:1', 200, () => 0);
    try {
      await node.connect();
      const attempt = { rule: rule(3), subject: 'down' };
      assert.equal(await reserveInParallel([node], [attempt], 20), 3);
    } finally {
      await node.close();
    }
  });
});

describe('work pool', () => {
  test('runs at most `concurrency` at once, queues `maxQueued`, refuses the rest at once', async () => {
    const pool = new WorkPool(2, 3);
    let running = 0;
    let most = 0;
    const releases: (() => void)[] = [];
    const task = () =>
      new Promise<number>((resolve) => {
        running++;
        most = Math.max(most, running);
        releases.push(() => (running--, resolve(running)));
      });
    const started = Array.from({ length: 8 }, () => pool.run(task));
    assert.equal(started.filter((p) => p === null).length, 3);
    assert.deepEqual(pool.load, { running: 2, waiting: 3 });
    while (releases.length > 0 || pool.load.running > 0) {
      await new Promise((r) => setImmediate(r));
      releases.shift()?.();
    }
    await Promise.all(started.filter((p) => p !== null));
    assert.equal(most, 2);
    assert.deepEqual(pool.load, { running: 0, waiting: 0 });
    assert.notEqual(pool.run(task), null, 'room again');
    releases.shift()?.();
  });
});
