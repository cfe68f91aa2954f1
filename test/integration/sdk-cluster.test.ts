import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createVerifier, type Verifier } from '@keyport/node';
import type { RunningKeyport } from '../../src/server.js';
import { createAccount, createKey, startTestKeyport, TEST_TOKEN, type TestKeyport } from '../helpers/keyport.js';
import { accessToken, basic, decodeJwt, postForm, startPeer } from '../helpers/oauth.js';

/**
 * Two Keyport nodes on one PostgreSQL database; the SDK is connected to node B only, every change is
 * made on node A. Each kind of revocation must reach the SDK's cache within a second.
 */
describe('@keyport/node across two Keyport nodes (postgres): revocations on node A reach an SDK on node B within 1 s', () => {
  let a: TestKeyport;
  let b: RunningKeyport;
  let keyport: Verifier;
  let account: string;
  let calls = 0;

  before(async () => {
    // Nodes behind one public name, as in production: tokens from either carry the same issuer.
    a = await startTestKeyport('postgres', { KEYPORT_PUBLIC_URL: 'http://keys.test' });
    b = await startPeer(a);
    account = await createAccount(a.api);
    keyport = createVerifier({
      url: b.url,
      serviceToken: TEST_TOKEN,
      environment: 'production',
      fetch: (input, init) => {
        if (String(input).includes('/v1/verify') && !String(input).endsWith('/usage')) calls++;
        return fetch(input, init);
      },
    });
    await keyport.ready();
  });
  after(async () => {
    await keyport?.close();
    await b?.close();
    await a?.stop();
  });

  /** Verifies until the answer is cached here (two answers in a row without a request to Keyport). */
  async function cached(credential: string): Promise<void> {
    for (let i = 0; i < 20; i++) {
      const before = calls;
      const result = await keyport.verify(credential);
      assert.equal(result.valid, true, JSON.stringify(result));
      if (calls === before) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail('the credential was never answered from the cache');
  }

  /** Makes the change on node A, then asks the SDK until it refuses: within 1 s, with `code`. */
  async function refusedWithinASecond(credential: string, change: () => Promise<void>, code: string): Promise<void> {
    await cached(credential);
    await change();
    const changedAt = Date.now();
    let last = await keyport.verify(credential);
    while (last.valid && Date.now() - changedAt < 1000) {
      await new Promise((r) => setTimeout(r, 10));
      last = await keyport.verify(credential);
    }
    assert.deepEqual(last, { valid: false, code }, `refused within 1 s of the change on node A (after ${Date.now() - changedAt} ms)`);
  }

  const tokenKey = async () => createKey(a.api, account, { credentialType: 'token', active: true, environment: 'production' });
  const ok = (status: number, body: unknown, expected = 200) => assert.equal(status, expected, JSON.stringify(body));

  test('a token key switched off', async () => {
    const { key, secret } = await tokenKey();
    await refusedWithinASecond(secret, async () => {
      const res = await a.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { active: false });
      ok(res.status, res.body);
    }, 'inactive');
  });

  test('a token key deleted', async () => {
    const { key, secret } = await tokenKey();
    await refusedWithinASecond(secret, async () => {
      const res = await a.api('DELETE', `/v1/accounts/${account}/keys/${key.id}`);
      ok(res.status, res.body, 204);
    }, 'unknown');
  });

  test('a token key whose secret is reset', async () => {
    const { key, secret } = await tokenKey();
    await refusedWithinASecond(secret, async () => {
      const res = await a.api('POST', `/v1/accounts/${account}/keys/${key.id}/reset-secret`, { confirm: true });
      ok(res.status, res.body);
    }, 'unknown');
  });

  test('an access token revoked (RFC 7009)', async () => {
    const { key, secret } = await createKey(a.api, account, { environment: 'production' });
    const token = await accessToken(a, key.clientId, secret);
    await refusedWithinASecond(token, async () => {
      const res = await postForm(`${a.url}/oauth/revoke`, { token }, { authorization: basic(key.clientId, secret) });
      ok(res.status, res.body);
    }, 'revoked');
  });

  test('a key regenerated with revokeTokens: its tokens stop', async () => {
    const { key, secret } = await createKey(a.api, account, { environment: 'production' });
    const token = await accessToken(a, key.clientId, secret);
    await refusedWithinASecond(token, async () => {
      const res = await a.api('POST', `/v1/accounts/${account}/keys/${key.id}/regenerate`, { confirm: true, revokeTokens: true });
      ok(res.status, res.body);
    }, 'revoked');
  });

  test('a grant switched off: the tokens issued under it stop', async () => {
    const owner = await createAccount(a.api, { name: 'Key owner' });
    const { key, secret } = await createKey(a.api, owner, { environment: 'production' });
    const grant = await a.api('POST', `/v1/accounts/${account}/grants`, { key: key.id, roles: [{ definition: 'product_data', level: 'viewer' }] });
    ok(grant.status, grant.body, 201);
    const token = await accessToken(a, key.clientId, secret, { resource: `urn:keyport:account:${account}` });
    assert.equal(decodeJwt(token).claims.grant_id, grant.body.grantId);
    // Tokens of external keys are checked by Keyport on every use (their grant is the other account's).
    assert.equal((await keyport.verify(token)).valid, true);
    const res = await a.api('PATCH', `/v1/accounts/${account}/grants/${grant.body.grantId}`, { active: false });
    ok(res.status, res.body);
    const changedAt = Date.now();
    let last = await keyport.verify(token);
    while (last.valid && Date.now() - changedAt < 1000) last = await keyport.verify(token);
    assert.deepEqual(last, { valid: false, code: 'revoked' });
  });

  test('a signing key withdrawn: the tokens it signed stop', async () => {
    const { key, secret } = await createKey(a.api, account, { environment: 'production' });
    const token = await accessToken(a, key.clientId, secret);
    const { kid } = decodeJwt(token).header;
    await refusedWithinASecond(token, async () => {
      const res = await a.api('POST', `/v1/signing-keys/${kid}/withdraw`, { confirm: true });
      ok(res.status, res.body);
    }, 'revoked');
  });
});
