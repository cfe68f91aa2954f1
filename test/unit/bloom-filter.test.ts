import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { BloomFilter, isHexHash } from '../../src/domain/bloom-filter.js';
import { generateKeyString, hashKeyString } from '../../src/domain/key-strings.js';

const hashes = (n: number) => Array.from({ length: n }, () => hashKeyString(generateKeyString('token', 'production')));

describe('the Bloom filter of existing keys', () => {
  test('holds every hash added: no false "absent", ever', () => {
    const filter = new BloomFilter(5000);
    const added = hashes(5000);
    for (const h of added) filter.add(h);
    assert.ok(added.every((h) => filter.mayContain(h)));
    assert.equal(filter.count, 5000);
    assert.equal(filter.full, false);
    assert.equal(filter.bytes, Math.ceil((5000 * BloomFilter.BITS_PER_ENTRY) / 32) * 4);
  });

  test('says "maybe" for about 1 % of absent hashes at capacity, and more past it', () => {
    const filter = new BloomFilter(10_000);
    for (const h of hashes(10_000)) filter.add(h);
    const probes = hashes(50_000);
    const rate = probes.filter((h) => filter.mayContain(h)).length / probes.length;
    // 10 bits and 7 positions per entry: 0.82 % expected.
    assert.ok(rate > 0.002 && rate < 0.015, `false-positive rate ${rate}`);
    for (const h of hashes(10_001)) filter.add(h);
    assert.equal(filter.full, true, 'over capacity: time to build it anew');
  });

  test('takes SHA-256 hashes in hex only', () => {
    const filter = new BloomFilter(10);
    assert.throws(() => filter.add('ck_live_not_a_hash'), RangeError);
    assert.throws(() => new BloomFilter(0), RangeError);
    assert.equal(isHexHash(randomBytes(32).toString('hex')), true);
    assert.equal(isHexHash('cid_' + randomBytes(30).toString('hex')), false);
    assert.equal(isHexHash(randomBytes(32).toString('hex').toUpperCase()), false);
  });
});
