import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/domain/clock.js';
import { LruCache } from '../../src/domain/lru.js';

describe('LRU cache', () => {
  test('holds at most maxEntries, evicting the least recently inserted first', () => {
    const cache = new LruCache<string, number>(3);
    for (const [k, v] of [['a', 1], ['b', 2], ['c', 3], ['d', 4]] as const) cache.set(k, v);
    assert.equal(cache.size, 3);
    assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => cache.get(k)), [undefined, 2, 3, 4]);
  });

  test('a read of an old entry keeps it: the next insertion evicts another', () => {
    const cache = new LruCache<string, number>(4);
    for (const k of ['a', 'b', 'c', 'd']) cache.set(k, 0);
    // 'a' is now the oldest and more than half the capacity away from the newest: a read moves it up.
    assert.equal(cache.get('a'), 0);
    cache.set('e', 0);
    assert.deepEqual(['a', 'b', 'c', 'd', 'e'].map((k) => cache.get(k) !== undefined), [true, false, true, true, true]);
  });

  test('entries expire after their time to live, by the injected clock', () => {
    const clock = new ManualClock(0);
    const cache = new LruCache<string, string>(10, () => clock.now());
    cache.set('short', 'x', 1000);
    cache.set('forever', 'y');
    clock.advance(999);
    assert.equal(cache.get('short'), 'x');
    clock.advance(1);
    assert.equal(cache.get('short'), undefined);
    assert.equal(cache.size, 1, 'the expired entry is gone, not only hidden');
    clock.advance(10 ** 9);
    assert.equal(cache.get('forever'), 'y');
  });

  test('set replaces, delete and clear forget', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('a', 2);
    assert.deepEqual([cache.get('a'), cache.size], [2, 1]);
    cache.delete('a');
    assert.equal(cache.get('a'), undefined);
    cache.set('b', 1);
    cache.clear();
    assert.equal(cache.size, 0);
  });
});
