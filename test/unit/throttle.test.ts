import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FailureThrottle } from '../../src/domain/throttle.js';

describe('failure throttle', () => {
  test('refuses a subject after maxFailures within the window, until the window ends', () => {
    let now = 0;
    const throttle = new FailureThrottle({ maxFailures: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 2; i++) throttle.fail('client');
    assert.equal(throttle.retryAfter('client'), 0);
    now = 10_000;
    throttle.fail('client');
    assert.equal(throttle.retryAfter('client'), 50, 'counted from the first failure');
    assert.equal(throttle.retryAfter('other'), 0);
    now = 60_000;
    assert.equal(throttle.retryAfter('client'), 0, 'the window is over');
    throttle.fail('client');
    assert.equal(throttle.retryAfter('client'), 0, 'a new window starts with one failure');
  });

  test('a success resets the count', () => {
    const throttle = new FailureThrottle({ maxFailures: 2, windowMs: 1000, now: () => 0 });
    throttle.fail('x');
    throttle.reset('x');
    throttle.fail('x');
    assert.equal(throttle.retryAfter('x'), 0);
  });

  test('stays bounded under a flood of subjects', () => {
    const throttle = new FailureThrottle({ maxFailures: 1, windowMs: 1000, now: () => 0, maxSubjects: 100 });
    for (let i = 0; i < 1000; i++) throttle.fail(`ip-${i}`);
    assert.equal(throttle.retryAfter('ip-999'), 1, 'the newest are kept');
    assert.equal(throttle.retryAfter('ip-0'), 0, 'the oldest were dropped');
  });
});
