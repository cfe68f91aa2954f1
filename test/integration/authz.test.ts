import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { generateKeyString } from '../../src/domain/key-strings.js';
import { createAccount, createKey, STORES, startTestKeyport, TEST_TOKEN, type TestKeyport } from '../helpers/keyport.js';
import { accessToken, basic, postForm, requestToken } from '../helpers/oauth.js';
import { startOwnPostgres } from '../helpers/own-postgres.js';
import { killHard, startProcess } from '../helpers/process.js';
import { freshStore } from '../helpers/keyport.js';
import { gatewayPage } from '../helpers/proxies.js';
import { execFile } from 'node:child_process';
import { loadConfig } from '../../src/config.js';
import { ManualClock } from '../../src/domain/clock.js';
import { startKeyport } from '../../src/server.js';

/** An answer of /v1/authz: status, headers and body (parsed when it is JSON). */
interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, text, body };
}

const IDENTITY = ['x-keyport-account', 'x-keyport-key-id', 'x-keyport-environment', 'x-keyport-scopes', 'x-keyport-channel', 'x-keyport-grant-id', 'x-keyport-key-account'];
const identityOf = (a: Answer) => Object.fromEntries(IDENTITY.map((h) => [h, a.headers.get(h)]));
const refusalHeaders = (a: Answer) => ({
  'x-keyport-code': a.headers.get('x-keyport-code'),
  'www-authenticate': a.headers.get('www-authenticate'),
  'content-type': a.headers.get('content-type'),
  'cache-control': a.headers.get('cache-control'),
});

/** Sends raw bytes and reads what comes back until the server closes or `until` holds. */
function raw(url: string, request: string, until: (received: string) => boolean = () => false): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let received = '';
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no complete answer within 5 s: ${JSON.stringify(received)}`))), 5000);
    socket.on('data', (d) => {
      received += d;
      if (until(received)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('close', () => (clearTimeout(timer), resolve(received)));
    socket.on('error', () => undefined);
  });
}

/** A whole HTTP/1.1 answer with a Content-Length has arrived. */
const complete = (received: string) => {
  const end = received.indexOf('\r\n\r\n');
  const length = /content-length: (\d+)/i.exec(received);
  return end !== -1 && length !== null && received.length >= end + 4 + Number(length[1]);
};

for (const store of STORES) {
  describe(`GET|POST|... /v1/authz: forward-auth (${store})`, () => {
    let kp: TestKeyport;
    let account: string;
    let serviceToken: string;
    before(async () => {
      kp = await startTestKeyport(store);
      account = await createAccount(kp.api);
      serviceToken = (await kp.api('POST', `/v1/accounts/${account}/service-tokens`, { name: 'Shop gateway' })).body.token;
      // Start at the beginning of a minute, so windows of 60 s are predictable.
      kp.clock.advance(60_000 - (kp.clock.now() % 60_000));
    });
    after(async () => kp?.stop());

    const authzUrl = (query = 'environment=production&scopes=order.read', path = '/v1/authz') => `${kp.url}${path}${query ? `?${query}` : ''}`;
    /** Asks as this account's gateway, with the client's headers. */
    const ask = (client: Record<string, string>, init: RequestInit & { query?: string; path?: string } = {}) =>
      call(authzUrl(init.query, init.path), { ...init, headers: { 'keyport-service-token': serviceToken, ...client, ...(init.headers as Record<string, string>) } });
    const tokenKey = (body: Record<string, unknown> = {}) =>
      createKey(kp.api, account, { credentialType: 'token', active: true, environment: 'production', scopes: ['order.read', 'order.write'], ...body });

    test('a valid token key: 200, an empty body and the seven identity headers, as a bearer or as X-API-Key', async () => {
      const { key, secret } = await tokenKey({ roles: [{ definition: 'pricing', level: 'viewer' }], channel: 'EU West' });
      const res = await ask({ authorization: `Bearer ${secret}` });
      assert.equal(res.status, 200);
      assert.equal(res.text, '');
      assert.deepEqual(identityOf(res), {
        'x-keyport-account': account,
        'x-keyport-key-id': key.id,
        'x-keyport-environment': 'production',
        'x-keyport-scopes': 'price.read order.read order.write',
        'x-keyport-channel': 'EU%20West',
        'x-keyport-grant-id': '',
        'x-keyport-key-account': '',
      });
      assert.equal(res.headers.get('x-keyport-code'), null, 'only refusals carry a code');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('ratelimit-limit'), null, 'no rate limit, no RateLimit headers');

      assert.deepEqual(identityOf(await ask({ 'x-api-key': secret })), identityOf(res));
      assert.deepEqual(identityOf(await ask({ authorization: `bearer  ${secret} ` })), identityOf(res), 'the scheme is case-insensitive');
      assert.equal((await ask({ authorization: `Bearer ${secret}`, 'x-api-key': secret })).status, 200, 'the same credential twice is one');
      // Several scopes, separated by commas or spaces, all needed.
      for (const scopes of ['order.read,order.write', 'order.read%20order.write', 'order.read+order.write', 'order.read,%20order.write'])
        assert.equal((await ask({ authorization: `Bearer ${secret}` }, { query: `environment=production&scopes=${scopes}` })).status, 200, scopes);
    });

    test('any method and any path below /v1/authz; the client\'s body is never read, nor waited for', async () => {
      const { key, secret } = await tokenKey();
      const client = { authorization: `Bearer ${secret}` };
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        const res = await ask(client, { method, path: '/v1/authz/orders/42' });
        assert.deepEqual([method, res.status, res.headers.get('x-keyport-key-id')], [method, 200, key.id]);
      }
      // Not JSON, larger than any body Keyport accepts elsewhere, or of a type Keyport parses nowhere: never looked at.
      for (const [type, body] of <[string, string][]>[['application/json', '{"nope'], ['application/json', 'x'.repeat(200_000)], ['text/plain', 'hello'], ['application/x-www-form-urlencoded', 'a=1']])
        assert.equal((await ask({ ...client, 'content-type': type }, { method: 'POST', body })).status, 200, `${type} body`);
      // Headers announcing 10 MB that never come: answered at once.
      const { hostname, port } = new URL(kp.url);
      const answer = await raw(
        kp.url,
        `POST /v1/authz?environment=production&scopes=order.read HTTP/1.1\r\nHost: ${hostname}:${port}\r\nKeyport-Service-Token: ${serviceToken}\r\n` +
          `Authorization: Bearer ${secret}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n`,
        (received) => received.includes('\r\n\r\n'),
      );
      assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(answer, new RegExp(`x-keyport-key-id: ${key.id}`, 'i'));
    });

    test('access tokens, and tokens of external keys with the grant and the key\'s account', async () => {
      const client = await createKey(kp.api, account, { environment: 'production', scopes: ['order.read', 'product.read'], channel: 'b2b' });
      const token = await accessToken(kp, client.key.clientId, client.secret, { scope: 'order.read' });
      const res = await ask({ authorization: `Bearer ${token}` });
      assert.equal(res.status, 200);
      assert.deepEqual(identityOf(res), {
        'x-keyport-account': account,
        'x-keyport-key-id': client.key.id,
        'x-keyport-environment': 'production',
        'x-keyport-scopes': 'order.read',
        'x-keyport-channel': 'b2b',
        'x-keyport-grant-id': '',
        'x-keyport-key-account': '',
      });
      const narrowed = await ask({ authorization: `Bearer ${token}` }, { query: 'environment=production&scopes=product.read' });
      assert.deepEqual([narrowed.status, narrowed.headers.get('x-keyport-code')], [403, 'insufficient_scope'], 'the token was narrowed to order.read');

      // A key of account B, granted order reading in this account, gets a token for it.
      const B = await createAccount(kp.api, { name: 'Partner' });
      const partner = await createKey(kp.api, B, { environment: 'production', scopes: ['product.read'] });
      const granted = await kp.api('POST', `/v1/accounts/${account}/grants`, { key: partner.key.clientId, roles: [{ definition: 'order_data', level: 'viewer' }] });
      assert.equal(granted.status, 201, JSON.stringify(granted.body));
      const forA = await requestToken(kp, partner.key.clientId, partner.secret, { resource: `urn:keyport:account:${account}` });
      assert.equal(forA.status, 200, JSON.stringify(forA.body));
      const external = await ask({ authorization: `Bearer ${forA.body.access_token}` });
      assert.equal(external.status, 200, external.text);
      assert.deepEqual(identityOf(external), {
        'x-keyport-account': account,
        'x-keyport-key-id': partner.key.id,
        'x-keyport-environment': 'production',
        'x-keyport-scopes': forA.body.scope,
        'x-keyport-channel': '',
        'x-keyport-grant-id': granted.body.grantId,
        'x-keyport-key-account': B,
      });
    });

    test('refusals: 401, 403 and 429 with X-Keyport-Code, WWW-Authenticate and a problem document', async () => {
      const problem = (code: string, status: number, title: string, detail: string) => ({ type: `urn:keyport:problem:${code}`, code, title, status, detail });
      const refused = async (client: Record<string, string>, status: number, body: object, query?: string) => {
        const res = await ask(client, query === undefined ? {} : { query });
        const code = (body as { code: string }).code;
        assert.equal(res.status, status, `${code}: ${res.text}`);
        assert.deepEqual(refusalHeaders(res), {
          'x-keyport-code': code,
          'www-authenticate': status === 401 ? 'Bearer error="invalid_token"' : status === 403 ? 'Bearer error="insufficient_scope"' : null,
          'content-type': 'application/problem+json; charset=utf-8',
          'cache-control': 'no-store',
        });
        assert.deepEqual(res.body, body);
        assert.deepEqual(identityOf(res), Object.fromEntries(IDENTITY.map((h) => [h, null])), 'a refusal names nobody');
        return res;
      };
      const { key, secret } = await tokenKey();
      const mistyped = secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a');

      await refused({}, 401, problem('missing', 401, 'Authentication required', 'Send your token key or access token as "Authorization: Bearer <credential>", or a token key as "X-API-Key: <key>".'));
      await refused({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, 401, problem('missing', 401, 'Authentication required', 'Send your token key or access token as "Authorization: Bearer <credential>", or a token key as "X-API-Key: <key>".'));
      const malformed = problem('malformed', 401, 'Invalid credential', 'The credential is not a well-formed token key or access token.');
      for (const client of <Record<string, string>[]>[
        { authorization: `Bearer ${mistyped}` },
        { 'x-api-key': 'hello' },
        { authorization: 'Bearer ' },
        { authorization: `Bearer ${'kp_test_' + 'A'.repeat(8200)}` },
        { 'x-api-key': `eyJ${'a'.repeat(8190)}` },
        { authorization: `Bearer ${secret}`, 'x-api-key': (await tokenKey()).secret },
      ])
        await refused(client, 401, malformed);
      await refused({ authorization: `Bearer ${generateKeyString('token', 'production')}` }, 401, problem('unknown', 401, 'Invalid credential', 'The credential is not a key or token Keyport knows.'));

      await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { active: false });
      await refused({ authorization: `Bearer ${secret}` }, 401, problem('inactive', 401, 'Invalid credential', 'The credential belongs to a key that is switched off.'));
      await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { active: true, expiresAt: new Date(kp.clock.now() + 60_000).toISOString() });
      assert.equal((await ask({ authorization: `Bearer ${secret}` })).status, 200);
      kp.clock.advance(60_000);
      await refused({ authorization: `Bearer ${secret}` }, 401, problem('expired', 401, 'Invalid credential', 'The credential has expired.'));

      const client = await createKey(kp.api, account, { environment: 'production', scopes: ['order.read'] });
      const token = await accessToken(kp, client.key.clientId, client.secret);
      assert.equal((await postForm(`${kp.url}/oauth/revoke`, { token }, { authorization: basic(client.key.clientId, client.secret) })).status, 200);
      await refused({ authorization: `Bearer ${token}` }, 401, problem('revoked', 401, 'Invalid credential', 'The credential has been revoked.'));

      const sandbox = await tokenKey({ environment: 'sandbox' });
      await refused({ authorization: `Bearer ${sandbox.secret}` }, 403, problem('wrong_environment', 403, 'Not allowed here', 'The credential belongs to sandbox; this route serves production.'));
      const reader = await tokenKey({ scopes: ['order.read'] });
      await refused({ 'x-api-key': reader.secret }, 403, problem('insufficient_scope', 403, 'Not allowed here', 'The credential lacks the scope order.write this route needs.'), 'environment=production&scopes=order.read,order.write');

      const limited = await tokenKey({ rateLimit: { limit: 2, windowSeconds: 60 } });
      kp.clock.advance(10_000);
      const rate = (a: Answer) => ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after'].map((h) => a.headers.get(h));
      assert.deepEqual(rate(await ask({ authorization: `Bearer ${limited.secret}` })), ['2', '1', '50', null]);
      assert.deepEqual(rate(await ask({ authorization: `Bearer ${limited.secret}` })), ['2', '0', '50', null]);
      const over = await refused({ authorization: `Bearer ${limited.secret}` }, 429, problem('rate_limited', 429, 'Rate limit reached', "The key's rate limit is used up; try again in 50 seconds."));
      assert.deepEqual(rate(over), ['2', '0', '50', '50']);
    });

    test('it counts against the rate limit and lastUsedAt exactly as /v1/verify', async () => {
      const { key, secret } = await tokenKey({ rateLimit: { limit: 3, windowSeconds: 60 } });
      kp.clock.advance(60_000 - (kp.clock.now() % 60_000));
      assert.equal((await kp.api('GET', `/v1/accounts/${account}/keys/${key.id}`)).body.lastUsedAt, null);
      const remaining = async (a: Answer) => a.headers.get('ratelimit-remaining');
      assert.equal(await remaining(await ask({ authorization: `Bearer ${secret}` })), '2');
      const verified = await kp.api('POST', '/v1/verify', { key: secret });
      assert.deepEqual([verified.body.code, verified.headers.get('ratelimit-remaining')], ['valid', '1'], 'one budget for both');
      assert.equal(await remaining(await ask({ authorization: `Bearer ${secret}` })), '0');
      assert.deepEqual((await kp.api('POST', '/v1/verify', { key: secret })).body, { valid: false, code: 'rate_limited' });
      assert.equal((await ask({ authorization: `Bearer ${secret}` })).status, 429);
      await kp.services.tokens.usage.flush();
      assert.equal((await kp.api('GET', `/v1/accounts/${account}/keys/${key.id}`)).body.lastUsedAt, new Date(kp.clock.now()).toISOString());
    });

    test("the gateway's own mistakes are 400s with X-Keyport-Code, never 401 or 403; a foreign account's key is unknown here", async () => {
      const { secret } = await tokenKey();
      const client = { authorization: `Bearer ${secret}` };
      const mistake = async (init: RequestInit & { query?: string }, code: string, detail: string, errors?: object[]) => {
        const res = await call(authzUrl(init.query), init);
        assert.equal(res.status, 400, `${code}: ${res.text}`);
        assert.equal(res.headers.get('x-keyport-code'), code);
        assert.equal(res.headers.get('www-authenticate'), null);
        assert.deepEqual(res.body, {
          type: `urn:keyport:problem:${code}`,
          code,
          title: code === 'validation_failed' ? 'Invalid request' : 'Gateway not authenticated',
          status: 400,
          detail,
          instance: `urn:keyport:request:${res.headers.get('x-request-id')}`,
          ...(errors ? { errors } : {}),
        });
      };
      await mistake({ headers: client }, 'service_token_missing', 'Send the service token of this gateway as "Keyport-Service-Token: <token>" (a token holding keys.verify).');
      const wrong = 'The Keyport-Service-Token of this gateway is unknown, expired or revoked; give it a valid service token.';
      await mistake({ headers: { ...client, 'keyport-service-token': 'not-a-token-at-all-0123456789' } }, 'service_token_invalid', wrong);
      await mistake({ headers: { ...client, authorization: `Bearer ${serviceToken}` } }, 'service_token_missing', 'Send the service token of this gateway as "Keyport-Service-Token: <token>" (a token holding keys.verify).');
      // A revoked service token stops working (within the second its answer is cached).
      const revokedToken = await kp.api('POST', `/v1/accounts/${account}/service-tokens`, { name: 'Old gateway' });
      assert.equal((await call(authzUrl(), { headers: { ...client, 'keyport-service-token': revokedToken.body.token } })).status, 200);
      assert.equal((await kp.api('DELETE', `/v1/accounts/${account}/service-tokens/${revokedToken.body.id}`)).status, 204);
      kp.clock.advance(1000);
      await mistake({ headers: { ...client, 'keyport-service-token': revokedToken.body.token } }, 'service_token_invalid', wrong);

      const gateway = { ...client, 'keyport-service-token': serviceToken };
      const env = (detail: string) => ({ pointer: '/querystring/environment', detail });
      const scopes = (detail: string) => ({ pointer: '/querystring/scopes', detail });
      const invalid = (e: { pointer: string; detail: string }) => `The query string of the auth URL is invalid: ${e.pointer} ${e.detail}.`;
      for (const [query, errors] of [
        ['', [env('is required: the environment this route serves, sandbox or production'), scopes('is required: the scopes this route needs, separated by commas or spaces')]],
        ['scopes=order.read', [env('is required: the environment this route serves, sandbox or production')]],
        ['environment=staging&scopes=order.read', [env('must be one of "sandbox", "production"')]],
        ['environment=production&environment=sandbox&scopes=order.read', [env('must be given once')]],
        ['environment=production', [scopes('is required: the scopes this route needs, separated by commas or spaces')]],
        ['environment=production&scopes=', [scopes('names no scope: give the scopes this route needs, separated by commas or spaces')]],
        ['environment=production&scopes=,', [scopes('has an empty scope: separate scopes by one comma, or by spaces')]],
        ['environment=production&scopes=order.read,,order.write', [scopes('has an empty scope: separate scopes by one comma, or by spaces')]],
        ['environment=production&scopes=order.read,orders.fly', [scopes("names a scope the catalog does not have: 'orders.fly'")]],
        ['environment=production&scopes=order.read&scopes=product.read', [scopes('must be given once')]],
        ['environment=staging&scopes=nope', [env('must be one of "sandbox", "production"'), scopes("names a scope the catalog does not have: 'nope'")]],
      ] as const)
        await mistake({ query, headers: gateway }, 'validation_failed', invalid(errors[0]!), [...errors]);

      // Another account's valid key is, to this gateway, not a key it knows; nothing of it is counted.
      const other = await createAccount(kp.api);
      const theirs = await createKey(kp.api, other, { credentialType: 'token', active: true, environment: 'production', scopes: ['order.read'], rateLimit: { limit: 5, windowSeconds: 60 } });
      const foreign = await ask({ authorization: `Bearer ${theirs.secret}` });
      assert.deepEqual([foreign.status, foreign.headers.get('x-keyport-code'), foreign.headers.get('ratelimit-remaining')], [401, 'unknown', null]);
      const asOwner = await kp.api('POST', '/v1/verify', { key: theirs.secret });
      assert.equal(asOwner.headers.get('ratelimit-remaining'), '4', 'the foreign request was not counted');
      // The platform owner's token serves every account.
      assert.equal((await call(authzUrl(), { headers: { authorization: `Bearer ${theirs.secret}`, 'keyport-service-token': TEST_TOKEN } })).status, 200);
    });

    test("Traefik's forwardAuth request: GET to the auth URL with the client's headers and X-Forwarded-*", async () => {
      const { key, secret } = await tokenKey();
      // The auth URL of the Traefik page's order.write middleware.
      const address = /address: "http:\/\/127\.0\.0\.1:8080(\/v1\/authz\?[^"]*scopes=order\.write)"/.exec(gatewayPage('traefik'))![1]!;
      // What Traefik's forwardAuth sends for a client's POST /orders/42?expand=items (Go's HTTP client).
      const traefik = (credential: Record<string, string>) =>
        call(`${kp.url}${address}`, {
          method: 'GET',
          headers: {
            'user-agent': 'Go-http-client/1.1',
            'accept-encoding': 'gzip',
            accept: 'application/json',
            'content-type': 'application/json',
            'keyport-service-token': serviceToken,
            'x-forwarded-for': '203.0.113.7',
            'x-forwarded-host': 'api.example.com',
            'x-forwarded-method': 'POST',
            'x-forwarded-proto': 'https',
            'x-forwarded-uri': '/orders/42?expand=items',
            'x-keyport-account': 'acct_forged',
            ...credential,
          },
        });
      for (const credential of <Record<string, string>[]>[{ authorization: `Bearer ${secret}` }, { 'x-api-key': secret }]) {
        const res = await traefik(credential);
        assert.equal(res.status, 200, res.text);
        assert.deepEqual([res.headers.get('x-keyport-account'), res.headers.get('x-keyport-key-id')], [account, key.id], 'a forged X-Keyport-* header the client sent changes nothing');
      }
      const refused = await traefik({ authorization: `Bearer ${generateKeyString('token', 'production')}` });
      assert.deepEqual([refused.status, refused.headers.get('x-keyport-code'), refused.body.code], [401, 'unknown', 'unknown'], 'Traefik hands this answer to the client as it is');
    });

    test("Envoy's ext_authz HTTP request: the client's method and path after the path prefix, Content-Length 0", async () => {
      const { key, secret } = await tokenKey({ scopes: ['order.write'] });
      // The path_prefix of the Envoy page's order.write check: /v1/authz?environment=production&scopes=order.write&uri=
      const prefix = /path_prefix: "(\/v1\/authz\?[^"]*scopes=order\.write[^"]*)"/.exec(gatewayPage('envoy'))![1]!;
      assert.equal(prefix, '/v1/authz?environment=production&scopes=order.write&uri=');
      const envoy = (method: string, clientPath: string, headers: Record<string, string> = {}) =>
        call(`${kp.url}${prefix}${clientPath}`, {
          method,
          headers: {
            'content-length': '0',
            authorization: `Bearer ${secret}`,
            'keyport-service-token': serviceToken,
            'x-forwarded-for': '198.51.100.20',
            'x-forwarded-proto': 'https',
            'x-request-id': '9f0c3c4e-6f3e-4bd5-9d6a-1d2c3b4a5f60',
            'x-envoy-expected-rq-timeout-ms': '250',
            'x-envoy-internal': 'true',
            ...headers,
          },
        });
      for (const [method, path] of <[string, string][]>[['POST', '/orders'], ['DELETE', '/orders/42'], ['PUT', '/orders/42?expand=items&limit=5'], ['GET', '/orders/42?uri=x']]) {
        const res = await envoy(method, path);
        assert.deepEqual([method, path, res.status, res.headers.get('x-keyport-key-id')], [method, path, 200, key.id]);
      }
      // A client's query cannot change what the route asks for: a repeated parameter is refused.
      for (const injected of ['/orders?a=1&environment=sandbox', '/orders?x&scopes=order.read', '/orders?a=1&%65nvironment=sandbox'])
        assert.equal((await envoy('GET', injected)).status, 400, injected);
      // With a bare /v1/authz prefix the requirement is missing: refused, never let through.
      const bare = await call(`${kp.url}/v1/authz/orders/42`, { method: 'POST', headers: { 'content-length': '0', authorization: `Bearer ${secret}`, 'keyport-service-token': serviceToken } });
      assert.deepEqual([bare.status, bare.headers.get('x-keyport-code')], [400, 'validation_failed']);
    });

    test('bad input is refused clearly, never with a 5xx: oversized headers, a bad URL', async () => {
      const { secret } = await tokenKey();
      const big = await call(authzUrl(), { headers: { 'keyport-service-token': serviceToken, authorization: `Bearer ${secret}`, 'x-padding': 'p'.repeat(20_000) } });
      assert.equal(big.status, 431);
      assert.deepEqual([big.headers.get('content-type'), big.headers.get('x-keyport-code')], ['application/problem+json', 'headers_too_large']);
      assert.deepEqual(big.body, {
        type: 'urn:keyport:problem:headers_too_large',
        code: 'headers_too_large',
        title: 'Request headers too large',
        status: 431,
        detail: 'The request headers are larger than Keyport accepts (16 KB in all).',
      });
      const broken = await raw(kp.url, 'GET /v1/authz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
      assert.match(broken, /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.match(broken, /X-Keyport-Code: malformed_request/);
      assert.match(broken, /"code":"malformed_request"/);
      const badPath = await call(`${kp.url}/v1/authz/%E0%A4%A?environment=production&scopes=order.read`, { headers: { 'keyport-service-token': serviceToken, authorization: `Bearer ${secret}` } });
      assert.deepEqual([badPath.status, badPath.headers.get('x-keyport-code'), badPath.headers.get('content-type')], [400, 'malformed_request', 'application/problem+json; charset=utf-8']);
      assert.deepEqual(badPath.body, {
        type: 'urn:keyport:problem:malformed_request',
        code: 'malformed_request',
        title: 'Malformed request',
        status: 400,
        detail: 'The URL is not valid: a percent-encoded character in its path is broken.',
        instance: `urn:keyport:request:${badPath.headers.get('x-request-id')}`,
      });
      const head = await raw(kp.url, `HEAD /v1/authz?environment=production&scopes=order.read HTTP/1.1\r\nHost: x\r\nKeyport-Service-Token: ${serviceToken}\r\nConnection: close\r\n\r\n`);
      assert.match(head, /^HTTP\/1\.1 401 Unauthorized\r\n/);
      assert.match(head, /x-keyport-code: missing/i);
    });

    test("the quick start's \"behind your gateway\" sample runs as printed and gets the gateway's answer", async () => {
      const run = (code: string) =>
        new Promise<string>((resolve, reject) =>
          execFile('bash', ['-c', code], { timeout: 10_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
        );
      const sampleOf = async (keyId: string) => {
        const samples = (await kp.api('GET', `/v1/accounts/${account}/keys/${keyId}/quickstart`)).body.samples;
        return samples.find((s: any) => s.language === 'gateway');
      };
      const token = await tokenKey({ scopes: ['order.read', 'order.write', 'product.read'] });
      const forToken = await sampleOf(token.key.id);
      assert.equal(forToken.title, 'Behind your gateway: what it asks Keyport about each call');
      const firstTwo = token.key.grantedScopes.slice(0, 2).join(',');
      assert.ok(forToken.code.includes(`'${kp.url}/v1/authz?environment=production&scopes=${firstTwo}'`), forToken.code);
      const out = await run(forToken.code.replace('<YOUR_SERVICE_TOKEN>', serviceToken).replace('<YOUR_API_KEY>', token.secret));
      assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(out, new RegExp(`x-keyport-key-id: ${token.key.id}`, 'i'));

      const client = await createKey(kp.api, account, { environment: 'production', scopes: ['order.read'] });
      const forClient = await sampleOf(client.key.id);
      const clientOut = await run(forClient.code.replace('<YOUR_SERVICE_TOKEN>', serviceToken).replace('<YOUR_CLIENT_SECRET>', client.secret));
      assert.match(clientOut, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(clientOut, new RegExp(`x-keyport-key-id: ${client.key.id}`, 'i'));
      assert.match(await run(forClient.code.replace('<YOUR_SERVICE_TOKEN>', serviceToken)), /^HTTP\/1\.1 401 Unauthorized\r\n/, 'without the secret: refused');
    });

    test('the OpenAPI document describes /v1/authz with the service token scheme', async () => {
      const doc = (await kp.api('GET', '/openapi.json')).body;
      const op = doc.paths['/v1/authz'].get;
      assert.deepEqual(op.security, [{ serviceToken: [] }]);
      assert.deepEqual(doc.components.securitySchemes.serviceToken, { type: 'apiKey', in: 'header', name: 'Keyport-Service-Token', description: "A gateway's service token (keys.verify), on /v1/authz." });
      assert.deepEqual(op.parameters.filter((p: any) => p.in === 'query').map((p: any) => [p.name, p.required]), [['environment', true], ['scopes', true]]);
      assert.deepEqual(Object.keys(op.responses).sort(), ['200', '400', '401', '403', '429']);
      assert.ok(op.responses['200'].headers['X-Keyport-Account'], 'the identity headers are listed');
      assert.equal(doc.paths['/v1/authz/*'], undefined, 'the paths below are the same operation');
    });
  });
}

describe('/v1/authz fails closed when Keyport cannot decide (a PostgreSQL server of its own, stopped)', () => {
  test('the store gone: nothing uncached passes; with KEYPORT_STALE_POLICY=serve only what was cached valid does, by default nothing', async () => {
    const pg = await startOwnPostgres();
    const clock = new ManualClock(Date.now());
    const started: Awaited<ReturnType<typeof startKeyport>>[] = [];
    try {
      const database = await pg.createDatabase();
      const start = async (stalePolicy: string) => {
        const keyport = await startKeyport(
          loadConfig({ PORT: '0', HOST: '127.0.0.1', KEYPORT_BOOTSTRAP_TOKEN: TEST_TOKEN, DATABASE_URL: database, KEYPORT_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'), KEYPORT_STALE_POLICY: stalePolicy }),
          { clock },
        );
        started.push(keyport);
        return keyport;
      };
      const serving = await start('serve');
      const strict = await start('unavailable');
      const api = (method: string, path: string, body?: unknown) =>
        call(`${serving.url}${path}`, { method, headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const account = (await api('POST', '/v1/accounts', { name: 'Outage shop', provisionDefaultKeys: false })).body.id;
      const key = async () => (await api('POST', `/v1/accounts/${account}/keys`, { name: 'k', environment: 'production', kind: 'custom', credentialType: 'token', active: true, scopes: ['order.read'] })).body.secret;
      const seen = await key();
      const never = await key();
      const ask = (node: { url: string }, secret: string) =>
        call(`${node.url}/v1/authz?environment=production&scopes=order.read`, { headers: { 'keyport-service-token': TEST_TOKEN, authorization: `Bearer ${secret}` } });
      for (const node of [serving, strict]) assert.equal((await ask(node, seen)).status, 200);

      await pg.stop('immediate');
      for (const node of [serving, strict]) {
        const unseen = await ask(node, never);
        assert.ok(unseen.status >= 500, `an undecidable request is refused: ${unseen.status} ${unseen.text}`);
        assert.ok(unseen.headers.get('x-keyport-code'), 'with its code');
        assert.equal(unseen.headers.get('x-keyport-account'), null);
        assert.equal(unseen.body.detail.includes('ECONNREFUSED'), false, 'nothing internal leaks');
      }
      // Past the revocation bound the strict node vouches for nothing; the serving one keeps its cache.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const stale = await ask(strict, seen);
      assert.equal(stale.status, 503, `a node behind the event log answers no cached valid: ${stale.status} ${stale.text}`);
      assert.equal(stale.headers.get('x-keyport-code'), 'store_unavailable');
      assert.equal((await ask(serving, seen)).status, 200, 'KEYPORT_STALE_POLICY=serve answers a credential cached as valid');
    } finally {
      for (const keyport of started) await keyport.close().catch(() => undefined);
      await pg.destroy();
    }
  });
});

describe('/v1/authz logs a misconfigured gateway', () => {
  test('at level warn: one line naming the problem and the caller, never the token sent', async () => {
    const store = await freshStore('sqlite');
    const keyport = await startProcess({ ...store.env, KEYPORT_LOG_LEVEL: 'warn' });
    try {
      const wrongToken = 'kpat_this-is-not-a-service-token-0123456789';
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        statuses.push((await fetch(`${keyport.url}/v1/authz?environment=sandbox&scopes=product.read`, { headers: { 'keyport-service-token': wrongToken, 'x-api-key': 'kp_test_x' } })).status);
        statuses.push((await fetch(`${keyport.url}/v1/authz?environment=sandbox&scopes=product.read`)).status);
      }
      assert.deepEqual(statuses, [400, 400, 400, 400, 400, 400]);
      let lines: any[] = [];
      for (let waited = 0; waited < 2000 && lines.length < 2; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        lines = keyport.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      }
      assert.deepEqual(
        lines.map((l) => [l.level, l.code, l.remoteAddress, l.msg]),
        [
          [40, 'service_token_invalid', '127.0.0.1', 'forward-auth: the gateway did not authenticate; its configuration is wrong (answered 400)'],
          [40, 'service_token_missing', '127.0.0.1', 'forward-auth: the gateway did not authenticate; its configuration is wrong (answered 400)'],
        ],
        'one line per kind of problem within ten seconds',
      );
      assert.ok(!keyport.output().includes(wrongToken), 'the token sent is never logged');
    } finally {
      await killHard(keyport.child);
      await store.dispose();
    }
  });
});
