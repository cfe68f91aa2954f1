import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { apiClient, createAccount, createKey, describeEachStore, TEST_TOKEN } from '../helpers/keyport.js';
import { accessToken, decodeJwt, postForm, requestToken } from '../helpers/oauth.js';
import { operatorToken } from '../helpers/operators.js';

const PRODUCT_VIEWER = { definition: 'product_data', level: 'viewer' };
const LOGISTICS_VIEWER = { definition: 'logistics', level: 'viewer' };
const PRICING_EDITOR = { definition: 'pricing', level: 'editor' };

describeEachStore('external keys: tokens for another account', (kp, store) => {
  /** The granting account. */
  let A: string;
  /** The account owning the keys. */
  let B: string;
  before(async () => {
    A = await createAccount(kp.api, { name: 'Account A' });
    B = await createAccount(kp.api, { name: 'Account B' });
  });

  const resourceOf = (account: string) => `urn:keyport:account:${account}`;
  const grant = async (key: string, roles: object[], account = A) => {
    const res = await kp.api('POST', `/v1/accounts/${account}/grants`, { key, roles });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  };
  const patchGrant = async (id: string, body: object) => {
    const res = await kp.api('PATCH', `/v1/accounts/${A}/grants/${id}`, body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const tokenForA = (k: { key: any; secret: string }, params: Record<string, string | string[]> = {}) =>
    requestToken(kp, k.key.clientId, k.secret, { resource: resourceOf(A), ...params });
  const verify = async (token: string, extra: object = {}, url = kp.url) => (await apiClient(url, TEST_TOKEN)('POST', '/v1/verify', { token, ...extra })).body;
  const introspect = async (token: string) => (await postForm(`${kp.url}/oauth/introspect`, { token }, { authorization: `Bearer ${TEST_TOKEN}` })).body;
  /** B's key: scopes of its own that no grant gives, a role and a channel that belong to B. */
  const keyOfB = (body: Record<string, unknown> = {}) =>
    createKey(kp.api, B, { name: 'Partner integration', scopes: ['order.read', 'order.write'], roles: [PRICING_EDITOR], channel: 'b2b', ...body });

  test("B's key gets a token FOR account A with the granted roles' scopes only; A's gateway verifies it for A", async () => {
    await kp.api('PATCH', `/v1/accounts/${A}/settings`, { accessTokenTtl: 600 });
    const b = await keyOfB();
    const created = await grant(b.key.clientId, [PRODUCT_VIEWER, LOGISTICS_VIEWER]);
    assert.deepEqual(created.grantedScopes, ['product.read', 'category.read', 'shipping.read', 'inventory.read']);

    const res = await tokenForA(b);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const scope = 'product.read category.read shipping.read inventory.read';
    assert.deepEqual({ ...res.body, access_token: typeof res.body.access_token }, { access_token: 'string', token_type: 'Bearer', expires_in: 600, scope });
    const { claims } = decodeJwt(res.body.access_token);
    const iat = Math.floor(kp.clock.now() / 1000);
    assert.deepEqual(claims, {
      iss: `${kp.url}/sandbox`,
      sub: b.key.id,
      aud: resourceOf(A),
      exp: iat + 600,
      iat,
      jti: claims.jti,
      client_id: b.key.clientId,
      scope,
      account: A,
      environment: 'sandbox',
      roles: [PRODUCT_VIEWER, LOGISTICS_VIEWER],
      grant_id: created.grantId,
      grant_version: Date.parse(created.updatedAt),
      key_account: B,
    });

    const token = res.body.access_token;
    assert.deepEqual(await verify(token), {
      valid: true,
      code: 'valid',
      keyId: b.key.id,
      account: A,
      environment: 'sandbox',
      scopes: ['product.read', 'category.read', 'shipping.read', 'inventory.read'],
      roles: [PRODUCT_VIEWER, LOGISTICS_VIEWER],
      channel: null,
      expiresAt: new Date((iat + 600) * 1000).toISOString(),
      grantId: created.grantId,
      keyAccount: B,
      meta: null,
      externalId: null,
    });
    assert.deepEqual(await verify(token, { scopes: ['order.read'] }), { valid: false, code: 'insufficient_scope' }, "B's own scopes do not reach A");
    assert.equal((await kp.as(token)('GET', '/v1/whoami')).body.account, A);
    assert.deepEqual(await introspect(token), {
      active: true,
      scope,
      client_id: b.key.clientId,
      token_type: 'Bearer',
      exp: iat + 600,
      iat,
      sub: b.key.id,
      aud: resourceOf(A),
      iss: `${kp.url}/sandbox`,
      jti: claims.jti,
      grant_id: created.grantId,
      key_account: B,
      account: A,
      environment: 'sandbox',
      roles: [PRODUCT_VIEWER, LOGISTICS_VIEWER],
      channel: null,
    });

    // The key's tokens for its own account are unchanged, with or without naming that account.
    const ownToken = await accessToken(kp, b.key.clientId, b.secret);
    const own = decodeJwt(ownToken).claims;
    const ownAnswer = await verify(ownToken);
    assert.deepEqual([ownAnswer.account, 'grantId' in ownAnswer, 'keyAccount' in ownAnswer], [B, false, false]);
    assert.deepEqual([own.account, own.scope, own.aud, own.channel, 'grant_id' in own], [B, 'price.read price.write order.read order.write', kp.url, 'b2b', false]);
    const named = decodeJwt(await accessToken(kp, b.key.clientId, b.secret, { resource: resourceOf(B) })).claims;
    assert.deepEqual([named.account, named.scope, named.aud, 'grant_id' in named], [B, own.scope, resourceOf(B), false]);
  });

  test('a scope parameter narrows the granted scopes and never widens them', async () => {
    const b = await keyOfB();
    await grant(b.key.id, [PRODUCT_VIEWER]);
    const narrowed = await tokenForA(b, { scope: 'category.read' });
    assert.deepEqual([narrowed.status, narrowed.body.scope], [200, 'category.read']);
    assert.deepEqual((await verify(narrowed.body.access_token)).scopes, ['category.read']);
    for (const [scope, missing] of [
      ['order.read', "the scope 'order.read'"],
      ['product.read product.write price.read', "the scopes 'product.write', 'price.read'"],
    ] as const) {
      const wider = await tokenForA(b, { scope });
      assert.deepEqual([wider.status, wider.body], [
        400,
        { error: 'invalid_scope', error_description: `The grant of account '${A}' does not give ${missing}; a token for another account can only narrow the granted scopes.` },
      ], scope);
    }
  });

  test('no active grant, a foreign resource URI or several resources: invalid_target', async () => {
    const b = await keyOfB();
    const noGrant = await tokenForA(b);
    assert.deepEqual([noGrant.status, noGrant.body], [
      400,
      { error: 'invalid_target', error_description: `The key has no active grant in account '${A}': that account must grant it roles (POST /v1/accounts/${A}/grants), and the grant must be switched on.` },
    ]);
    assert.equal(noGrant.headers.get('cache-control'), 'no-store');
    const unknown = await requestToken(kp, b.key.clientId, b.secret, { resource: resourceOf('acct_doesnotexist') });
    assert.deepEqual([unknown.status, unknown.body.error], [400, 'invalid_target'], 'an unknown account answers like one without a grant');

    await grant(b.key.id, [PRODUCT_VIEWER]);
    for (const [resource, description] of [
      ['urn:keyport:shop:123', "The resource 'urn:keyport:shop:123' is not one Keyport knows; name an account as urn:keyport:account:<account id>."],
      ['urn:keyport:account:', "The resource 'urn:keyport:account:' is not one Keyport knows; name an account as urn:keyport:account:<account id>."],
      [[resourceOf(A), 'https://api.example.com'], 'A token for an account (urn:keyport:account:<account id>) is for that account alone: send it as the only resource.'],
      [[resourceOf(A), resourceOf(B)], 'A token for an account (urn:keyport:account:<account id>) is for that account alone: send it as the only resource.'],
    ] as const) {
      const res = await requestToken(kp, b.key.clientId, b.secret, { resource: resource as string | string[] });
      assert.deepEqual([res.status, res.body], [400, { error: 'invalid_target', error_description: description }], String(resource));
    }
  });

  test("a grant is for one key, so for that key's environment: A's resources of that environment only", async () => {
    const sandbox = await keyOfB();
    const production = await keyOfB({ environment: 'production' });
    await grant(sandbox.key.id, [PRODUCT_VIEWER]);
    const refused = await tokenForA(production);
    assert.deepEqual([refused.status, refused.body.error], [400, 'invalid_target'], "the grant of B's sandbox key does not cover B's production key");

    const token = await accessToken(kp, sandbox.key.clientId, sandbox.secret, { resource: resourceOf(A) });
    assert.equal(decodeJwt(token).claims.iss, `${kp.url}/sandbox`);
    assert.deepEqual(await verify(token, { environment: 'production' }), { valid: false, code: 'wrong_environment' }, 'never accepted where production is expected');
    assert.deepEqual((await verify(token, { environment: 'sandbox' })).account, A);

    await grant(production.key.id, [LOGISTICS_VIEWER]);
    const prod = await accessToken(kp, production.key.clientId, production.secret, { resource: resourceOf(A) });
    const { claims } = decodeJwt(prod);
    assert.deepEqual([claims.iss, claims.environment, claims.account, claims.scope], [`${kp.url}/production`, 'production', A, 'shipping.read inventory.read']);
    assert.deepEqual(await verify(prod, { environment: 'sandbox' }), { valid: false, code: 'wrong_environment' });
  });

  test('a grant names a client_secret key of another account; anything else is refused with nothing stored', async () => {
    const acct = await createAccount(kp.api, { name: 'Account A3' });
    const tokenKey = await keyOfB({ name: 'Token key', credentialType: 'token' });
    const refused = await kp.api('POST', `/v1/accounts/${acct}/grants`, { key: tokenKey.key.id, roles: [PRODUCT_VIEWER] });
    assert.deepEqual([refused.status, refused.body.errors], [400, [{ pointer: '/key', detail: 'is a token key: only client_secret keys can obtain tokens for another account' }]]);
    const own = await createKey(kp.api, acct, { name: 'Own key' });
    assert.equal((await kp.api('POST', `/v1/accounts/${acct}/grants`, { key: own.key.id, roles: [PRODUCT_VIEWER] })).status, 400);
    assert.equal((await kp.api('POST', `/v1/accounts/${acct}/grants`, { key: 'key_unknown', roles: [PRODUCT_VIEWER] })).status, 404);
    assert.deepEqual((await kp.api('GET', `/v1/accounts/${acct}/external-keys`)).body, { items: [] });
  });

  test("A lists B's key under external keys, never its secret, and can neither see nor renew it as a key", async () => {
    const acct = await createAccount(kp.api, { name: 'Account A2' });
    const b = await keyOfB({ name: 'Listed partner key' });
    const created = await grant(b.key.clientId, [PRODUCT_VIEWER], acct);
    const listed = await kp.api('GET', `/v1/accounts/${acct}/external-keys`);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body, {
      items: [
        {
          grantId: created.grantId,
          active: true,
          roles: [PRODUCT_VIEWER],
          grantedScopes: ['product.read', 'category.read'],
          createdAt: created.createdAt,
          updatedAt: created.updatedAt,
          createdBy: created.createdBy,
          key: { id: b.key.id, accountId: B, name: 'Listed partner key', environment: 'sandbox', credentialType: 'client_secret', clientId: b.key.clientId, active: true },
        },
      ],
    });
    assert.doesNotMatch(JSON.stringify(listed.body), /"[^"]*(secret|hash)[^"]*":/i, 'no field holds a secret or its hash');
    assert.equal(JSON.stringify(listed.body).includes(b.secret), false);

    const keyPath = `/v1/accounts/${acct}/keys/${b.key.id}`;
    for (const [method, path, body] of [
      ['GET', keyPath],
      ['PATCH', keyPath, { active: false }],
      ['POST', `${keyPath}/reset-secret`, { confirm: true }],
      ['POST', `${keyPath}/regenerate`, { confirm: true }],
      ['POST', `${keyPath}/verify-secret`, { secret: b.secret }],
      ['DELETE', keyPath],
    ] as const) {
      const res = await kp.api(method, path, body);
      assert.deepEqual([res.status, res.body.code], [404, 'not_found'], `${method} ${path}`);
    }
    assert.equal((await kp.api('GET', `/v1/accounts/${acct}/keys`)).body.items.length, 0, "B's key is not one of A's keys");
    const still = await requestToken(kp, b.key.clientId, b.secret, { resource: resourceOf(acct) });
    assert.equal(still.status, 200, "B's secret and key are untouched");
    assert.deepEqual((await kp.api('GET', `/v1/accounts/${B}/keys/${b.key.id}`)).body.clientId, b.key.clientId);
  });

  test('switching a grant off stops its tokens at once; switched on again, only new tokens work', async () => {
    const b = await keyOfB();
    const created = await grant(b.key.id, [PRODUCT_VIEWER]);
    const first = await accessToken(kp, b.key.clientId, b.secret, { resource: resourceOf(A) });
    const ownToken = await accessToken(kp, b.key.clientId, b.secret);
    assert.equal((await verify(first)).valid, true);

    const off = await patchGrant(created.grantId, { active: false });
    assert.equal(off.active, false);
    assert.deepEqual(await verify(first), { valid: false, code: 'revoked' });
    assert.deepEqual(await introspect(first), { active: false });
    const whoami = await kp.as(first)('GET', '/v1/whoami');
    assert.deepEqual([whoami.status, whoami.body.detail], [401, 'The credential has been revoked (revoked).']);
    const refused = await tokenForA(b);
    assert.deepEqual([refused.status, refused.body.error], [400, 'invalid_target']);
    assert.equal((await verify(ownToken)).valid, true, "the key's tokens for its own account are not affected");
    assert.deepEqual((await kp.api('GET', `/v1/accounts/${A}/external-keys`)).body.items.find((i: any) => i.grantId === created.grantId).active, false);

    // Switched on again within the same millisecond: new tokens are valid, the old one stays dead.
    await patchGrant(created.grantId, { active: true });
    const second = await accessToken(kp, b.key.clientId, b.secret, { resource: resourceOf(A) });
    assert.equal((await verify(second)).valid, true);
    assert.deepEqual(await verify(first), { valid: false, code: 'revoked' });

    // New roles stop the tokens carrying the old ones; saving the grant unchanged stops nothing.
    await patchGrant(created.grantId, { roles: [LOGISTICS_VIEWER] });
    assert.deepEqual(await verify(second), { valid: false, code: 'revoked' });
    const third = await accessToken(kp, b.key.clientId, b.secret, { resource: resourceOf(A) });
    assert.deepEqual((await verify(third)).scopes, ['shipping.read', 'inventory.read']);
    await patchGrant(created.grantId, { active: true, roles: [LOGISTICS_VIEWER] });
    assert.equal((await verify(third)).valid, true);
  });

  test('removing a grant stops its tokens at once; a new grant gives new tokens only', async () => {
    const b = await keyOfB();
    const created = await grant(b.key.id, [PRODUCT_VIEWER]);
    const token = await accessToken(kp, b.key.clientId, b.secret, { resource: resourceOf(A) });
    const removed = await kp.api('DELETE', `/v1/accounts/${A}/grants/${created.grantId}`);
    assert.equal(removed.status, 204);
    assert.deepEqual(await verify(token), { valid: false, code: 'revoked' });
    assert.deepEqual(await introspect(token), { active: false });
    const refused = await tokenForA(b);
    assert.deepEqual([refused.status, refused.body.error], [400, 'invalid_target']);
    const listed = (await kp.api('GET', `/v1/accounts/${A}/external-keys`)).body.items;
    assert.equal(listed.some((i: any) => i.grantId === created.grantId), false);

    await grant(b.key.id, [PRODUCT_VIEWER]);
    const fresh = await accessToken(kp, b.key.clientId, b.secret, { resource: resourceOf(A) });
    assert.equal((await verify(fresh)).valid, true);
    assert.deepEqual(await verify(token), { valid: false, code: 'revoked' });
  });

  test("deleting B's key removes its grants, and its tokens for A stop with them", async () => {
    const b = await keyOfB();
    await grant(b.key.id, [PRODUCT_VIEWER]);
    const forA = await accessToken(kp, b.key.clientId, b.secret, { resource: resourceOf(A) });
    const ownToken = await accessToken(kp, b.key.clientId, b.secret);
    assert.equal((await kp.api('DELETE', `/v1/accounts/${B}/keys/${b.key.id}`)).status, 204);
    assert.deepEqual(await verify(forA), { valid: false, code: 'revoked' });
    assert.equal((await verify(ownToken)).valid, true, 'tokens for its own account live on unless revokeTokens (as for any key)');
    const listed = (await kp.api('GET', `/v1/accounts/${A}/external-keys`)).body.items;
    assert.equal(listed.some((i: any) => i.key.id === b.key.id), false);
  });

  test("the key's rate limit counts its tokens for other accounts and their verifications", async () => {
    // At the start of a minute, so the 60 s window is predictable.
    kp.clock.advance(60_000 - (kp.clock.now() % 60_000));
    const b = await keyOfB({ rateLimit: { limit: 3, windowSeconds: 60 } });
    await grant(b.key.id, [PRODUCT_VIEWER]);
    const token = await accessToken(kp, b.key.clientId, b.secret, { resource: resourceOf(A) });
    assert.equal((await verify(token)).valid, true);
    assert.equal((await verify(token)).valid, true);
    assert.deepEqual(await verify(token), { valid: false, code: 'rate_limited' });
    const slowed = await tokenForA(b);
    assert.deepEqual([slowed.status, slowed.body.error], [429, 'slow_down']);
  });

  test("grants need keys.edit on the granting account; verifying a token for A needs keys.verify on A", async () => {
    const b = await keyOfB();
    const viewerRole = await kp.api('POST', `/v1/accounts/${A}/roles`, { name: 'Key viewers', permissions: ['keys.view'] });
    assert.equal(viewerRole.status, 201, JSON.stringify(viewerRole.body));
    const viewer = kp.as((await operatorToken(kp, A, 'viewer@a.example', viewerRole.body.id)).token);
    const denied = await viewer('POST', `/v1/accounts/${A}/grants`, { key: b.key.id, roles: [PRODUCT_VIEWER] });
    assert.equal(denied.status, 403);
    assert.match(denied.body.detail, /'keys\.edit'/);
    assert.equal((await viewer('GET', `/v1/accounts/${A}/external-keys`)).status, 200, 'listing needs keys.view only');
    const created = await grant(b.key.id, [PRODUCT_VIEWER]);
    const patched = await viewer('PATCH', `/v1/accounts/${A}/grants/${created.grantId}`, { active: false });
    assert.equal(patched.status, 403);

    const token = await accessToken(kp, b.key.clientId, b.secret, { resource: resourceOf(A) });
    const gatewayOfB = kp.as((await kp.api('POST', `/v1/accounts/${B}/service-tokens`, { name: 'B gateway' })).body.token);
    const gatewayOfA = kp.as((await kp.api('POST', `/v1/accounts/${A}/service-tokens`, { name: 'A gateway' })).body.token);
    const refused = await gatewayOfB('POST', '/v1/verify', { token });
    assert.equal(refused.status, 403, "B's gateway may not verify tokens for A");
    assert.match(refused.body.detail, /needs the 'keys.verify' permission on the account it belongs to/);
    assert.ok(!JSON.stringify(refused.body).includes(A), 'the refusal does not name the account the token belongs to');
    const ok = await gatewayOfA('POST', '/v1/verify', { token });
    assert.deepEqual([ok.status, ok.body.valid, ok.body.account], [200, true, A]);
  });
});
