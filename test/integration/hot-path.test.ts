import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Verification } from '../../src/services/verification-service.js';
import { createAccount, createKey, describeEachStore, TEST_TOKEN } from '../helpers/keyport.js';
import { accessToken } from '../helpers/oauth.js';

describeEachStore('the verification hot path', (kp, store) => {
  test('once the caller and the credential are cached, verification answers without a promise', async () => {
    const account = await createAccount(kp.api);
    const tokenKey = await createKey(kp.api, account, { credentialType: 'token', active: true, scopes: ['product.read'] });
    const client = await createKey(kp.api, account);
    const jwt = await accessToken(kp, client.key.clientId, client.secret);
    const { verification } = kp.services.tokens;

    for (const credential of [tokenKey.secret, jwt]) {
      const first = verification.verify(credential, { scopes: ['product.read'] });
      // SQLite answers its prepared statement synchronously: a key's first look-up needs no promise either.
      if (credential === jwt || store === 'postgres') assert.ok(first instanceof Promise, 'the first look-up goes to the store (or checks the signature)');
      else assert.equal(first instanceof Promise, false, 'SQLite answers the first look-up at once');
      assert.equal((await first).code, 'valid');
      const cached = verification.verify(credential, { scopes: ['product.read'] });
      assert.equal(cached instanceof Promise, false, 'a cached credential is answered at once');
      assert.deepEqual([(cached as Verification).valid, (cached as Verification).code], [true, 'valid']);
    }

    await kp.services.auth.authenticate(TEST_TOKEN);
    assert.equal(kp.services.auth.authenticate(TEST_TOKEN) instanceof Promise, false, 'a cached bearer token is resolved at once');

    // A key with a rate limit counted in process stays synchronous too; the answer says where it stands.
    await kp.client.keys.update(account, tokenKey.key.id, { rateLimit: { limit: 5, windowSeconds: 60 } });
    await verification.verify(tokenKey.secret);
    const limited = verification.verify(tokenKey.secret);
    assert.equal(limited instanceof Promise, false);
    assert.equal((limited as Verification).rateLimit?.limit, 5);
  });
});
