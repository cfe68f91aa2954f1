import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { importJWK, jwtVerify } from 'jose';
import { decodeJwt, JwsSigner, looksLikeJwt, verifyJwtSignature, type JwsAlg } from '../../src/oauth/jwt.js';

const pairs: [JwsAlg, ReturnType<typeof generateKeyPairSync>][] = [
  ['ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
  ['EdDSA', generateKeyPairSync('ed25519')],
];

for (const [alg, { publicKey, privateKey }] of pairs) {
  describe(`compact JWS with ${alg}`, () => {
    test('what it signs, jose verifies', async () => {
      const token = await new JwsSigner({ alg, typ: 'at+jwt', kid: 'k1' }, privateKey).sign({ sub: 'key_1', exp: 4_000_000_000 });
      const { payload, protectedHeader } = await jwtVerify(token, await importJWK({ ...publicKey.export({ format: 'jwk' }), alg }));
      assert.deepEqual(protectedHeader, { alg, typ: 'at+jwt', kid: 'k1' });
      assert.deepEqual(payload, { sub: 'key_1', exp: 4_000_000_000 });
      assert.equal(verifyJwtSignature(decodeJwt(token)!, publicKey, alg), true);
    });

    test('a changed payload, another key or another alg in the header fails', async () => {
      const token = await new JwsSigner({ alg }, privateKey).sign({ scope: 'a' });
      const [h, , s] = token.split('.');
      const forged = decodeJwt(`${h}.${Buffer.from('{"scope":"a b"}').toString('base64url')}.${s}`)!;
      assert.equal(verifyJwtSignature(forged, publicKey, alg), false);
      const other = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
      assert.equal(verifyJwtSignature(decodeJwt(token)!, other.publicKey, alg), false);
      const renamed = decodeJwt(`${Buffer.from(JSON.stringify({ alg: alg === 'ES256' ? 'EdDSA' : 'ES256' })).toString('base64url')}.${token.split('.')[1]}.${s}`)!;
      assert.equal(verifyJwtSignature(renamed, publicKey, alg), false, 'the key decides the algorithm, not the token');
    });
  });
}

test('decoding refuses what is not a compact JWS of JSON objects', () => {
  for (const value of ['', 'a.b', 'a.b.c.d', 'kp_test_abc', `${'e30'}.${Buffer.from('[1]').toString('base64url')}.x`, 'e30.e30.x', `${'x'.repeat(9000)}.a.b`, 'eyJ.eyJ', 'eyJ.e yJ.sig', `eyJ${'a'.repeat(9000)}.eyJ.sig`])
    assert.equal(decodeJwt(value), null, value.slice(0, 40));
  assert.equal(looksLikeJwt('eyJ.eyJ.sig'), true);
  assert.equal(looksLikeJwt('kp_test_x'), false);
});
