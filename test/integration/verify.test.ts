import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { before, test } from 'node:test';
import { generateKeyString } from '../../src/domain/key-strings.js';
import { createAccount, createKey, describeEachStore } from '../helpers/keyport.js';
import { accessToken, postForm } from '../helpers/oauth.js';

describeEachStore('POST /v1/verify and GET /v1/whoami', (kp) => {
  let account: string;
  before(async () => {
    account = await createAccount(kp.api);
  });

  const verify = async (body: Record<string, unknown>) => {
    const res = await kp.api('POST', '/v1/verify', body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const tokenKey = (body: Record<string, unknown> = {}) =>
    createKey(kp.api, account, { credentialType: 'token', active: true, scopes: ['product.read', 'cart.read'], ...body });

  test('a valid token key: account, environment, key id, scopes, roles, channel and expiry', async () => {
    const expiresAt = new Date(kp.clock.now() + 86_400_000).toISOString();
    const { key, secret } = await tokenKey({ environment: 'production', roles: [{ definition: 'pricing', level: 'viewer' }], channel: 'retail', expiresAt });
    assert.deepEqual(await verify({ key: secret }), {
      valid: true,
      code: 'valid',
      keyId: key.id,
      account,
      environment: 'production',
      scopes: ['product.read', 'price.read', 'cart.read'],
      roles: [{ definition: 'pricing', level: 'viewer' }],
      channel: 'retail',
      expiresAt,
      meta: null,
      externalId: null,
    });
    // Either field takes either credential.
    assert.equal((await verify({ token: secret })).valid, true);
    assert.equal((await verify({ key: secret, environment: 'production', scopes: ['price.read', 'cart.read'] })).valid, true);
  });

  test('stable reason codes: malformed, unknown, inactive, expired, insufficient_scope', async () => {
    const { key, secret } = await tokenKey();
    const mistyped = secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a');
    for (const value of [mistyped, secret.slice(0, -3), 'hello', `${secret}x`, 'kp_test_' + 'A'.repeat(39), 'a.b.c', 'eyJ.eyJ.sig'])
      assert.deepEqual(await verify({ key: value }), { valid: false, code: 'malformed' }, value);
    const clientSecret = (await createKey(kp.api, account)).secret;
    assert.deepEqual(await verify({ key: clientSecret }), { valid: false, code: 'malformed' }, 'a client secret is not a token key');
    assert.deepEqual(await verify({ key: generateKeyString('token', 'sandbox') }), { valid: false, code: 'unknown' });
    assert.deepEqual(await verify({ key: secret, scopes: ['product.read', 'order.write'] }), { valid: false, code: 'insufficient_scope' });

    await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { active: false });
    assert.deepEqual(await verify({ key: secret }), { valid: false, code: 'inactive' }, 'switched off: refused at once');
    await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { active: true, expiresAt: new Date(kp.clock.now() + 60_000).toISOString() });
    assert.equal((await verify({ key: secret })).valid, true);
    kp.clock.advance(60_000);
    assert.deepEqual(await verify({ key: secret }), { valid: false, code: 'expired' });
  });

  test('deleting, regenerating and resetting a token key take effect at once; a previous secret only during its grace period', async () => {
    const { key, secret } = await tokenKey();
    const path = `/v1/accounts/${account}/keys/${key.id}`;
    assert.equal((await verify({ key: secret })).valid, true);
    const reset = await kp.api('POST', `${path}/reset-secret`, { confirm: true, previousSecretValidFor: 30 });
    assert.equal((await verify({ key: secret })).valid, true, 'previous secret in its grace period');
    assert.equal((await verify({ key: reset.body.secret })).valid, true);
    kp.clock.advance(30_000);
    assert.deepEqual(await verify({ key: secret }), { valid: false, code: 'expired' });
    const regen = await kp.api('POST', `${path}/regenerate`, { confirm: true });
    assert.deepEqual(await verify({ key: reset.body.secret }), { valid: false, code: 'unknown' });
    assert.equal((await verify({ key: regen.body.secret })).keyId, key.id);
    await kp.api('DELETE', path);
    assert.deepEqual(await verify({ key: regen.body.secret }), { valid: false, code: 'unknown' });
  });

  test('access tokens: valid until they expire, with the token\'s scopes; a forged one is unknown', async () => {
    const { key, secret } = await createKey(kp.api, account, { scopes: ['product.read', 'order.read'], channel: 'b2b' });
    const token = await accessToken(kp, key.clientId, secret, { scope: 'order.read' });
    const exp = new Date((Math.floor(kp.clock.now() / 1000) + 3600) * 1000).toISOString();
    assert.deepEqual(await verify({ token, environment: 'sandbox', scopes: ['order.read'] }), {
      valid: true,
      code: 'valid',
      keyId: key.id,
      account,
      environment: 'sandbox',
      scopes: ['order.read'],
      roles: [],
      channel: 'b2b',
      expiresAt: exp,
      meta: null,
      externalId: null,
    });
    assert.deepEqual(await verify({ token, scopes: ['product.read'] }), { valid: false, code: 'insufficient_scope' }, 'narrowed away');
    const [h, p] = token.split('.');
    const forgedClaims = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), scope: 'product.read order.read' })).toString('base64url');
    assert.deepEqual(await verify({ token: `${h}.${forgedClaims}.${token.split('.')[2]}` }), { valid: false, code: 'unknown' });
    const none = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${p}.`;
    assert.deepEqual(await verify({ token: none }), { valid: false, code: 'malformed' });
    kp.clock.advance(3_600_000);
    assert.deepEqual(await verify({ token }), { valid: false, code: 'expired' });
  });

  test('the caller must authenticate; the request must name one credential', async () => {
    const { secret } = await tokenKey();
    const anonymous = await kp.as(null)('POST', '/v1/verify', { key: secret });
    assert.deepEqual([anonymous.status, anonymous.body.code], [401, 'unauthenticated']);
    assert.equal(anonymous.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const wrong = await kp.as('not-a-real-token-0123456789')('POST', '/v1/verify', { key: secret });
    assert.deepEqual([wrong.status, wrong.body.code], [401, 'unauthenticated']);
    const asItself = await kp.as(secret)('POST', '/v1/verify', { key: secret });
    assert.equal(asItself.status, 401, 'a key does not authorize verification calls');
    for (const [body, pointer] of [
      [{}, '/key'],
      [{ key: secret, token: secret }, '/token'],
      [{ key: secret, environment: 'staging' }, '/environment'],
      [{ key: secret, scopes: 'product.read' }, '/scopes'],
      [{ key: secret, extra: 1 }, '/extra'],
      [{ key: '' }, '/key'],
      [{ token: '' }, '/token'],
      [{ token: `eyJ${'a'.repeat(8190)}` }, '/token'],
    ] as const) {
      const res = await kp.api('POST', '/v1/verify', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.code, 'validation_failed');
      assert.ok(res.body.errors.some((e: any) => e.pointer === pointer), `${JSON.stringify(res.body.errors)} names ${pointer}`);
    }
  });

  test("a gateway's service token verifies its account's credentials only (403 elsewhere), and introspects them", async () => {
    const other = await createAccount(kp.api);
    const gateway = kp.as((await kp.api('POST', `/v1/accounts/${account}/service-tokens`, { name: 'Shop gateway' })).body.token);
    const mine = await tokenKey();
    const theirs = await createKey(kp.api, other, { credentialType: 'token', active: true });
    assert.equal((await gateway('POST', '/v1/verify', { key: mine.secret })).body.valid, true);
    const refused = await gateway('POST', '/v1/verify', { key: theirs.secret });
    assert.deepEqual([refused.status, refused.body.code], [403, 'forbidden']);
    assert.equal(refused.body.detail, "Verifying this credential needs the 'keys.verify' permission on the account it belongs to.");
    assert.equal(JSON.stringify(refused.body).includes(other), false, 'the account is not named');
    assert.deepEqual((await gateway('POST', '/v1/verify', { key: generateKeyString('token', 'sandbox') })).body, { valid: false, code: 'unknown' });

    const client = await createKey(kp.api, account);
    const token = await accessToken(kp, client.key.clientId, client.secret);
    const otherClient = await createKey(kp.api, other);
    const otherToken = await accessToken(kp, otherClient.key.clientId, otherClient.secret);
    const gatewayToken = (await kp.api('POST', `/v1/accounts/${account}/service-tokens`, { name: 'Introspecting gateway' })).body.token;
    const introspect = async (t: string) => (await postForm(`${kp.url}/oauth/introspect`, { token: t }, { authorization: `Bearer ${gatewayToken}` })).body;
    assert.equal((await introspect(token)).active, true);
    assert.deepEqual(await introspect(otherToken), { active: false }, "another account's token is not this gateway's to know");
    // Introspecting is not revoking: that needs keys.edit.
    const revoke = await postForm(`${kp.url}/oauth/revoke`, { token }, { authorization: `Bearer ${gatewayToken}` });
    assert.deepEqual([revoke.status, revoke.body.error], [403, 'insufficient_scope']);
    assert.equal((await verify({ token })).valid, true);
  });

  test('lastUsedAt is kept current without a storage write per request', async () => {
    const { key, secret } = await tokenKey();
    const client = await createKey(kp.api, account);
    await kp.services.tokens.usage.flush();
    for (let i = 0; i < 5; i++) {
      kp.clock.advance(1000);
      await verify({ key: secret });
    }
    const usedAt = new Date(kp.clock.now()).toISOString();
    kp.clock.advance(1000);
    const token = await accessToken(kp, client.key.clientId, client.secret);
    const tokenAt = new Date(kp.clock.now()).toISOString();
    const get = async (id: string) => (await kp.api('GET', `/v1/accounts/${account}/keys/${id}`)).body.lastUsedAt;
    assert.equal(await get(key.id), null, 'not written per request');
    await kp.services.tokens.usage.flush(); // what the background task does every few seconds
    assert.equal(await get(key.id), usedAt);
    assert.equal(await get(client.key.id), tokenAt, 'a token request is a use of the key');
    kp.clock.advance(1000);
    await verify({ token });
    await kp.services.tokens.usage.flush();
    assert.equal(await get(client.key.id), new Date(kp.clock.now()).toISOString(), 'verifying its token is a use too');
  });

  test('GET /v1/whoami answers what /v1/verify would, and 401 for an invalid credential', async () => {
    const { key, secret } = await tokenKey({ channel: 'pos' });
    const me = await kp.as(secret)('GET', '/v1/whoami');
    assert.equal(me.status, 200);
    assert.deepEqual(me.body, await verify({ key: secret }));
    const client = await createKey(kp.api, account, { scopes: ['order.read'] });
    const token = await accessToken(kp, client.key.clientId, client.secret);
    const viaToken = await kp.as(token)('GET', '/v1/whoami');
    assert.deepEqual([viaToken.status, viaToken.body.keyId, viaToken.body.scopes], [200, client.key.id, ['order.read']]);

    await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { active: false });
    const off = await kp.as(secret)('GET', '/v1/whoami');
    assert.equal(off.status, 401);
    assert.equal(off.headers.get('www-authenticate'), 'Bearer realm="keyport", error="invalid_token"');
    assert.deepEqual(off.body, {
      type: 'urn:keyport:problem:unauthenticated',
      code: 'unauthenticated',
      title: 'Authentication required',
      status: 401,
      detail: 'The credential belongs to a key that is switched off (inactive).',
      instance: `urn:keyport:request:${off.headers.get('x-request-id')}`,
    });
    assert.equal((await kp.as(null)('GET', '/v1/whoami')).status, 401);
    assert.equal((await kp.as('garbage')('GET', '/v1/whoami')).body.detail, 'The credential is not a well-formed token key or access token (malformed).');
  });

  test('the quick-start samples run for real', async () => {
    const client = await createKey(kp.api, account, { name: 'Quick start', scopes: ['product.read'] });
    const samples = (await kp.api('GET', `/v1/accounts/${account}/keys/${client.key.id}/quickstart`)).body.samples;
    const js = samples.find((s: any) => s.language === 'javascript').code;
    const out = await runNode(js, { CLIENT_SECRET: client.secret });
    assert.match(out, new RegExp(`keyId: '${client.key.id}'`));
    assert.match(out, /valid: true/);

    const token = await tokenKey();
    const tokenSamples = (await kp.api('GET', `/v1/accounts/${account}/keys/${token.key.id}/quickstart`)).body.samples;
    const tokenOut = await runNode(tokenSamples.find((s: any) => s.language === 'javascript').code, { API_KEY: token.secret });
    assert.match(tokenOut, new RegExp(`keyId: '${token.key.id}'`));
  });
});

/** Runs a JavaScript sample as an ES module in a fresh Node process; returns what it printed. */
function runNode(code: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { env: { PATH: process.env.PATH ?? '', ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (status) => (status === 0 ? resolve(out) : reject(new Error(`sample exited with ${status}: ${err}`))));
  });
}
