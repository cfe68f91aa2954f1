import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKeyString, hashKeyString, parseKeyString, secretMatchesHash } from '../../src/domain/key-strings.js';

test('key strings name their type and environment and carry 192 random bits', () => {
  const live = generateKeyString('token', 'production');
  const test_ = generateKeyString('clientSecret', 'sandbox');
  assert.match(live, /^kp_live_[0-9A-Za-z]{39}$/);
  assert.match(test_, /^kpsk_test_[0-9A-Za-z]{39}$/);
  assert.deepEqual(parseKeyString(live), { type: 'token', environment: 'production' });
  assert.deepEqual(parseKeyString(test_), { type: 'clientSecret', environment: 'sandbox' });
  assert.deepEqual(parseKeyString(generateKeyString('clientId', 'sandbox')), { type: 'clientId', environment: 'sandbox' });
  const many = new Set(Array.from({ length: 1000 }, () => generateKeyString('token', 'sandbox')));
  assert.equal(many.size, 1000);
});

test('a mistyped, truncated or foreign string fails the checksum before any lookup', () => {
  const key = generateKeyString('token', 'production');
  const flipped = key.slice(0, 12) + (key[12] === 'a' ? 'b' : 'a') + key.slice(13);
  for (const bad of [flipped, key.slice(0, -1), key + 'x', key.replace('kp_live_', 'kp_test_'), 'sk_live_abc', '', 'kp_live_' + 'A'.repeat(39)])
    assert.equal(parseKeyString(bad), null, bad);
});

test('secrets are compared by hash in constant time', () => {
  const secret = generateKeyString('clientSecret', 'production');
  const hash = hashKeyString(secret);
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(secretMatchesHash(secret, hash), true);
  assert.equal(secretMatchesHash(secret + 'x', hash), false);
  assert.equal(secretMatchesHash(secret, null), false);
});
