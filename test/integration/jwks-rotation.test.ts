import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { runCli } from '../helpers/cli.js';
import { apiClient, createAccount, createKey, describeEachStore, TEST_TOKEN } from '../helpers/keyport.js';
import { accessToken, basic, decodeJwt, eventually, postForm, startPeer } from '../helpers/oauth.js';

const DAY = 86_400_000;

describeEachStore('metadata, JWKS and signing-key rotation', (kp) => {
  let client: { key: any; secret: string };
  before(async () => {
    client = await createKey(kp.api, await createAccount(kp.api));
  });

  const jwks = async () => (await kp.api('GET', '/.well-known/jwks.json')).body;
  const kids = async () => (await jwks()).keys.map((k: any) => k.kid);
  const verifyOffline = async (token: string) =>
    jwtVerify(token, createLocalJWKSet(await jwks()), { issuer: `${kp.url}/sandbox`, audience: kp.url, currentDate: new Date(kp.clock.now()) });

  test('RFC 8414 metadata for the base URL and for each environment\'s issuer', async () => {
    const base = await kp.as(null)('GET', '/.well-known/oauth-authorization-server');
    assert.equal(base.status, 200);
    assert.equal(base.headers.get('cache-control'), 'public, max-age=60');
    const scopes = (await kp.api('GET', '/v1/catalog')).body.services.flatMap((s: any) => s.scopes.map((x: any) => x.id));
    const expected = (issuer: string) => ({
      issuer,
      token_endpoint: `${kp.url}/oauth/token`,
      jwks_uri: `${kp.url}/.well-known/jwks.json`,
      introspection_endpoint: `${kp.url}/oauth/introspect`,
      revocation_endpoint: `${kp.url}/oauth/revoke`,
      grant_types_supported: ['client_credentials'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      scopes_supported: scopes,
      service_documentation: `${kp.url}/docs`,
      environment_issuers: { sandbox: `${kp.url}/sandbox`, production: `${kp.url}/production` },
    });
    assert.deepEqual(base.body, expected(kp.url));
    for (const env of ['sandbox', 'production'])
      assert.deepEqual((await kp.as(null)('GET', `/.well-known/oauth-authorization-server/${env}`)).body, expected(`${kp.url}/${env}`));
    assert.equal((await kp.as(null)('GET', '/.well-known/oauth-authorization-server/staging')).status, 400);
  });

  test('the JWKS publishes P-256 public keys only; private keys are stored encrypted', async () => {
    const res = await kp.as(null)('GET', '/.well-known/jwks.json');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=60');
    assert.equal(res.body.keys.length, 1);
    const [key] = res.body.keys;
    assert.deepEqual(Object.keys(key).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    assert.deepEqual([key.kty, key.crv, key.alg, key.use], ['EC', 'P-256', 'ES256', 'sig']);
    const rows = await kp.services.store.repos.signingKeys.list();
    assert.equal(rows.length, 1);
    assert.match(rows[0]!.privateKey, /^v1\./, 'an encryption envelope');
    assert.equal(rows[0]!.privateKey.includes('PRIVATE KEY'), false);
    assert.match(kp.services.keyring.decryptText(rows[0]!.privateKey), /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(JSON.stringify((await kp.api('GET', '/v1/signing-keys')).body).includes('PRIVATE'), false);
  });

  test('rotation publishes the new key first, signs with it later, and keeps the old one until its tokens expired', async () => {
    const [oldKid] = await kids();
    const oldToken = await accessToken(kp, client.key.clientId, client.secret);
    const rotated = await kp.api('POST', '/v1/signing-keys/rotate', {});
    assert.equal(rotated.status, 201);
    assert.equal(rotated.body.status, 'next');
    assert.equal(rotated.body.activatesAt, new Date(kp.clock.now() + 300_000).toISOString());
    assert.deepEqual(await kids(), [rotated.body.kid, oldKid], 'published before it signs');
    assert.equal(decodeJwt(await accessToken(kp, client.key.clientId, client.secret)).header.kid, oldKid, 'still signing with the old key');

    kp.clock.advance(300_000);
    const newToken = await accessToken(kp, client.key.clientId, client.secret);
    assert.equal(decodeJwt(newToken).header.kid, rotated.body.kid);
    for (const token of [oldToken, newToken]) {
      await verifyOffline(token);
      assert.equal((await kp.api('POST', '/v1/verify', { token })).body.valid, true);
    }
    const listed = (await kp.api('GET', '/v1/signing-keys')).body.items;
    assert.deepEqual(listed.map((k: any) => [k.kid, k.status]), [[rotated.body.kid, 'current'], [oldKid, 'retired']]);
    assert.equal(listed[1].retiredAt, new Date(kp.clock.now()).toISOString());
    assert.equal(listed[1].publishedUntil, new Date(kp.clock.now() + DAY + 300_000).toISOString(), 'the longest token lifetime, plus a margin');

    kp.clock.advance(DAY);
    assert.deepEqual(await kids(), [rotated.body.kid, oldKid], 'still published just before');
    kp.clock.advance(300_000);
    assert.deepEqual(await kids(), [rotated.body.kid], 'gone once no token it signed can be valid');
    await kp.services.tokens.oauth.signingKeys.purge();
    assert.equal((await kp.services.store.repos.signingKeys.list()).length, 1, 'and purged from the store');
  });

  test('an immediate rotation signs with the new key at once; tokens signed before stay valid', async () => {
    const before = await accessToken(kp, client.key.clientId, client.secret);
    const rotated = await kp.api('POST', '/v1/signing-keys/rotate', { immediately: true });
    assert.equal(rotated.body.status, 'current');
    const after = await accessToken(kp, client.key.clientId, client.secret);
    assert.equal(decodeJwt(after).header.kid, rotated.body.kid);
    assert.equal((await kp.api('POST', '/v1/verify', { token: before })).body.valid, true);
    await verifyOffline(before);
  });

  test('withdrawing the signing key after a compromise unpublishes it and stops its tokens at once; a new key signs', async () => {
    const token = await accessToken(kp, client.key.clientId, client.secret);
    const kid = decodeJwt(token).header.kid;
    assert.equal((await kp.api('POST', '/v1/verify', { token })).body.valid, true, 'verified, and so cached');
    const introspect = async () =>
      (await postForm(`${kp.url}/oauth/introspect`, { token }, { authorization: basic(client.key.clientId, client.secret) })).body;
    assert.equal((await introspect()).active, true);

    assert.equal((await kp.as(null)('POST', `/v1/signing-keys/${kid}/withdraw`)).status, 401);
    const withdrawn = await kp.api('POST', `/v1/signing-keys/${kid}/withdraw`);
    assert.equal(withdrawn.status, 200);
    assert.equal(withdrawn.body.status, 'withdrawn');
    assert.equal(withdrawn.body.withdrawnAt, new Date(kp.clock.now()).toISOString());
    assert.equal(withdrawn.body.publishedUntil, withdrawn.body.withdrawnAt);

    assert.equal((await kids()).includes(kid), false, 'gone from the JWKS');
    assert.deepEqual((await kp.api('POST', '/v1/verify', { token })).body, { valid: false, code: 'revoked' });
    assert.deepEqual(await introspect(), { active: false });
    await assert.rejects(verifyOffline(token), 'a resource server with the new JWKS refuses it');

    const listed = (await kp.api('GET', '/v1/signing-keys')).body.items;
    const current = listed.find((k: any) => k.status === 'current');
    assert.ok(current && current.kid !== kid, 'a new key signs at once');
    const fresh = await accessToken(kp, client.key.clientId, client.secret);
    assert.equal(decodeJwt(fresh).header.kid, current.kid);
    assert.equal((await kp.api('POST', '/v1/verify', { token: fresh })).body.valid, true);
    await verifyOffline(fresh);

    kp.clock.advance(1000);
    const again = await kp.api('POST', `/v1/signing-keys/${kid}/withdraw`);
    assert.equal(again.status, 200);
    assert.equal(again.body.withdrawnAt, withdrawn.body.withdrawnAt, 'withdrawing twice changes nothing');
    const unknown = await kp.api('POST', '/v1/signing-keys/sig_nothere/withdraw');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'not_found');

    // Kept in the store (its tokens answer `revoked`, not `unknown`) until they would have expired.
    const stored = async () => (await kp.services.store.repos.signingKeys.list()).map((k) => k.id);
    await kp.services.tokens.oauth.signingKeys.purge();
    assert.ok((await stored()).includes(kid));
    kp.clock.advance(DAY + 300_000);
    await kp.services.tokens.oauth.signingKeys.purge();
    assert.equal((await stored()).includes(kid), false);
  });

  test('only the platform owner rotates; the CLI lists and rotates', async () => {
    assert.equal((await kp.as(null)('POST', '/v1/signing-keys/rotate', {})).status, 401);
    assert.equal((await kp.as(null)('GET', '/v1/signing-keys')).status, 401);
    assert.equal((await kp.api('POST', '/v1/signing-keys/rotate', { later: true })).status, 400);
    const env = { KEYPORT_URL: kp.url, KEYPORT_TOKEN: TEST_TOKEN };
    const rotated = await runCli(['signing-keys', 'rotate'], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    const kid = /^kid:\s+(sig_\S+)/m.exec(rotated.stdout)?.[1];
    assert.ok(kid, rotated.stdout);
    assert.match(rotated.stdout, /^status:\s+next$/m);
    const listed = await runCli(['signing-keys', 'list'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout.split('\n')[0]!, /^KID\s+STATUS\s+ALG\s+SIGNS FROM\s+PUBLISHED UNTIL$/);
    assert.match(listed.stdout.split('\n')[1]!, new RegExp(`^${kid}\\s+next\\s+ES256`));
    const json = JSON.parse((await runCli(['--json', 'signing-keys', 'list'], env)).stdout);
    assert.equal(json.items[0].kid, kid);

    const unconfirmed = await runCli(['signing-keys', 'withdraw', kid], env);
    assert.equal(unconfirmed.code, 2);
    assert.match(unconfirmed.stderr, /cannot be undone: add --yes/);
    assert.equal((await kp.api('GET', '/v1/signing-keys')).body.items[0].status, 'next', 'nothing changed');
    const withdrawn = await runCli(['signing-keys', 'withdraw', kid, '--yes'], env);
    assert.equal(withdrawn.code, 0, withdrawn.stderr);
    assert.match(withdrawn.stdout, /^status:\s+withdrawn$/m);
    assert.match(withdrawn.stdout, /Signing now with sig_/);
    assert.equal((await kids()).includes(kid), false);
    const missing = await runCli(['signing-keys', 'withdraw', 'sig_nothere', '--yes'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /sig_nothere/);
  });
});

describeEachStore('scheduled signing-key rotation across nodes', (kp) => {
  test('when due, exactly one node rotates and every node publishes and then signs with the new key', async () => {
    const peer = await startPeer(kp);
    try {
      const peerApi = apiClient(peer.url, TEST_TOKEN);
      const peerKids = async () => (await peerApi('GET', '/.well-known/jwks.json')).body.keys.map((k: any) => k.kid);
      const [first] = await peerKids();
      kp.clock.advance(3_600_000);
      assert.ok(await eventually(async () => (await peerKids()).length === 2, 3000), 'the peer publishes the new key');
      assert.ok(await eventually(async () => (await kp.api('GET', '/.well-known/jwks.json')).body.keys.length === 2, 3000));
      // Both nodes checked the schedule; the unique generation let only one of them add a key.
      await new Promise((r) => setTimeout(r, 1500));
      const stored = await kp.services.store.repos.signingKeys.list();
      assert.deepEqual(stored.map((k) => k.generation), [2, 1]);
      const [second] = await peerKids();
      assert.notEqual(second, first);

      const { key, secret } = await createKey(kp.api, await createAccount(kp.api));
      kp.clock.advance(60_000);
      const token = await (await fetch(`${peer.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${key.clientId}:${secret}`).toString('base64')}` },
        body: 'grant_type=client_credentials',
      })).json();
      assert.equal(decodeJwt(token.access_token).header.kid, second, 'the peer signs with the new key once it activates');
      assert.equal((await kp.api('POST', '/v1/verify', { token: token.access_token })).body.valid, true);
    } finally {
      await peer.close();
    }
  });

  test('a key withdrawn on one node stops its tokens on every node within a second', async () => {
    const peer = await startPeer(kp);
    try {
      const peerApi = apiClient(peer.url, TEST_TOKEN);
      const { key, secret } = await createKey(kp.api, await createAccount(kp.api));
      const token = await accessToken(kp, key.clientId, secret);
      assert.equal((await peerApi('POST', '/v1/verify', { token })).body.valid, true, 'the peer has verified and cached it');
      const { kid } = decodeJwt(token).header;
      assert.equal((await kp.api('POST', `/v1/signing-keys/${kid}/withdraw`)).status, 200);
      assert.ok(
        await eventually(async () => (await peerApi('POST', '/v1/verify', { token })).body.code === 'revoked', 1000),
        'the peer refuses it',
      );
      const peerKids = (await peerApi('GET', '/.well-known/jwks.json')).body.keys.map((k: any) => k.kid);
      assert.equal(peerKids.includes(kid), false);
    } finally {
      await peer.close();
    }
  });
}, { KEYPORT_SIGNING_KEY_ROTATION: '3600', KEYPORT_SIGNING_KEY_PREPUBLISH: '60' });
