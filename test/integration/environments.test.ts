import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { createAccount, createKey, describeEachStore } from '../helpers/keyport.js';
import { accessToken, decodeJwt } from '../helpers/oauth.js';

describeEachStore('the wall between sandbox and production', (kp) => {
  let sandbox: { key: string; token: string };
  let production: { key: string; token: string };
  before(async () => {
    const account = await createAccount(kp.api);
    const credentials = async (environment: string) => {
      const tokenKey = await createKey(kp.api, account, { environment, credentialType: 'token', active: true });
      const client = await createKey(kp.api, account, { environment });
      return { key: tokenKey.secret, token: await accessToken(kp, client.key.clientId, client.secret) };
    };
    sandbox = await credentials('sandbox');
    production = await credentials('production');
  });

  test('/v1/verify refuses a credential of the other environment, both ways, keys and tokens alike', async () => {
    const verify = async (body: object) => (await kp.api('POST', '/v1/verify', body)).body;
    for (const [asked, other, same] of [['production', sandbox, production], ['sandbox', production, sandbox]] as const) {
      assert.deepEqual(await verify({ key: other.key, environment: asked }), { valid: false, code: 'wrong_environment' });
      assert.deepEqual(await verify({ token: other.token, environment: asked }), { valid: false, code: 'wrong_environment' });
      assert.equal((await verify({ key: same.key, environment: asked })).environment, asked);
      assert.equal((await verify({ token: same.token, environment: asked })).environment, asked);
    }
    assert.match(sandbox.key, /^kp_test_/);
    assert.match(production.key, /^kp_live_/);
  });

  test('each environment is its own issuer, so an offline resource server refuses the other\'s tokens (jose)', async () => {
    assert.equal(decodeJwt(sandbox.token).claims.iss, `${kp.url}/sandbox`);
    assert.equal(decodeJwt(production.token).claims.iss, `${kp.url}/production`);
    const metadata = (await kp.as(null)('GET', '/.well-known/oauth-authorization-server/production')).body;
    const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
    const options = { issuer: metadata.issuer, audience: kp.url, typ: 'at+jwt', algorithms: ['ES256'], currentDate: new Date(kp.clock.now()) };
    const { payload } = await jwtVerify(production.token, jwks, options);
    assert.equal(payload.environment, 'production');
    await assert.rejects(jwtVerify(sandbox.token, jwks, options), (err: any) => err.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && err.claim === 'iss');
  });

  test('the same with a standard resource-server library (oauth4webapi, RFC 9068 validation)', async () => {
    const issuer = new URL(`${kp.url}/production`);
    const insecure = { [oauth.allowInsecureRequests]: true };
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    const request = (token: string) => new Request('https://api.shop.example/orders', { headers: { authorization: `Bearer ${token}` } });
    const claims = await oauth.validateJwtAccessToken(as, request(production.token), kp.url, insecure);
    assert.equal(claims.environment, 'production');
    assert.equal(claims.iss, `${kp.url}/production`);
    await assert.rejects(oauth.validateJwtAccessToken(as, request(sandbox.token), kp.url, insecure), /iss/);
  });
});
