import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateKeyString } from '../../src/domain/key-strings.js';
import type { RunningKeyport } from '../../src/server.js';
import { createAccount, createKey, STORES, startTestKeyport, type TestKeyport } from '../helpers/keyport.js';
import { accessToken, basic, eventually, postForm, startPeer } from '../helpers/oauth.js';
import { gatewayInstalled, startCaddy, startEchoServer, startNginx, type EchoServer, type Gateway, type GatewayOptions } from '../helpers/proxies.js';

/**
 * Real nginx and Caddy in front of Keyport, each with the configuration its page under
 * docs/gateways/ prints, in front of an API that echoes what it received: what a platform gets when
 * it copies the page.
 */
const GATEWAYS = [
  { name: 'nginx', start: startNginx, installed: gatewayInstalled('nginx') },
  { name: 'caddy', start: startCaddy, installed: gatewayInstalled('caddy') },
] as const;

const IDENTITY = ['x-keyport-account', 'x-keyport-key-id', 'x-keyport-environment', 'x-keyport-scopes', 'x-keyport-channel', 'x-keyport-grant-id', 'x-keyport-key-account'];

for (const store of STORES) {
  for (const gateway of GATEWAYS) {
    describe(`${gateway.name} in front of Keyport (${store})`, { skip: !gateway.installed }, () => {
      let kp: TestKeyport;
      /** The node behind the gateway: revocations made on `kp` reach it through the cluster event log. */
      let node: RunningKeyport;
      let api: EchoServer;
      let gw: Gateway;
      let account: string;
      let options: GatewayOptions;
      before(async () => {
        kp = await startTestKeyport(store);
        node = await startPeer(kp);
        api = await startEchoServer();
        account = await createAccount(kp.api);
        const serviceToken = (await kp.api('POST', `/v1/accounts/${account}/service-tokens`, { name: `${gateway.name} gateway` })).body.token;
        options = { keyport: new URL(node.url).host, upstream: api.address, serviceToken };
        gw = await gateway.start(options);
      });
      after(async () => {
        await gw?.stop();
        await api?.close();
        await node?.close();
        await kp?.stop();
      });

      const tokenKey = (body: Record<string, unknown> = {}) =>
        createKey(kp.api, account, { credentialType: 'token', active: true, environment: 'production', scopes: ['order.read'], ...body });
      const send = (path: string, headers: Record<string, string> = {}, init: RequestInit = {}) => fetch(`${gw.url}${path}`, { ...init, headers });
      /** What the API behind the gateway received for the request `run` makes (null: nothing reached it). */
      const upstreamOf = async (run: () => Promise<Response>) => {
        const before = api.received.length;
        const res = await run();
        const text = await res.text();
        assert.ok(api.received.length - before <= 1);
        return { res, text, seen: api.received.length > before ? api.received[api.received.length - 1]! : null };
      };
      /** The identity headers the API got; nginx removes those Keyport sent empty, Caddy passes them empty. */
      const identity = (seen: { headers: Record<string, unknown> }) =>
        Object.fromEntries(IDENTITY.map((h) => [h, seen.headers[h] ?? (gateway.name === 'nginx' ? '' : undefined)]));
      const forged = {
        'x-keyport-account': 'acct_forged',
        'x-keyport-key-id': 'key_forged',
        'x-keyport-channel': 'forged',
        'x-keyport-grant-id': 'grant_forged',
        'x-keyport-key-account': 'acct_forged',
      };

      test('a valid key passes with the identity headers; the API never sees the credential, the service token or a forged X-Keyport-* header', async () => {
        const { key, secret } = await tokenKey({ channel: 'retail' });
        const extra: Record<string, string> = gateway.name === 'caddy' ? { 'x-keyport-invented': 'forged' } : {};
        const { res, text, seen } = await upstreamOf(() => send('/orders/7?expand=items', { authorization: `Bearer ${secret}`, ...forged, ...extra }));
        assert.equal(res.status, 200, text);
        assert.deepEqual([seen!.method, seen!.url], ['GET', '/orders/7?expand=items']);
        assert.deepEqual(identity(seen!), {
          'x-keyport-account': account,
          'x-keyport-key-id': key.id,
          'x-keyport-environment': 'production',
          'x-keyport-scopes': 'order.read',
          'x-keyport-channel': 'retail',
          'x-keyport-grant-id': '',
          'x-keyport-key-account': '',
        });
        for (const header of ['authorization', 'x-api-key', 'keyport-service-token', 'x-keyport-invented'])
          assert.equal(seen!.headers[header], undefined, `the API does not get ${header}`);

        const byApiKey = await upstreamOf(() => send('/orders', { 'x-api-key': secret }));
        assert.equal(byApiKey.res.status, 200);
        assert.equal(byApiKey.seen!.headers['x-keyport-key-id'], key.id);
        assert.equal(byApiKey.seen!.headers['x-api-key'], undefined);
      });

      test('per route: reads need order.read, writes order.write (the body reaches the API untouched); /health is public', async () => {
        const reader = await tokenKey();
        const writer = await tokenKey({ scopes: ['order.read', 'order.write'] });
        const body = JSON.stringify({ item: 'tent', quantity: 2 });
        const write = (secret: string) => () =>
          send('/orders', { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, { method: 'POST', body });
        const refused = await upstreamOf(write(reader.secret));
        assert.deepEqual([refused.res.status, refused.res.headers.get('x-keyport-code'), refused.seen], [403, 'insufficient_scope', null]);
        const written = await upstreamOf(write(writer.secret));
        assert.equal(written.res.status, 200, written.text);
        assert.deepEqual([written.seen!.method, written.seen!.body, written.seen!.headers['x-keyport-scopes']], ['POST', body, 'order.read order.write']);
        const head = await upstreamOf(() => send('/orders/7', { authorization: `Bearer ${reader.secret}` }, { method: 'HEAD' }));
        assert.equal(head.res.status, 200, 'HEAD is a read');
        const health = await upstreamOf(() => send('/health'));
        assert.equal(health.res.status, 200);
        assert.equal(health.seen!.headers['x-keyport-account'], undefined);
      });

      test('an access token passes; the other environment gets 403; unknown and missing credentials 401', async () => {
        const client = await createKey(kp.api, account, { environment: 'production', scopes: ['order.read'] });
        const token = await accessToken(kp, client.key.clientId, client.secret);
        const passed = await upstreamOf(() => send('/orders', { authorization: `Bearer ${token}` }));
        assert.equal(passed.res.status, 200, passed.text);
        assert.deepEqual([passed.seen!.headers['x-keyport-key-id'], passed.seen!.headers['x-keyport-scopes']], [client.key.id, 'order.read']);

        const sandbox = await tokenKey({ environment: 'sandbox' });
        const other = await upstreamOf(() => send('/orders', { authorization: `Bearer ${sandbox.secret}` }));
        assert.deepEqual([other.res.status, other.res.headers.get('x-keyport-code'), other.seen], [403, 'wrong_environment', null]);
        for (const [headers, code] of [
          [{ authorization: `Bearer ${generateKeyString('token', 'production')}` }, 'unknown'],
          [{ 'x-api-key': 'kp_live_typo' }, 'malformed'],
          [{}, 'missing'],
        ] as const) {
          const { res, seen } = await upstreamOf(() => send('/orders', headers));
          assert.deepEqual([res.status, res.headers.get('www-authenticate'), res.headers.get('x-keyport-code'), seen], [401, 'Bearer error="invalid_token"', code, null], code);
        }
      });

      test('a revoked credential is refused through the gateway within a second', async () => {
        const { key, secret } = await tokenKey();
        const client = await createKey(kp.api, account, { environment: 'production', scopes: ['order.read'] });
        const token = await accessToken(kp, client.key.clientId, client.secret);
        for (const credential of [secret, token]) assert.equal((await send('/orders', { authorization: `Bearer ${credential}` })).status, 200, 'cached as valid');

        const refusedWithin = async (credential: string, code: string) => {
          const started = Date.now();
          let last: Response | undefined;
          const refused = await eventually(async () => {
            last = await send('/orders', { authorization: `Bearer ${credential}` });
            await last.text();
            return last.status === 401 && last.headers.get('x-keyport-code') === code;
          }, 1000);
          assert.ok(refused, `refused as ${code} within a second (last: ${last?.status} ${last?.headers.get('x-keyport-code')})`);
          assert.ok(Date.now() - started < 1000);
        };
        assert.equal((await kp.api('DELETE', `/v1/accounts/${account}/keys/${key.id}`)).status, 204);
        await refusedWithin(secret, 'unknown');
        assert.equal((await postForm(`${kp.url}/oauth/revoke`, { token }, { authorization: basic(client.key.clientId, client.secret) })).status, 200);
        await refusedWithin(token, 'revoked');
      });

      test("a rate-limited key gets 429 with Retry-After and the RateLimit headers; the API is not reached", async () => {
        const { secret } = await tokenKey({ rateLimit: { limit: 2, windowSeconds: 60 } });
        kp.clock.advance(60_000 - (kp.clock.now() % 60_000) + 10_000);
        const state = (res: Response) => ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after', 'x-keyport-code'].map((h) => res.headers.get(h));
        const first = await upstreamOf(() => send('/orders', { authorization: `Bearer ${secret}` }));
        // nginx's page adds Keyport's RateLimit headers to every answer; Caddy's copies them to the API only.
        const onSuccess = gateway.name === 'nginx' ? ['2', '1', '50'] : [null, null, null];
        assert.deepEqual([first.res.status, ...state(first.res)], [200, ...onSuccess, null, null]);
        assert.equal((await upstreamOf(() => send('/orders', { authorization: `Bearer ${secret}` }))).res.status, 200);
        const over = await upstreamOf(() => send('/orders', { authorization: `Bearer ${secret}` }));
        assert.deepEqual([over.res.status, ...state(over.res), over.seen], [429, '2', '0', '50', '50', 'rate_limited', null]);
      });

      test('headers too large for Keyport get a 431, never a 5xx', async () => {
        const { secret } = await tokenKey();
        // 18 KB in three lines: within what nginx and Caddy take, over the 16 KB Keyport takes.
        const padding = Object.fromEntries(['a', 'b', 'c'].map((n) => [`x-padding-${n}`, 'p'.repeat(6000)]));
        const { res, text, seen } = await upstreamOf(() => send('/orders', { authorization: `Bearer ${secret}`, ...padding }));
        assert.deepEqual([res.status, res.headers.get('x-keyport-code'), seen], [431, 'headers_too_large', null], text);
      });

      test('a gateway with a wrong service token lets nothing through, and says so', async () => {
        const misconfigured = await gateway.start({ ...options, serviceToken: 'kpat_not-the-service-token-0123456789' });
        try {
          const { secret } = await tokenKey();
          const before = api.received.length;
          const res = await fetch(`${misconfigured.url}/orders`, { headers: { authorization: `Bearer ${secret}` } });
          const text = await res.text();
          assert.equal(api.received.length, before, 'nothing reached the API');
          if (gateway.name === 'nginx') {
            assert.equal(res.status, 500, 'auth_request turns any status but 2xx, 401 and 403 into a 500');
            assert.match(misconfigured.output(), /auth request unexpected status: 400/);
          } else {
            assert.deepEqual([res.status, res.headers.get('x-keyport-code'), JSON.parse(text).code], [400, 'service_token_invalid', 'service_token_invalid']);
          }
        } finally {
          await misconfigured.stop();
        }
      });
    });
  }
}
