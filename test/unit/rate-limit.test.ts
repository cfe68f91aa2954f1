import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FixedWindowCounter, rateLimitHeaders, rateLimitState } from '../../src/domain/rate-limit.js';

describe('fixed-window rate limit counter', () => {
  const policy = { limit: 2, windowSeconds: 10 };

  test('counts per subject within an epoch-aligned window, then starts again', () => {
    const counter = new FixedWindowCounter();
    const t0 = 1_000_000_000_000; // a multiple of 10 s
    assert.deepEqual(counter.hit('a', policy, t0 + 1000), { allowed: true, limit: 2, remaining: 1, resetSeconds: 9 });
    assert.deepEqual(counter.hit('a', policy, t0 + 2000), { allowed: true, limit: 2, remaining: 0, resetSeconds: 8 });
    assert.deepEqual(counter.hit('a', policy, t0 + 9500), { allowed: false, limit: 2, remaining: 0, resetSeconds: 1 });
    assert.equal(counter.hit('b', policy, t0 + 9500).allowed, true, 'subjects are counted apart');
    assert.deepEqual(counter.hit('a', policy, t0 + 10_000), { allowed: true, limit: 2, remaining: 1, resetSeconds: 10 });
  });

  test('stays bounded: finished windows, then the oldest counters, are dropped', () => {
    const counter = new FixedWindowCounter(3);
    for (let i = 0; i < 10; i++) counter.hit(`s${i}`, policy, 1000 + i);
    assert.ok(counter.size <= 3);
    counter.hit('late', policy, 1000 + 2 * 86_400_000);
    assert.ok(counter.size <= 3);
  });

  test('the IETF RateLimit header fields', () => {
    assert.deepEqual(rateLimitHeaders(rateLimitState({ limit: 5, windowSeconds: 60 }, 7, 0, 30_500)), {
      'ratelimit-limit': '5',
      'ratelimit-remaining': '0',
      'ratelimit-reset': '30',
    });
  });
});
