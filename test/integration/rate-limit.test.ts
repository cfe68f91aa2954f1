import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { apiClient, createAccount, createKey, describeEachStore, startTestKeyport, TEST_TOKEN, type TestKeyport } from '../helpers/keyport.js';
import { accessToken, basic, postForm, requestToken, startPeer } from '../helpers/oauth.js';

const REDIS_URL = process.env.KEYPORT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Is Redis reachable? Under CI a missing Redis fails the suite instead of skipping it. */
async function redisReachable(): Promise<boolean> {
  const url = new URL(REDIS_URL);
  const ok = await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: url.hostname, port: Number(url.port || 6379) });
    socket.setTimeout(1000);
    socket.on('connect', () => (socket.end(), resolve(true)));
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => (socket.destroy(), resolve(false)));
  });
  if (!ok && process.env.CI === 'true') throw new Error(`Redis is required for the tests and is not reachable at ${REDIS_URL}`);
  return ok;
}
const haveRedis = await redisReachable();

const headersOf = (res: { headers: Headers }) =>
  ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after'].map((h) => res.headers.get(h));

describeEachStore('rate limits', (kp) => {
  let account: string;
  before(async () => {
    account = await createAccount(kp.api);
    // Start at the beginning of a minute, so windows of 60 s are predictable.
    kp.clock.advance(60_000 - (kp.clock.now() % 60_000));
  });

  test('a key carries an optional rate limit, set at creation, changed and removed by PATCH', async () => {
    const { key } = await createKey(kp.api, account, { rateLimit: { limit: 100, windowSeconds: 60 } });
    assert.deepEqual(key.rateLimit, { limit: 100, windowSeconds: 60 });
    const path = `/v1/accounts/${account}/keys/${key.id}`;
    assert.deepEqual((await kp.api('PATCH', path, { rateLimit: { limit: 5, windowSeconds: 1 } })).body.rateLimit, { limit: 5, windowSeconds: 1 });
    assert.equal((await kp.api('PATCH', path, { rateLimit: null })).body.rateLimit, null);
    assert.equal((await createKey(kp.api, account)).key.rateLimit, null);
    for (const [rateLimit, pointer] of [
      [{ limit: 0, windowSeconds: 60 }, '/rateLimit/limit'],
      [{ limit: 10, windowSeconds: 0 }, '/rateLimit/windowSeconds'],
      [{ limit: 10, windowSeconds: 86_401 }, '/rateLimit/windowSeconds'],
      [{ limit: 10 }, '/rateLimit/windowSeconds'],
      [{ limit: 10, windowSeconds: 60, burst: 2 }, '/rateLimit/burst'],
      [{ limit: '10', windowSeconds: 60 }, '/rateLimit/limit'],
    ] as const) {
      const res = await kp.api('PATCH', path, { rateLimit });
      assert.equal(res.status, 400, JSON.stringify(rateLimit));
      assert.ok(res.body.errors.some((e: any) => e.pointer === pointer), `${JSON.stringify(res.body.errors)} names ${pointer}`);
    }
    assert.equal((await kp.api('GET', path)).body.rateLimit, null, 'nothing changed');
  });

  test('/v1/verify counts against the key\'s limit, with RateLimit headers, and answers rate_limited past it', async () => {
    const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, rateLimit: { limit: 3, windowSeconds: 60 } });
    kp.clock.advance(10_000);
    const seen = [];
    for (let i = 0; i < 4; i++) {
      const res = await kp.api('POST', '/v1/verify', { key: secret });
      seen.push([res.body.code, ...headersOf(res)]);
    }
    assert.deepEqual(seen, [
      ['valid', '3', '2', '50', null],
      ['valid', '3', '1', '50', null],
      ['valid', '3', '0', '50', null],
      ['rate_limited', '3', '0', '50', '50'],
    ]);
    assert.deepEqual((await kp.api('POST', '/v1/verify', { key: secret })).body, { valid: false, code: 'rate_limited' });
    const whoami = await kp.as(secret)('GET', '/v1/whoami');
    assert.deepEqual([whoami.status, whoami.body.code], [429, 'rate_limited']);
    kp.clock.advance(50_000);
    const next = await kp.api('POST', '/v1/verify', { key: secret });
    assert.deepEqual([next.body.code, ...headersOf(next)], ['valid', '3', '2', '60', null], 'a new window');
    // A wrong scope or environment is refused before counting.
    await kp.api('POST', '/v1/verify', { key: secret, scopes: ['iam.write'] });
    assert.equal((await kp.api('POST', '/v1/verify', { key: secret })).headers.get('ratelimit-remaining'), '1');
    // Raising the limit applies at once.
    await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { rateLimit: { limit: 1000, windowSeconds: 60 } });
    assert.equal((await kp.api('POST', '/v1/verify', { key: secret })).headers.get('ratelimit-remaining'), '997');
    const unlimited = await createKey(kp.api, account, { credentialType: 'token', active: true });
    assert.deepEqual(headersOf(await kp.api('POST', '/v1/verify', { key: unlimited.secret })), [null, null, null, null]);
  });

  test('/oauth/token counts too (429 slow_down), and so do verifications of its tokens', async () => {
    const { key, secret } = await createKey(kp.api, account, { rateLimit: { limit: 3, windowSeconds: 60 } });
    const first = await requestToken(kp, key.clientId, secret);
    assert.deepEqual([first.status, ...headersOf(first)], [200, '3', '2', '60', null]);
    const token = first.body.access_token;
    assert.equal((await kp.api('POST', '/v1/verify', { token })).body.code, 'valid');
    assert.equal((await requestToken(kp, key.clientId, secret)).status, 200);
    const refused = await requestToken(kp, key.clientId, secret);
    assert.deepEqual([refused.status, ...headersOf(refused)], [429, '3', '0', '60', '60']);
    assert.deepEqual(refused.body, { error: 'slow_down', error_description: "The key's rate limit of 3 requests per 60 seconds is used up." });
    assert.equal(refused.headers.get('cache-control'), 'no-store');
    assert.deepEqual((await kp.api('POST', '/v1/verify', { token })).body, { valid: false, code: 'rate_limited' });
  });
});

describeEachStore('failed client authentication is throttled', (kp) => {
  test('per client id and per source address, even for the right secret, until the window ends', async () => {
    const account = await createAccount(kp.api);
    const a = await createKey(kp.api, account);
    const b = await createKey(kp.api, account);
    const wrong = (secret: string) => secret.slice(0, -6) + 'AAAAAA';
    for (let i = 0; i < 3; i++) assert.equal((await requestToken(kp, a.key.clientId, wrong(a.secret))).status, 401);
    const blocked = await requestToken(kp, a.key.clientId, a.secret);
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.error, 'slow_down');
    assert.equal(blocked.headers.get('retry-after'), '60');
    assert.equal(blocked.headers.get('cache-control'), 'no-store');
    assert.equal((await postForm(`${kp.url}/oauth/introspect`, { token: 'x' }, { authorization: basic(a.key.clientId, a.secret) })).status, 429, 'introspection authenticates the same way');

    assert.equal((await requestToken(kp, b.key.clientId, b.secret)).status, 200, 'another client from the same address is fine');
    for (let i = 0; i < 2; i++) assert.equal((await requestToken(kp, b.key.clientId, wrong(b.secret))).status, 401);
    const byAddress = await requestToken(kp, b.key.clientId, b.secret);
    assert.equal(byAddress.status, 429, 'five failures from one address block it');
    assert.match(byAddress.body.error_description, /try again in \d+ seconds/);

    kp.clock.advance(60_000);
    assert.equal((await requestToken(kp, a.key.clientId, a.secret)).status, 200, 'the window is over');
    assert.equal((await requestToken(kp, b.key.clientId, b.secret)).status, 200);
  });
}, { KEYPORT_AUTH_FAILURES_PER_CLIENT: '3', KEYPORT_AUTH_FAILURES_PER_ADDRESS: '5', KEYPORT_AUTH_FAILURE_WINDOW: '60' });

describe('rate limits shared by nodes through Redis', { skip: haveRedis ? false : `Redis is not reachable at ${REDIS_URL}` }, () => {
  let kp: TestKeyport;
  before(async () => {
    kp = await startTestKeyport('postgres', { REDIS_URL });
  });
  after(async () => kp?.stop());

  test('a key gets its limit across all nodes, not per node', async () => {
    const peer = await startPeer(kp);
    try {
      const account = await createAccount(kp.api);
      const { secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, rateLimit: { limit: 4, windowSeconds: 3600 } });
      kp.clock.advance(3_600_000 - (kp.clock.now() % 3_600_000) + 1000);
      const nodes = [kp.api, apiClient(peer.url, TEST_TOKEN)];
      const codes = [];
      for (let i = 0; i < 6; i++) codes.push((await nodes[i % 2]!('POST', '/v1/verify', { key: secret })).body.code);
      assert.deepEqual(codes, ['valid', 'valid', 'valid', 'valid', 'rate_limited', 'rate_limited']);
      const client = await createKey(kp.api, account, { rateLimit: { limit: 1, windowSeconds: 3600 } });
      assert.equal((await accessToken(kp, client.key.clientId, client.secret)).length > 0, true);
      const onPeer = await postForm(`${peer.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(client.key.clientId, client.secret) });
      assert.equal(onPeer.status, 429);
    } finally {
      await peer.close();
    }
  });
});
