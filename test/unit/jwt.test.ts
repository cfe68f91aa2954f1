import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { importJWK, jwtVerify } from 'jose';
import { decodeJwt, looksLikeJwt, signJwt, verifyJwtSignature } from '../../src/oauth/jwt.js';

describe('compact JWS with Ed25519', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');

  test('what it signs, jose verifies', async () => {
    const token = signJwt({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' }, { sub: 'key_1', exp: 4_000_000_000 }, privateKey);
    const { payload, protectedHeader } = await jwtVerify(token, await importJWK({ ...publicKey.export({ format: 'jwk' }), alg: 'EdDSA' }));
    assert.deepEqual(protectedHeader, { alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' });
    assert.deepEqual(payload, { sub: 'key_1', exp: 4_000_000_000 });
    const decoded = decodeJwt(token)!;
    assert.equal(verifyJwtSignature(decoded, publicKey), true);
  });

  test('a changed payload or another key fails the signature', () => {
    const token = signJwt({ alg: 'EdDSA' }, { scope: 'a' }, privateKey);
    const [h, , s] = token.split('.');
    const forged = decodeJwt(`${h}.${Buffer.from('{"scope":"a b"}').toString('base64url')}.${s}`)!;
    assert.equal(verifyJwtSignature(forged, publicKey), false);
    assert.equal(verifyJwtSignature(decodeJwt(token)!, generateKeyPairSync('ed25519').publicKey), false);
  });

  test('decoding refuses what is not a compact JWS of JSON objects', () => {
    for (const value of ['', 'a.b', 'a.b.c.d', 'kp_test_abc', `${'e30'}.${Buffer.from('[1]').toString('base64url')}.x`, 'e30.e30.x', `${'x'.repeat(9000)}.a.b`])
      assert.equal(decodeJwt(value), null, value.slice(0, 40));
    assert.equal(looksLikeJwt('eyJ.eyJ.sig'), true);
    assert.equal(looksLikeJwt('kp_test_x'), false);
  });
});
