import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, createKey, startTestKeyport, type TestKeyport } from '../helpers/keyport.js';
import { eventually } from '../helpers/oauth.js';
import { startOwnRedis, type OwnRedis } from '../helpers/own-redis.js';

/**
 * Redis holds the shared rate-limit counters. Frozen (SIGSTOP), stopped, or not there when a node
 * starts, it must neither stall nor refuse verifications: each node counts on its own meanwhile and
 * goes back to Redis once it answers. Injected on a redis-server of the test's own.
 */
describe('Redis faults (a redis-server of the test\'s own)', () => {
  let redis: OwnRedis;
  let kp: TestKeyport;
  let account: string;
  const WINDOW = 3600;
  before(async () => {
    redis = await startOwnRedis();
    kp = await startTestKeyport('sqlite', { REDIS_URL: redis.url, KEYPORT_REDIS_TIMEOUT_MS: '200' });
    account = await createAccount(kp.api);
    // The start of an hour: the counters' window is predictable.
    kp.clock.advance(WINDOW * 1000 - (kp.clock.now() % (WINDOW * 1000)) + 1000);
  });
  after(async () => {
    await kp?.stop();
    await redis?.destroy();
  });

  /** The count Redis holds for the key in the current window (0 when none). */
  const countInRedis = async (keyId: string) => {
    const start = kp.clock.now() - (kp.clock.now() % (WINDOW * 1000));
    const reply = await redis.command('GET', `keyport:rl:${keyId}:${WINDOW}:${start}`);
    return reply === '$-1' ? 0 : Number(reply);
  };
  const verify = async (secret: string) => {
    const res = await Promise.race([
      kp.api('POST', '/v1/verify', { key: secret }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the verification hung')), 5000).unref()),
    ]);
    return { code: res.body.code as string, remaining: res.headers.get('ratelimit-remaining') };
  };

  test('frozen: rate-limited verifications are answered at once, counted on the node, and counted in Redis again once it answers', { timeout: 60_000 }, async () => {
    const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, rateLimit: { limit: 100, windowSeconds: WINDOW } });
    assert.deepEqual(await verify(secret), { code: 'valid', remaining: '99' });
    assert.deepEqual(await verify(secret), { code: 'valid', remaining: '98' });
    assert.equal(await countInRedis(key.id), 2);
    redis.freeze();
    try {
      // The first waits for the command timeout, then counts here; the next ones count here at once.
      assert.deepEqual(await verify(secret), { code: 'valid', remaining: '99' });
      assert.deepEqual(await verify(secret), { code: 'valid', remaining: '98' });
      assert.deepEqual(await verify(secret), { code: 'valid', remaining: '97' });
    } finally {
      redis.thaw();
    }
    // Back to Redis once it answers (asked every second). The command that timed out was run by
    // Redis when it resumed; what was counted here is not added.
    assert.ok(
      await eventually(async () => {
        const before = await countInRedis(key.id);
        await verify(secret);
        return (await countInRedis(key.id)) === before + 1;
      }, 10_000),
      'counting in Redis again',
    );
    assert.equal((await kp.api('GET', '/readyz')).status, 200, 'Redis is no part of readiness: verification works without it');
  });

  test('stopped, and not there when a node starts: the node starts, answers, and counts in Redis once it is back', { timeout: 60_000 }, async () => {
    await redis.stop();
    const second = await startTestKeyport('sqlite', { REDIS_URL: redis.url, KEYPORT_REDIS_TIMEOUT_MS: '200' });
    try {
      const acct = await createAccount(second.api);
      const { key, secret } = await createKey(second.api, acct, { credentialType: 'token', active: true, rateLimit: { limit: 2, windowSeconds: WINDOW } });
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await second.api('POST', '/v1/verify', { key: secret })).body.code);
      assert.deepEqual(codes, ['valid', 'valid', 'rate_limited'], 'the limit holds on the node meanwhile');
      assert.equal((await kp.api('POST', '/v1/verify', { key: secret })).status, 200, 'the first node answers too');
      await redis.start();
      const start = second.clock.now() - (second.clock.now() % (WINDOW * 1000));
      assert.ok(
        await eventually(async () => {
          await second.api('POST', '/v1/verify', { key: secret });
          return (await redis.command('GET', `keyport:rl:${key.id}:${WINDOW}:${start}`)) !== '$-1';
        }, 10_000),
        'counting in Redis once it is back',
      );
    } finally {
      await second.stop();
    }
  });
});
