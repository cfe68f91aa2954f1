import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { createVerifier, keyportExpress, keyportFastify, keyportFetch, type KeyportRequest, type Verifier } from '@keyport/node';
import { createAccount, createKey, startTestKeyport, TEST_TOKEN, type TestKeyport } from '../helpers/keyport.js';

/**
 * The SDK README's three examples (Fastify, Express, a fetch handler), each run as written there
 * against a real Keyport, answering what /v1/authz answers.
 */
describe('@keyport/node middleware: the README examples (sqlite)', () => {
  let kp: TestKeyport;
  let keyport: Verifier;
  let account: string;
  let secret: string;
  let keyId: string;
  let sandboxSecret: string;

  before(async () => {
    kp = await startTestKeyport('sqlite');
    account = await createAccount(kp.api);
    const key = await createKey(kp.api, account, { credentialType: 'token', active: true, environment: 'production', scopes: ['order.read'] });
    secret = key.secret;
    keyId = key.key.id;
    sandboxSecret = (await createKey(kp.api, account, { credentialType: 'token', active: true, environment: 'sandbox', scopes: ['order.read'] })).secret;
    keyport = createVerifier({ url: kp.url, serviceToken: TEST_TOKEN, environment: 'production' });
    await keyport.ready();
  });
  after(async () => {
    await keyport?.close();
    await kp?.stop();
  });

  /** What every protected app must answer, whatever the framework. */
  async function answersLikeAuthz(base: string): Promise<void> {
    const get = (headers: Record<string, string>) => fetch(`${base}/orders`, { headers });
    const okRes = await get({ authorization: `Bearer ${secret}` });
    assert.equal(okRes.status, 200);
    assert.deepEqual(await okRes.json(), { account, keyId });
    assert.equal((await get({ 'x-api-key': secret })).status, 200, 'X-API-Key works too');

    const missing = await get({});
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.deepEqual(await missing.json(), {
      type: 'urn:keyport:problem:missing',
      code: 'missing',
      title: 'Authentication required',
      status: 401,
      detail: 'Send your token key or access token as "Authorization: Bearer <credential>", or a token key as "X-API-Key: <key>".',
    });
    const malformed = await get({ authorization: 'Bearer nope' });
    assert.deepEqual([malformed.status, malformed.headers.get('x-keyport-code')], [401, 'malformed']);
    const wrongEnv = await get({ authorization: `Bearer ${sandboxSecret}` });
    assert.deepEqual([wrongEnv.status, wrongEnv.headers.get('x-keyport-code'), wrongEnv.headers.get('www-authenticate')], [403, 'wrong_environment', 'Bearer error="insufficient_scope"']);
    // A key limited to one use a minute: the second is refused.
    const limitedSecret = (await createKey(kp.api, account, { credentialType: 'token', active: true, environment: 'production', scopes: ['order.read'], rateLimit: { limit: 1, windowSeconds: 60 } })).secret;
    assert.equal((await get({ authorization: `Bearer ${limitedSecret}` })).status, 200);
    const limited = await get({ authorization: `Bearer ${limitedSecret}` });
    assert.deepEqual([limited.status, limited.headers.get('x-keyport-code')], [429, 'rate_limited']);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal((await limited.json()).status, 429);
  }

  const listen = async (server: Server) => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  test('Fastify plugin', async () => {
    // README: Fastify
    const app = Fastify();
    await app.register(async (api) => {
      await api.register(keyportFastify, { verifier: keyport, scopes: ['order.read'] });
      api.get('/orders', async (request) => ({ account: request.keyport!.account, keyId: request.keyport!.keyId }));
    });
    app.get('/healthz', async () => ({ ok: true }));
    // end README
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      await answersLikeAuthz(base);
      assert.equal((await fetch(`${base}/healthz`)).status, 200, 'routes outside the protected context stay open');
    } finally {
      await app.close();
    }
  });

  test('Express middleware', async () => {
    // README: Express
    const app = express();
    app.get('/orders', keyportExpress(keyport, { scopes: ['order.read'] }), (req, res) => {
      const { account, keyId } = (req as KeyportRequest).keyport!;
      res.json({ account, keyId });
    });
    // end README
    const server = createServer(app);
    try {
      await answersLikeAuthz(await listen(server));
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test('fetch-style handler', async () => {
    // README: fetch
    const check = keyportFetch(keyport, { scopes: ['order.read'] });
    async function handle(request: Request): Promise<Response> {
      const auth = await check(request);
      if (!auth.ok) return auth.response;
      return Response.json({ account: auth.identity.account, keyId: auth.identity.keyId });
    }
    // end README
    // Served by node:http, turning each request into a fetch Request (what Hono's or Next's adapters do).
    const server = createServer(async (req, res) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
      const response = await handle(new Request(`http://localhost${req.url}`, { headers }));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    });
    try {
      await answersLikeAuthz(await listen(server));
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test('Keyport unreachable: the middleware answers 503, never lets the request through', async () => {
    const down = createVerifier({ url: 'http://127.0.0.1:9', serviceToken: TEST_TOKEN, environment: 'production' });
    try {
      const check = keyportFetch(down, { scopes: ['order.read'] });
      const auth = await check(new Request('http://localhost/orders', { headers: { authorization: `Bearer ${secret}` } }));
      assert.equal(auth.ok, false);
      if (!auth.ok) {
        assert.equal(auth.response.status, 503);
        assert.equal(auth.response.headers.get('retry-after'), '1');
        assert.equal((await auth.response.json()).code, 'keyport_unavailable');
      }
    } finally {
      await down.close();
    }
  });
});

declare module 'fastify' {
  interface FastifyRequest {
    keyport?: import('@keyport/node').VerifyResult;
  }
}
