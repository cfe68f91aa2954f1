import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiClient, createAccount, createKey, describeEachStore, startTestKeyport, type TestKeyport } from '../helpers/keyport.js';
import { basic, decodeJwt, postForm } from '../helpers/oauth.js';
import { operatorToken, PASSWORD, signIn } from '../helpers/operators.js';
import { killHard, outputMatching, startProcess } from '../helpers/process.js';

/** What an outside probe found: tokens that outlive their makers, cookies and issuers, caching, permissions. */
describeEachStore(
  'hardening',
  (kp) => {
    const unique = (what: string) => `${what}-${randomBytes(4).toString('hex')}@example.com`;

    test('a token made with an expiring token does not outlive it', async () => {
      const account = await createAccount(kp.api);
      const { token } = await operatorToken(kp, account, unique('owner'), 'owner');
      const me = apiClient(kp.url, token);
      const expiresAt = new Date(kp.clock.now() + 60_000).toISOString();
      const short = await me('POST', '/v1/me/tokens', { name: 'short', expiresAt });
      assert.equal(short.status, 201);
      const shortApi = apiClient(kp.url, short.body.token);
      const never = await shortApi('POST', '/v1/me/tokens', { name: 'child', expiresAt: null });
      assert.equal(never.status, 201);
      assert.equal(never.body.expiresAt, expiresAt, 'it ends with the token that made it');
      const unset = await shortApi('POST', '/v1/me/tokens', { name: 'child 2' });
      assert.equal(unset.body.expiresAt, expiresAt);
      const later = await shortApi('POST', '/v1/me/tokens', { name: 'child 3', expiresAt: new Date(kp.clock.now() + 3600_000).toISOString() });
      assert.equal(later.status, 400);
      assert.equal(later.body.errors[0].pointer, '/expiresAt');
      const sooner = new Date(kp.clock.now() + 30_000).toISOString();
      assert.equal((await shortApi('POST', '/v1/me/tokens', { name: 'child 4', expiresAt: sooner })).body.expiresAt, sooner);
      const service = await shortApi('POST', `/v1/accounts/${account}/service-tokens`, { name: 'gateway' });
      assert.equal(service.status, 201);
      assert.equal(service.body.expiresAt, expiresAt, 'a service token made with it too');
      // Once the maker has expired, so has what it made.
      kp.clock.advance(61_000);
      kp.services.auth.invalidate();
      assert.equal((await apiClient(kp.url, never.body.token)('GET', '/v1/me')).status, 401);
      assert.equal((await me('GET', '/v1/me')).status, 200, 'a token without expiry is not affected');
    });

    test('secret-bearing answers are not stored by caches', async () => {
      const account = await createAccount(kp.api);
      await kp.api('PATCH', `/v1/accounts/${account}/settings`, { secretReveal: 'permitted' });
      const created = await kp.api('POST', `/v1/accounts/${account}/keys`, { name: 'k', environment: 'sandbox', kind: 'custom', credentialType: 'client_secret', scopes: ['product.read'] });
      const keyId = created.body.key.id;
      const email = unique('cache');
      await kp.api('POST', `/v1/accounts/${account}/members`, { email, role: 'owner', password: PASSWORD });
      const session = await fetch(`${kp.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
      const cookie = session.headers.get('set-cookie')!.split(';')[0]!;
      const answers: [string, { status: number; headers: Headers }][] = [
        ['create key', created],
        ['reset secret', await kp.api('POST', `/v1/accounts/${account}/keys/${keyId}/reset-secret`, { confirm: true })],
        ['regenerate', await kp.api('POST', `/v1/accounts/${account}/keys/${keyId}/regenerate`, { confirm: true })],
        ['reveal', await kp.api('POST', `/v1/accounts/${account}/keys/${keyId}/reveal`)],
        ['sign in (CSRF token)', session],
        ['session (CSRF token)', await apiClient(kp.url, null)('GET', '/v1/session', undefined, { cookie })],
        ['personal token', await apiClient(kp.url, null)('POST', '/v1/me/tokens', { name: 't' }, { cookie, 'x-csrf-token': (await session.json()).csrfToken })],
        ['service token', await kp.api('POST', `/v1/accounts/${account}/service-tokens`, { name: 'gw' })],
        ['platform service token', await kp.api('POST', '/v1/service-tokens', { name: 'gw' })],
        ['a refused key creation', await kp.api('POST', `/v1/accounts/${account}/keys`, { name: '' })],
      ];
      for (const [what, res] of answers) {
        assert.ok(res.status < 300 || what.startsWith('a refused'), `${what}: ${res.status}`);
        assert.equal(res.headers.get('cache-control'), 'no-store', what);
      }
    });

    test('credentials in the query string of /oauth/* are refused with an RFC 6749 error', async () => {
      const account = await createAccount(kp.api);
      const { key, secret } = await createKey(kp.api, account, { active: true });
      for (const path of [`/oauth/token?client_secret=${secret}`, `/oauth/introspect?token=abc`, `/oauth/revoke?access_token=abc`]) {
        const res = await postForm(`${kp.url}${path}`, { grant_type: 'client_credentials', token: 'x' }, { authorization: basic(key.clientId, secret) });
        assert.equal(res.status, 400, path);
        assert.equal(res.body.error, 'invalid_request', path);
        assert.match(res.body.error_description, /must not be sent in the URL/);
        assert.equal(res.headers.get('cache-control'), 'no-store');
      }
      // Harmless parameters are no reason to refuse.
      assert.equal((await postForm(`${kp.url}/oauth/token?trace=1`, { grant_type: 'client_credentials' }, { authorization: basic(key.clientId, secret) })).status, 200);
    });

    test('a service token, or a role with keys.verify alone, lists no accounts', async () => {
      const account = await createAccount(kp.api, { name: 'Secret shop name' });
      const service = await kp.api('POST', `/v1/accounts/${account}/service-tokens`, { name: 'gw' });
      const asService = await apiClient(kp.url, service.body.token)('GET', '/v1/accounts');
      assert.equal(asService.status, 200);
      assert.deepEqual(asService.body.items, []);
      const role = await kp.api('POST', `/v1/accounts/${account}/roles`, { name: 'verifier', permissions: ['keys.verify'] });
      assert.equal(role.status, 201);
      const { token: verifier } = await operatorToken(kp, account, unique('verifier'), role.body.id);
      assert.deepEqual((await apiClient(kp.url, verifier)('GET', '/v1/accounts')).body.items, []);
      const { token: viewer } = await operatorToken(kp, account, unique('viewer'), 'viewer');
      assert.deepEqual((await apiClient(kp.url, viewer)('GET', '/v1/accounts')).body.items.map((a: any) => a.id), [account]);
    });

    test('sign-out needs the CSRF token; CSRF tokens of any length are refused; a malformed cookie is no session', async () => {
      const account = await createAccount(kp.api);
      const email = unique('csrf');
      await kp.api('POST', `/v1/accounts/${account}/members`, { email, role: 'viewer', password: PASSWORD });
      const session = await signIn(kp.url, email);
      const anon = apiClient(kp.url, null);
      for (const forged of ['', 'x', session.csrfToken.slice(0, -1), `${session.csrfToken}x`]) {
        const res = await anon('DELETE', '/v1/session', undefined, { cookie: session.cookie, 'x-csrf-token': forged });
        assert.equal(res.status, 403, JSON.stringify(forged));
      }
      assert.equal((await anon('GET', '/v1/me', undefined, { cookie: session.cookie })).status, 200, 'still signed in');
      assert.equal((await anon('DELETE', '/v1/session', undefined, { cookie: session.cookie, 'x-csrf-token': session.csrfToken })).status, 204);
      kp.services.auth.invalidate();
      assert.equal((await anon('GET', '/v1/me', undefined, { cookie: session.cookie })).status, 401);
      for (const cookie of ['keyport_session=%E0%A4%A', 'keyport_session=', 'keyport_session', 'a=b; keyport_session="%ZZ"']) {
        assert.equal((await anon('GET', '/v1/me', undefined, { cookie })).status, 401, cookie);
        assert.equal((await anon('DELETE', '/v1/session', undefined, { cookie })).status, 204, cookie);
      }
    });

    test("/v1/verify does not tell a caller without permission which account a credential belongs to", async () => {
      const mine = await createAccount(kp.api);
      const theirs = await createAccount(kp.api);
      const { secret } = await createKey(kp.api, theirs, { credentialType: 'token', active: true });
      const gateway = await kp.api('POST', `/v1/accounts/${mine}/service-tokens`, { name: 'gw' });
      const res = await apiClient(kp.url, gateway.body.token)('POST', '/v1/verify', { key: secret });
      assert.equal(res.status, 403);
      assert.equal(JSON.stringify(res.body).includes(theirs), false, JSON.stringify(res.body));
    });

    test('behind a trusted TLS proxy: Secure cookie, issuer and quick starts from X-Forwarded-Proto/-Host', async () => {
      const account = await createAccount(kp.api);
      const email = unique('tls');
      await kp.api('POST', `/v1/accounts/${account}/members`, { email, role: 'viewer', password: PASSWORD });
      const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'keys.example.com' };
      const session = await fetch(`${kp.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...forwarded }, body: JSON.stringify({ email, password: PASSWORD }) });
      assert.equal(session.status, 200);
      assert.ok(session.headers.get('set-cookie')!.split('; ').includes('Secure'), session.headers.get('set-cookie')!);
      const { key, secret } = await createKey(kp.api, account, { active: true });
      const token = await postForm(`${kp.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(key.clientId, secret), ...forwarded });
      assert.equal(token.status, 200);
      assert.equal(decodeJwt(token.body.access_token).claims.iss, 'https://keys.example.com/sandbox');
      const quickstart = await kp.api('GET', `/v1/accounts/${account}/keys/${key.id}/quickstart`, undefined, forwarded);
      assert.ok(JSON.stringify(quickstart.body).includes('https://keys.example.com'));
      // A forwarded host that is no host name is not taken.
      const bad = await postForm(`${kp.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(key.clientId, secret), 'x-forwarded-host': 'evil.example/path' });
      assert.equal(new URL(decodeJwt(bad.body.access_token).claims.iss).host, new URL(kp.url).host);
    });
  },
  { KEYPORT_TRUSTED_PROXIES: '127.0.0.1' },
);

describe('forwarded headers from an untrusted address, and production mode', () => {
  let kp: TestKeyport;
  before(async () => {
    kp = await startTestKeyport('sqlite');
  });
  after(async () => kp?.stop());

  test('without trusted proxies X-Forwarded-Proto/-Host are ignored', async () => {
    const account = await createAccount(kp.api);
    const email = `plain-${randomBytes(3).toString('hex')}@example.com`;
    await kp.api('POST', `/v1/accounts/${account}/members`, { email, role: 'viewer', password: PASSWORD });
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' };
    const session = await fetch(`${kp.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...forwarded }, body: JSON.stringify({ email, password: PASSWORD }) });
    assert.equal(session.headers.get('set-cookie')!.split('; ').includes('Secure'), false);
    const { key, secret } = await createKey(kp.api, account, { active: true });
    const token = await postForm(`${kp.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(key.clientId, secret), ...forwarded });
    assert.equal(decodeJwt(token.body.access_token).claims.iss, `${kp.url}/sandbox`);
  });

  test('a secret in a query string never reaches the log, even at debug', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-log-'));
    const node = await startProcess({ KEYPORT_DATA_DIR: dir, KEYPORT_LOG_LEVEL: 'debug' });
    try {
      const secret = `kpcs_test_${randomBytes(12).toString('hex')}`;
      const res = await postForm(`${node.url}/oauth/token?client_secret=${secret}&client_id=kpci_x`, { grant_type: 'client_credentials' });
      assert.equal(res.status, 400);
      await fetch(`${node.url}/v1/me?access_token=${secret}`);
      await outputMatching(node.output, /"url":"\/v1\/me\?access_token=\[redacted\]"/, 10_000);
      assert.match(node.output(), /client_secret=\[redacted\]/);
      assert.equal(node.output().includes(secret), false);
    } finally {
      await killHard(node.child);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('in production mode, no token is issued with a Host-derived issuer, unless told to; start-up says so', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-prod-'));
    const node = await startProcess({ NODE_ENV: 'production', KEYPORT_DATA_DIR: dir, KEYPORT_LOG_LEVEL: 'info' });
    try {
      await outputMatching(node.output, /NODE_ENV=production and KEYPORT_PUBLIC_URL is not set: \/oauth\/token refuses to issue tokens/, 10_000);
      const api = apiClient(node.url, 'test-platform-owner-token-0123456789');
      const account = await createAccount(api);
      const { key, secret } = await createKey(api, account, { active: true });
      const refused = await postForm(`${node.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(key.clientId, secret), host: 'evil.example' });
      assert.equal(refused.status, 500);
      assert.equal(refused.body.error, 'server_error');
      assert.match(refused.body.error_description, /KEYPORT_PUBLIC_URL/);
    } finally {
      await killHard(node.child);
      rmSync(dir, { recursive: true, force: true });
    }
    for (const env of [{ KEYPORT_PUBLIC_URL: 'https://keys.example.com' }, { KEYPORT_ALLOW_HOST_ISSUER: 'on' }] as Record<string, string>[]) {
      const prod = await startTestKeyport('sqlite', { NODE_ENV: 'production', ...env });
      try {
        const account = await createAccount(prod.api);
        const { key, secret } = await createKey(prod.api, account, { active: true });
        const res = await postForm(`${prod.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(key.clientId, secret) });
        assert.equal(res.status, 200, JSON.stringify(env));
        assert.equal(decodeJwt(res.body.access_token).claims.iss, env.KEYPORT_PUBLIC_URL ? 'https://keys.example.com/sandbox' : `${prod.url}/sandbox`);
      } finally {
        await prod.stop();
      }
    }
  });
});
