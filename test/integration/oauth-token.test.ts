import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { createAccount, createKey, describeEachStore } from '../helpers/keyport.js';
import { accessToken, basic, decodeJwt, postForm, requestToken } from '../helpers/oauth.js';

describeEachStore('OAuth token endpoint', (kp, store) => {
  let account: string;
  before(async () => {
    account = await createAccount(kp.api);
  });

  const verifyOffline = async (token: string, environment: string, audience = kp.url) => {
    const jwks = createLocalJWKSet((await kp.api('GET', '/.well-known/jwks.json')).body);
    return jwtVerify(token, jwks, {
      issuer: `${kp.url}/${environment}`,
      audience,
      typ: 'at+jwt',
      algorithms: ['ES256'],
      currentDate: new Date(kp.clock.now()),
    });
  };

  test('client_secret_basic: an RFC 9068 JWT with the key\'s account, environment, scopes, roles and channel; lifetime = accessTokenTtl', async () => {
    const acct = await createAccount(kp.api);
    await kp.api('PATCH', `/v1/accounts/${acct}/settings`, { accessTokenTtl: 900 });
    const { key, secret } = await createKey(kp.api, acct, {
      environment: 'production',
      scopes: ['order.read'],
      roles: [{ definition: 'pricing', level: 'viewer' }],
      channel: 'b2b',
    });
    const res = await requestToken(kp, key.clientId, secret);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('pragma'), 'no-cache');
    assert.deepEqual({ ...res.body, access_token: typeof res.body.access_token }, {
      access_token: 'string',
      token_type: 'Bearer',
      expires_in: 900,
      scope: 'price.read order.read',
    });

    const { payload, protectedHeader } = await verifyOffline(res.body.access_token, 'production');
    const jwks = (await kp.api('GET', '/.well-known/jwks.json')).body;
    assert.deepEqual(protectedHeader, { alg: 'ES256', typ: 'at+jwt', kid: jwks.keys[0].kid });
    const iat = Math.floor(kp.clock.now() / 1000);
    assert.deepEqual(payload, {
      iss: `${kp.url}/production`,
      sub: key.id,
      aud: kp.url,
      exp: iat + 900,
      iat,
      jti: payload.jti,
      client_id: key.clientId,
      scope: 'price.read order.read',
      account: acct,
      environment: 'production',
      roles: [{ definition: 'pricing', level: 'viewer' }],
      channel: 'b2b',
    });
    assert.match(String(payload.jti), /^[0-9a-f-]{36}$/);
    const second = decodeJwt(await accessToken(kp, key.clientId, secret)).claims;
    assert.notEqual(second.jti, payload.jti, 'every token has its own jti');
  });

  test('client_secret_post gives the same token; a key without a channel has no channel claim', async () => {
    const { key, secret } = await createKey(kp.api, account, { scopes: ['product.read', 'cart.read'] });
    const res = await postForm(`${kp.url}/oauth/token`, { grant_type: 'client_credentials', client_id: key.clientId, client_secret: secret });
    assert.equal(res.status, 200);
    assert.equal(res.body.scope, 'product.read cart.read');
    const { claims } = decodeJwt(res.body.access_token);
    assert.equal('channel' in claims, false);
    assert.equal(claims.iss, `${kp.url}/sandbox`);
    assert.equal(claims.environment, 'sandbox');
  });

  test('scope narrows the key\'s scopes and never widens them', async () => {
    const { key, secret } = await createKey(kp.api, account, { scopes: ['product.read', 'order.read'], roles: [{ definition: 'pricing', level: 'viewer' }] });
    const narrowed = await requestToken(kp, key.clientId, secret, { scope: 'order.read price.read' });
    assert.equal(narrowed.status, 200);
    assert.equal(narrowed.body.scope, 'price.read order.read');
    assert.equal(decodeJwt(narrowed.body.access_token).claims.scope, 'price.read order.read');

    for (const scope of ['order.write', 'product.read order.write', 'no.such.scope', 'product.read  order.read']) {
      const wider = await requestToken(kp, key.clientId, secret, { scope });
      assert.equal(wider.status, 400, scope);
      assert.equal(wider.body.error, 'invalid_scope', scope);
      assert.equal(wider.headers.get('cache-control'), 'no-store');
    }
    const refused = await requestToken(kp, key.clientId, secret, { scope: 'order.write' });
    assert.deepEqual(refused.body, {
      error: 'invalid_scope',
      error_description: "The key does not hold the scope 'order.write'; a token can only narrow the key's scopes.",
    });
    // RFC 6749 3.1: an empty parameter counts as absent.
    assert.equal((await requestToken(kp, key.clientId, secret, { scope: '' })).body.scope, 'product.read price.read order.read');
  });

  test('resource indicators (RFC 8707) set the audience', async () => {
    const { key, secret } = await createKey(kp.api, account);
    const one = await requestToken(kp, key.clientId, secret, { resource: 'https://api.shop.example/graphql' });
    assert.equal(decodeJwt(one.body.access_token).claims.aud, 'https://api.shop.example/graphql');
    await verifyOffline(one.body.access_token, 'sandbox', 'https://api.shop.example/graphql');
    const two = await requestToken(kp, key.clientId, secret, { resource: ['https://a.example', 'https://b.example'] });
    assert.deepEqual(decodeJwt(two.body.access_token).claims.aud, ['https://a.example', 'https://b.example']);
    const bad = await requestToken(kp, key.clientId, secret, { resource: 'not a uri' });
    assert.deepEqual([bad.status, bad.body.error], [400, 'invalid_target']);
    const fragment = await requestToken(kp, key.clientId, secret, { resource: 'https://a.example/#x' });
    assert.deepEqual([fragment.status, fragment.body.error], [400, 'invalid_target']);
  });

  test('every RFC 6749 error, with its status, an error body and Cache-Control: no-store', async () => {
    const { key, secret } = await createKey(kp.api, account);
    const url = `${kp.url}/oauth/token`;
    const auth = { authorization: basic(key.clientId, secret) };
    const grant = { grant_type: 'client_credentials' };
    const wrongSecret = secret.slice(0, -6) + 'AAAAAA';
    const cases: [string, Promise<any>, number, string][] = [
      ['no client authentication', postForm(url, grant), 401, 'invalid_client'],
      ['wrong secret', postForm(url, grant, { authorization: basic(key.clientId, wrongSecret) }), 401, 'invalid_client'],
      ['another well-formed secret', postForm(url, grant, { authorization: basic(key.clientId, (await createKey(kp.api, account)).secret) }), 401, 'invalid_client'],
      ['unknown client id', postForm(url, { ...grant, client_id: 'kpid_test_' + 'A'.repeat(39), client_secret: secret }), 401, 'invalid_client'],
      ['not Basic credentials', postForm(url, grant, { authorization: 'Basic !!!' }), 401, 'invalid_client'],
      ['a bearer token', postForm(url, grant, { authorization: 'Bearer abc' }), 401, 'invalid_client'],
      ['Basic without a colon', postForm(url, grant, { authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` }), 401, 'invalid_client'],
      ['two authentication methods', postForm(url, { ...grant, client_id: key.clientId, client_secret: secret }, auth), 400, 'invalid_request'],
      ['client_id differing from Basic', postForm(url, { ...grant, client_id: 'kpid_test_other' }, auth), 400, 'invalid_request'],
      ['no grant_type', postForm(url, {}, auth), 400, 'invalid_request'],
      ['grant_type twice', postForm(url, 'grant_type=client_credentials&grant_type=client_credentials', auth), 400, 'invalid_request'],
      ['scope twice', postForm(url, 'grant_type=client_credentials&scope=product.read&scope=product.read', auth), 400, 'invalid_request'],
      ['client_secret without client_id', postForm(url, { ...grant, client_secret: secret }), 400, 'invalid_request'],
      ['a JSON body', fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(grant) }), 400, 'invalid_request'],
      ['the password grant', postForm(url, { grant_type: 'password', username: 'a', password: 'b' }, auth), 400, 'unsupported_grant_type'],
      ['the authorization code grant', postForm(url, { grant_type: 'authorization_code', code: 'x' }, auth), 400, 'unsupported_grant_type'],
      ['a scope the key lacks', postForm(url, { ...grant, scope: 'iam.write' }, auth), 400, 'invalid_scope'],
    ];
    for (const [name, pending, status, error] of cases) {
      let res = await pending;
      if (res instanceof Response) res = { status: res.status, body: await res.json(), headers: res.headers };
      assert.equal(res.status, status, name);
      assert.equal(res.body.error, error, name);
      assert.equal(typeof res.body.error_description, 'string', name);
      assert.deepEqual(Object.keys(res.body).sort(), ['error', 'error_description'], name);
      assert.equal(res.headers.get('cache-control'), 'no-store', name);
      assert.equal(res.headers.get('pragma'), 'no-cache', name);
      if (status === 401) assert.equal(res.headers.get('www-authenticate'), 'Basic realm="keyport"', name);
    }
    const get = await fetch(url);
    assert.deepEqual([get.status, get.headers.get('allow'), get.headers.get('cache-control')], [405, 'POST', 'no-store']);
    assert.deepEqual(await get.json(), { error: 'invalid_request', error_description: 'Use POST.' });
    const unknown = await postForm(`${kp.url}/oauth/authorize`, grant);
    assert.deepEqual([unknown.status, unknown.body.error, unknown.headers.get('cache-control')], [404, 'invalid_request', 'no-store']);
  });

  test('an inactive, expired, deleted or regenerated key gets no token', async () => {
    const path = (id: string) => `/v1/accounts/${account}/keys/${id}`;

    const inactive = await createKey(kp.api, account, { active: false });
    const off = await requestToken(kp, inactive.key.clientId, inactive.secret);
    assert.deepEqual([off.status, off.body], [400, { error: 'invalid_grant', error_description: 'The key is switched off (inactive); an operator can switch it on.' }]);
    await kp.api('PATCH', path(inactive.key.id), { active: true });
    assert.equal((await requestToken(kp, inactive.key.clientId, inactive.secret)).status, 200, 'switched on: tokens again, at once');
    await kp.api('PATCH', path(inactive.key.id), { active: false });
    assert.equal((await requestToken(kp, inactive.key.clientId, inactive.secret)).status, 400, 'switched off again: no token, at once');

    const expiresAt = new Date(kp.clock.now() + 3_600_000).toISOString();
    const expiring = await createKey(kp.api, account, { expiresAt });
    assert.equal((await requestToken(kp, expiring.key.clientId, expiring.secret)).status, 200);
    kp.clock.advance(3_600_000);
    const expired = await requestToken(kp, expiring.key.clientId, expiring.secret);
    assert.deepEqual([expired.status, expired.body], [400, { error: 'invalid_grant', error_description: `The key expired at ${expiresAt}; reset its secret to renew it.` }]);

    const deleted = await createKey(kp.api, account);
    assert.equal((await requestToken(kp, deleted.key.clientId, deleted.secret)).status, 200);
    assert.equal((await kp.api('DELETE', path(deleted.key.id))).status, 204);
    const gone = await requestToken(kp, deleted.key.clientId, deleted.secret);
    assert.deepEqual([gone.status, gone.body.error], [401, 'invalid_client']);

    const regenerated = await createKey(kp.api, account);
    assert.equal((await requestToken(kp, regenerated.key.clientId, regenerated.secret)).status, 200);
    const regen = await kp.api('POST', `${path(regenerated.key.id)}/regenerate`, { confirm: true });
    assert.equal((await requestToken(kp, regenerated.key.clientId, regenerated.secret)).status, 401, 'old pair refused at once');
    assert.equal((await requestToken(kp, regen.body.key.clientId, regenerated.secret)).status, 401, 'new id, old secret refused');
    const fresh = await requestToken(kp, regen.body.key.clientId, regen.body.secret);
    assert.equal(fresh.status, 200);
    assert.equal(decodeJwt(fresh.body.access_token).claims.client_id, regen.body.key.clientId);

    // A provisioned key has no secret until it is reset.
    const provisioned = (await kp.api('POST', '/v1/accounts', { name: 'Onboarding' })).body.provisionedKeys[0];
    assert.equal((await postForm(`${kp.url}/oauth/token`, { grant_type: 'client_credentials', client_id: provisioned.clientId, client_secret: secretShaped(provisioned.clientId) })).status, 401);
  });

  test('a reset secret: the previous one works during its grace period only', async () => {
    const { key, secret } = await createKey(kp.api, account);
    const reset = await kp.api('POST', `/v1/accounts/${account}/keys/${key.id}/reset-secret`, { confirm: true, previousSecretValidFor: 60 });
    assert.equal((await requestToken(kp, key.clientId, secret)).status, 200, 'previous secret during grace');
    assert.equal((await requestToken(kp, key.clientId, reset.body.secret)).status, 200);
    kp.clock.advance(61_000);
    assert.equal((await requestToken(kp, key.clientId, secret)).status, 401, 'grace period over');
    assert.equal((await requestToken(kp, key.clientId, reset.body.secret)).status, 200);
  });

  test('a standard OAuth client (oauth4webapi) discovers, obtains, introspects and revokes tokens', async () => {
    const { key, secret } = await createKey(kp.api, account, { scopes: ['product.read', 'order.read'] });
    const issuer = new URL(`${kp.url}/sandbox`);
    const insecure = { [oauth.allowInsecureRequests]: true };
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    assert.equal(as.token_endpoint, `${kp.url}/oauth/token`);
    const client: oauth.Client = { client_id: key.clientId };
    const clientAuth = oauth.ClientSecretBasic(secret);

    const tokenResponse = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(as, client, clientAuth, new URLSearchParams({ scope: 'order.read' }), insecure),
    );
    assert.equal(tokenResponse.token_type, 'bearer');
    assert.equal(tokenResponse.scope, 'order.read');
    assert.equal(tokenResponse.expires_in, 3600);

    const introspected = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, clientAuth, tokenResponse.access_token, insecure),
    );
    const iat = Math.floor(kp.clock.now() / 1000);
    assert.deepEqual(introspected, {
      active: true,
      scope: 'order.read',
      client_id: key.clientId,
      token_type: 'Bearer',
      exp: iat + 3600,
      iat,
      sub: key.id,
      aud: kp.url,
      iss: `${kp.url}/sandbox`,
      jti: decodeJwt(tokenResponse.access_token).claims.jti,
      account,
      environment: 'sandbox',
      roles: [],
      channel: null,
    });

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, tokenResponse.access_token, insecure));
    const after = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, oauth.ClientSecretPost(secret), tokenResponse.access_token, insecure),
    );
    assert.deepEqual(after, { active: false });
    const verified = await kp.api('POST', '/v1/verify', { token: tokenResponse.access_token });
    assert.deepEqual(verified.body, { valid: false, code: 'revoked' });
  });
});

/** A well-formed client secret of the client id's environment that no key has. */
function secretShaped(clientId: string): string {
  return clientId.replace('kpid_', 'kpsk_');
}
