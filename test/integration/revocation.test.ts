import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { apiClient, createAccount, createKey, describeEachStore, TEST_TOKEN } from '../helpers/keyport.js';
import { accessToken, basic, decodeJwt, eventually, postForm, startPeer } from '../helpers/oauth.js';

describeEachStore('revocation and introspection', (kp, store) => {
  let account: string;
  before(async () => {
    account = await createAccount(kp.api);
  });

  const verify = async (token: string, url = kp.url) => (await apiClient(url, TEST_TOKEN)('POST', '/v1/verify', { token })).body;
  const revoke = (params: Record<string, string>, headers: Record<string, string>) => postForm(`${kp.url}/oauth/revoke`, params, headers);
  const introspect = (params: Record<string, string>, headers: Record<string, string>) => postForm(`${kp.url}/oauth/introspect`, params, headers);
  const owner = { authorization: `Bearer ${TEST_TOKEN}` };

  test('a client revokes its token (RFC 7009): it introspects inactive and fails /v1/verify at once', async () => {
    const { key, secret } = await createKey(kp.api, account);
    const token = await accessToken(kp, key.clientId, secret);
    const other = await accessToken(kp, key.clientId, secret);
    assert.equal((await verify(token)).valid, true);
    const res = await revoke({ token, token_type_hint: 'access_token' }, { authorization: basic(key.clientId, secret) });
    assert.deepEqual([res.status, res.body, res.headers.get('cache-control')], [200, null, 'no-store']);
    assert.deepEqual(await verify(token), { valid: false, code: 'revoked' });
    const inspected = await introspect({ token }, { authorization: basic(key.clientId, secret) });
    assert.deepEqual([inspected.status, inspected.body, inspected.headers.get('cache-control')], [200, { active: false }, 'no-store']);
    assert.equal((await verify(other)).valid, true, 'only that token');
    const again = await revoke({ token }, { authorization: basic(key.clientId, secret) });
    assert.equal(again.status, 200, 'revoking twice is fine');
  });

  test('revocation answers: unknown tokens 200, foreign tokens untouched, API keys unsupported, bad calls refused', async () => {
    const a = await createKey(kp.api, account);
    const b = await createKey(kp.api, account);
    const tokenOfB = await accessToken(kp, b.key.clientId, b.secret);
    const authA = { authorization: basic(a.key.clientId, a.secret) };
    assert.equal((await revoke({ token: 'not-a-token' }, authA)).status, 200);
    assert.equal((await revoke({ token: tokenOfB }, authA)).status, 200, 'nothing to learn about another client');
    assert.equal((await verify(tokenOfB)).valid, true, "another client's token is not revoked");
    const tokenKey = await createKey(kp.api, account, { credentialType: 'token' });
    const unsupported = await revoke({ token: tokenKey.secret }, authA);
    assert.deepEqual([unsupported.status, unsupported.body.error], [400, 'unsupported_token_type']);
    const missing = await revoke({}, authA);
    assert.deepEqual([missing.status, missing.body], [400, { error: 'invalid_request', error_description: "The 'token' parameter is required." }]);
    const anonymous = await revoke({ token: tokenOfB }, {});
    assert.deepEqual([anonymous.status, anonymous.body.error], [401, 'invalid_client']);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="keyport", Bearer realm="keyport"');
    const badBearer = await revoke({ token: tokenOfB }, { authorization: 'Bearer nope-nope-nope-nope' });
    assert.deepEqual([badBearer.status, badBearer.body.error], [401, 'invalid_token']);
    // A management principal with keys.edit on the account (the platform owner) may revoke any of its tokens.
    assert.equal((await revoke({ token: tokenOfB }, owner)).status, 200);
    assert.deepEqual(await verify(tokenOfB), { valid: false, code: 'revoked' });
  });

  test('introspection (RFC 7662) by a gateway with a management token, for access tokens and token keys', async () => {
    const { key, secret } = await createKey(kp.api, account, { environment: 'production', channel: 'b2b', scopes: ['order.read'] });
    const token = await accessToken(kp, key.clientId, secret);
    const { claims } = decodeJwt(token);
    const res = await introspect({ token }, owner);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      active: true,
      scope: 'order.read',
      client_id: key.clientId,
      token_type: 'Bearer',
      exp: claims.exp,
      iat: claims.iat,
      sub: key.id,
      aud: kp.url,
      iss: `${kp.url}/production`,
      jti: claims.jti,
      account,
      environment: 'production',
      roles: [],
      channel: 'b2b',
    });
    assert.deepEqual((await introspect({ token, environment: 'sandbox' }, owner)).body, { active: false }, 'the environment wall');
    assert.deepEqual((await introspect({ token, environment: 'production' }, owner)).body.active, true);
    const tk = await createKey(kp.api, account, { credentialType: 'token', active: true, scopes: ['cart.read'] });
    assert.deepEqual((await introspect({ token: tk.secret }, owner)).body, {
      active: true,
      scope: 'cart.read',
      sub: tk.key.id,
      account,
      environment: 'sandbox',
      roles: [],
      channel: null,
    });
    assert.deepEqual((await introspect({ token: 'garbage' }, owner)).body, { active: false });
    const other = await createKey(kp.api, account);
    assert.deepEqual((await introspect({ token }, { authorization: basic(other.key.clientId, other.secret) })).body, { active: false }, "another client's token");
    const noToken = await introspect({}, owner);
    assert.deepEqual([noToken.status, noToken.body.error], [400, 'invalid_request']);
    kp.clock.advance(3_600_000);
    assert.deepEqual((await introspect({ token }, owner)).body, { active: false }, 'expired');
  });

  test('deleting or regenerating a key stops new tokens; old ones live to their expiry unless revokeTokens', async () => {
    const path = (id: string) => `/v1/accounts/${account}/keys/${id}`;

    const kept = await createKey(kp.api, account);
    const keptToken = await accessToken(kp, kept.key.clientId, kept.secret);
    await kp.api('DELETE', path(kept.key.id));
    assert.equal((await verify(keptToken)).valid, true, 'deleted without revokeTokens: still valid');
    kp.clock.advance(3_600_000);
    assert.deepEqual(await verify(keptToken), { valid: false, code: 'expired' });

    const killed = await createKey(kp.api, account);
    const killedToken = await accessToken(kp, killed.key.clientId, killed.secret);
    assert.equal((await kp.api('DELETE', `${path(killed.key.id)}?revokeTokens=true`)).status, 204);
    assert.deepEqual(await verify(killedToken), { valid: false, code: 'revoked' });

    const regen = await createKey(kp.api, account);
    const before = await accessToken(kp, regen.key.clientId, regen.secret);
    const soft = await kp.api('POST', `${path(regen.key.id)}/regenerate`, { confirm: true });
    assert.equal((await verify(before)).valid, true, 'regenerated without revokeTokens: still valid');
    const between = await accessToken(kp, soft.body.key.clientId, soft.body.secret);
    const hard = await kp.api('POST', `${path(regen.key.id)}/regenerate`, { confirm: true, revokeTokens: true });
    assert.deepEqual(await verify(between), { valid: false, code: 'revoked' }, 'tokens of the replaced client id stop');
    const fresh = await accessToken(kp, hard.body.key.clientId, hard.body.secret);
    assert.equal((await verify(fresh)).valid, true, 'tokens of the new client id, even in the same second, are fine');

    const batch = await createKey(kp.api, account);
    const batchToken = await accessToken(kp, batch.key.clientId, batch.secret);
    await kp.api('POST', `/v1/accounts/${account}/keys/batch-delete`, { ids: [batch.key.id], confirm: true, revokeTokens: true });
    assert.deepEqual(await verify(batchToken), { valid: false, code: 'revoked' });
  });

  test('two nodes on one database agree on revocations and key changes within a second', async () => {
    const peer = await startPeer(kp);
    try {
      const { key, secret } = await createKey(kp.api, account);
      const token = await accessToken(kp, key.clientId, secret);
      const tk = await createKey(kp.api, account, { credentialType: 'token', active: true });
      // The peer has both answers cached as valid.
      assert.equal((await verify(token, peer.url)).valid, true);
      assert.equal((await apiClient(peer.url, TEST_TOKEN)('POST', '/v1/verify', { key: tk.secret })).body.valid, true);

      assert.equal((await revoke({ token }, { authorization: basic(key.clientId, secret) })).status, 200);
      const started = Date.now();
      assert.ok(await eventually(async () => (await verify(token, peer.url)).code === 'revoked', 1000), 'the peer refuses the revoked token within a second');
      const took = Date.now() - started;

      await kp.api('PATCH', `/v1/accounts/${account}/keys/${tk.key.id}`, { active: false });
      assert.ok(
        await eventually(async () => (await apiClient(peer.url, TEST_TOKEN)('POST', '/v1/verify', { key: tk.secret })).body.code === 'inactive', 1000),
        'the peer refuses the switched-off key within a second',
      );
      // And the peer refuses tokens for the switched-off client at once too.
      await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { active: false });
      assert.ok(
        await eventually(async () => (await postForm(`${peer.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(key.clientId, secret) })).status === 400, 1000),
      );
      assert.ok(took < 1000, `took ${took} ms`);
    } finally {
      await peer.close();
    }
  });

  test('two nodes agree within a second when a grant is switched off; a node starting later knows it too', async () => {
    const keyAccount = await createAccount(kp.api, { name: 'Partner' });
    const { key, secret } = await createKey(kp.api, keyAccount);
    const created = await kp.api('POST', `/v1/accounts/${account}/grants`, { key: key.id, roles: [{ definition: 'product_data', level: 'viewer' }] });
    assert.equal(created.status, 201);
    const resource = `urn:keyport:account:${account}`;
    const token = await accessToken(kp, key.clientId, secret, { resource });
    const peer = await startPeer(kp);
    try {
      assert.deepEqual([(await verify(token, peer.url)).valid, (await verify(token, peer.url)).account], [true, account], 'the peer has it cached as valid');
      assert.equal((await kp.api('PATCH', `/v1/accounts/${account}/grants/${created.body.grantId}`, { active: false })).status, 200);
      const started = Date.now();
      assert.ok(await eventually(async () => (await verify(token, peer.url)).code === 'revoked', 1000), 'the peer refuses the token within a second');
      const took = Date.now() - started;
      const refused = await postForm(`${peer.url}/oauth/token`, { grant_type: 'client_credentials', resource }, { authorization: basic(key.clientId, secret) });
      assert.deepEqual([refused.status, refused.body.error], [400, 'invalid_target'], 'and gives no new token for the account');
      assert.ok(took < 1000, `took ${took} ms`);
    } finally {
      await peer.close();
    }
    const later = await startPeer(kp);
    try {
      assert.deepEqual(await verify(token, later.url), { valid: false, code: 'revoked' });
    } finally {
      await later.close();
    }
  });

  test('revocations survive a restart: a node starting later knows them', async () => {
    const { key, secret } = await createKey(kp.api, account);
    const token = await accessToken(kp, key.clientId, secret);
    await revoke({ token }, { authorization: basic(key.clientId, secret) });
    const later = await startPeer(kp);
    try {
      assert.deepEqual(await verify(token, later.url), { valid: false, code: 'revoked' });
    } finally {
      await later.close();
    }
  });
});
