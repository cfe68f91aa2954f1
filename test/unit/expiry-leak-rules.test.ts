import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, test } from 'node:test';
import { parseLeakKeys, verifyLeakSignature } from '../../src/domain/leak-keys.js';
import { DAY_MS, dueNotice } from '../../src/services/expiry-reminders.js';

describe('expiry notices due', () => {
  const expiresAt = Date.UTC(2027, 0, 31);
  const at = (daysBefore: number) => expiresAt - daysBefore * DAY_MS;

  test('the smallest threshold the key is within, then key.expired', () => {
    assert.equal(dueNotice(expiresAt, at(10), [7, 1]), null);
    assert.equal(dueNotice(expiresAt, at(7), [7, 1]), 'key.expiring:7', 'at the mark itself');
    assert.equal(dueNotice(expiresAt, at(3), [7, 1]), 'key.expiring:7');
    assert.equal(dueNotice(expiresAt, at(0.5), [7, 1]), 'key.expiring:1', 'a late pass sends only the nearer mark');
    assert.equal(dueNotice(expiresAt, at(0.5), [1, 7]), 'key.expiring:1', 'the order of the setting does not matter');
    assert.equal(dueNotice(expiresAt, expiresAt, [7, 1]), 'key.expired');
    assert.equal(dueNotice(expiresAt, at(-3), []), 'key.expired');
    assert.equal(dueNotice(expiresAt, at(0.5), []), null, 'no thresholds: no reminders');
  });
});

describe('leak report signatures', () => {
  const github = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = github.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const body = Buffer.from('[{"token":"kp_test_x","type":"t","url":"https://github.com/a/b","source":"content"}]');
  const signature = sign('sha256', body, { key: github.privateKey, dsaEncoding: 'der' }).toString('base64');

  test("GitHub's document, its key array, an id -> PEM map and bare PEM all read", () => {
    assert.equal(parseLeakKeys(JSON.stringify({ public_keys: [{ key_identifier: 'k1', key: pem, is_current: true }] })).byId.size, 1);
    assert.equal(parseLeakKeys(JSON.stringify([{ key_identifier: 'k1', key: pem }])).byId.size, 1);
    assert.equal(parseLeakKeys(JSON.stringify({ k1: pem })).byId.size, 1);
    assert.equal(parseLeakKeys(pem).anyId.length, 1);
  });

  test('a signature verifies over the exact bytes, with the named key only', () => {
    const keys = parseLeakKeys(JSON.stringify({ k1: pem }));
    assert.equal(verifyLeakSignature(keys, 'k1', signature, body), true);
    assert.equal(verifyLeakSignature(keys, 'k2', signature, body), false, 'an unknown identifier');
    assert.equal(verifyLeakSignature(keys, 'k1', signature, Buffer.concat([body, Buffer.from('\n')])), false, 'one byte more');
    assert.equal(verifyLeakSignature(keys, 'k1', 'not base64!', body), false);
    assert.equal(verifyLeakSignature(keys, 'k1', Buffer.from('short').toString('base64'), body), false);
    assert.equal(verifyLeakSignature(parseLeakKeys(pem), 'whatever', signature, body), true, 'keys without an identifier are tried for any');
  });

  test('what is not an ECDSA P-256 public key is refused with the reason', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.throws(() => parseLeakKeys(p384), /not an ECDSA P-256 public key/);
    assert.throws(() => parseLeakKeys('{"k1": "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----"}'), /the key of 'k1' is not a PEM public key/);
    assert.throws(() => parseLeakKeys('{"public_keys": []}'), /names no public key/);
    assert.throws(() => parseLeakKeys('{"public_keys": '), /not valid JSON/);
  });
});
