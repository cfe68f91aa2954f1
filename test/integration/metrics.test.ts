import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateKeyString } from '../../src/domain/key-strings.js';
import { createAccount, createKey, describeEachStore, startTestKeyport, type TestKeyport } from '../helpers/keyport.js';
import { operatorToken } from '../helpers/operators.js';
import { accessToken, postForm } from '../helpers/oauth.js';
import { exitOf, logLines, outputMatching, startProcess, type KeyportProcess } from '../helpers/process.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const METRICS_TOKEN = 'metrics-scrape-token-0123456789';

/** The samples of a Prometheus text exposition: `name{labels}` -> value. */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

async function scrape(url: string, token: string | null = METRICS_TOKEN): Promise<{ status: number; text: string; type: string | null; samples: Map<string, number> }> {
  const res = await fetch(`${url}/metrics`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, text, type: res.headers.get('content-type'), samples: parseMetrics(text) };
}

describeEachStore(
  'Prometheus metrics on the main port, behind KEYPORT_METRICS_TOKEN',
  (kp, store) => {
    let account: string;
    before(async () => {
      account = await createAccount(kp.api);
    });

    test('/metrics needs the token: 401 without it or with another, the text format with it', async () => {
      for (const token of [null, 'wrong-token-0123456789', TEST_LIKE_PLATFORM_TOKEN]) {
        const res = await scrape(kp.url, token);
        assert.equal(res.status, 401, String(token));
        assert.doesNotMatch(res.text, /keyport_/);
      }
      const ok = await scrape(kp.url);
      assert.equal(ok.status, 200);
      assert.equal(ok.type, 'text/plain; version=0.0.4; charset=utf-8');
      assert.equal(ok.samples.get('keyport_build_info{version="0.1.0"}'), 1);
      // Process metrics come along.
      assert.ok(ok.samples.has('process_cpu_user_seconds_total'));
      assert.ok([...ok.samples.keys()].some((k) => k.startsWith('nodejs_eventloop_lag_seconds')));
    });

    test('verifications are counted by path and code; requests by route pattern, method and status; no id or secret in any label', async () => {
      const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, scopes: ['product.read'] });
      const unknown = generateKeyString('token', 'sandbox');
      const before = (await scrape(kp.url)).samples;
      const count = (s: Map<string, number>, k: string) => s.get(k) ?? 0;
      for (let i = 0; i < 3; i++) assert.equal((await kp.api('POST', '/v1/verify', { key: secret })).body.valid, true);
      assert.equal((await kp.api('POST', '/v1/verify', { key: unknown })).body.code, 'unknown');
      assert.equal((await kp.api('POST', '/v1/verify', { key: 'nonsense' })).body.code, 'malformed');
      assert.equal((await kp.api('GET', `/v1/accounts/${account}/keys/${key.id}`)).status, 200);
      assert.equal((await kp.api('GET', `/v1/accounts/${account}/keys/key_nothere`)).status, 404);
      assert.equal((await kp.api('GET', '/v1/no-such-thing')).status, 404);

      const { samples, text } = await scrape(kp.url);
      const delta = (k: string) => count(samples, k) - count(before, k);
      assert.equal(delta('keyport_verifications_total{path="/v1/verify",code="valid"}'), 3);
      assert.equal(delta('keyport_verifications_total{path="/v1/verify",code="unknown"}'), 1);
      assert.equal(delta('keyport_verifications_total{path="/v1/verify",code="malformed"}'), 1);
      assert.equal(delta('keyport_http_request_duration_seconds_count{route="/v1/verify",method="POST",status="200"}'), 5);
      assert.equal(delta('keyport_http_request_duration_seconds_count{route="/v1/accounts/:account/keys/:key",method="GET",status="200"}'), 1);
      assert.equal(delta('keyport_http_request_duration_seconds_count{route="/v1/accounts/:account/keys/:key",method="GET",status="404"}'), 1);
      assert.equal(delta('keyport_http_request_duration_seconds_count{route="unmatched",method="GET",status="404"}'), 1);
      // The histogram's buckets are cumulative and end with +Inf = count.
      const inf = 'keyport_http_request_duration_seconds_bucket{route="/v1/verify",method="POST",status="200",le="+Inf"}';
      assert.equal(samples.get(inf), samples.get('keyport_http_request_duration_seconds_count{route="/v1/verify",method="POST",status="200"}'));
      // The first verification of the key read the store, the next ones the cache.
      assert.ok(delta('keyport_cache_requests_total{cache="verified_keys",result="hit"}') >= 2);
      assert.ok(delta('keyport_cache_requests_total{cache="verified_keys",result="miss"}') >= 1);
      assert.ok(count(samples, 'keyport_cache_entries{cache="verified_keys"}') >= 1, 'the key');
      assert.ok(count(samples, 'keyport_cache_entries{cache="unknown_keys"}') >= 1, 'the unknown one (a negative entry)');
      assert.ok(delta('keyport_store_query_duration_seconds_count{pool="request",outcome="ok"}') >= 1);
      for (const secretish of [secret, unknown, key.id, account, 'key_nothere', 'no-such-thing']) assert.ok(!text.includes(secretish), `${secretish} is in no label`);
    });

    test('the cluster sync, the store and the write queues are there', async () => {
      const { samples } = await scrape(kp.url);
      assert.ok(samples.get('keyport_cluster_sync_lag_seconds')! >= 0);
      assert.equal(samples.get('keyport_cluster_sync_max_staleness_seconds'), 1);
      assert.equal(samples.get('keyport_cluster_sync_failing'), 0);
      assert.ok(samples.get('keyport_cluster_sync_last_success_timestamp_seconds')! > Date.now() / 1000 - 60);
      assert.equal(samples.get('keyport_store_up'), 1);
      assert.equal(samples.get('keyport_store_unavailable_total'), 0);
      assert.equal(samples.get('keyport_rate_limit_fallback'), 0);
      assert.equal(samples.has('keyport_redis_up'), false, 'no Redis configured');
      assert.ok(samples.has('keyport_write_queue_entries{queue="last_used"}'));
      assert.ok(samples.has('keyport_write_queue_entries{queue="usage_counts"}'));
      if (store === 'postgres') {
        assert.equal(samples.get('keyport_store_pool_connections{state="max"}'), 10);
        assert.ok(samples.has('keyport_store_pool_connections{state="in_use"}'));
        assert.equal(samples.get('keyport_store_pool_waiting'), 0);
      } else {
        assert.equal(samples.has('keyport_store_pool_waiting'), false, 'SQLite has no pool');
      }
    });

    test('token endpoint and introspection outcomes', async () => {
      const client = await createKey(kp.api, account, { scopes: ['product.read'] });
      const before = (await scrape(kp.url)).samples;
      const token = await accessToken(kp, client.key.clientId, client.secret);
      const refused = await postForm(`${kp.url}/oauth/token`, { grant_type: 'client_credentials', client_id: client.key.clientId, client_secret: 'wrong' });
      assert.equal(refused.status, 401);
      const introspected = await postForm(`${kp.url}/oauth/introspect`, { token }, { authorization: `Bearer ${TEST_LIKE_PLATFORM_TOKEN}` });
      assert.equal(introspected.body.active, true);
      const { samples } = await scrape(kp.url);
      const delta = (k: string) => (samples.get(k) ?? 0) - (before.get(k) ?? 0);
      assert.equal(delta('keyport_verifications_total{path="/oauth/token",code="issued"}'), 1);
      assert.equal(delta('keyport_verifications_total{path="/oauth/token",code="invalid_client"}'), 1);
      assert.equal(delta('keyport_verifications_total{path="/oauth/introspect",code="active"}'), 1);
    });

    test('webhook backlog gauges count the pending deliveries and failing endpoints in the store', async () => {
      let { samples } = await scrape(kp.url);
      assert.equal(samples.get('keyport_webhook_deliveries_pending'), 0);
      assert.equal(samples.get('keyport_webhook_deliveries_failing'), 0);
      // An endpoint nobody answers (the discard port, closed): its delivery stays pending, retried with backoff.
      const hook = await kp.api('POST', `/v1/accounts/${account}/webhooks`, { url: 'http://127.0.0.1:9/hook', events: ['key.created'] });
      assert.equal(hook.status, 201, JSON.stringify(hook.body));
      await createKey(kp.api, account, { scopes: ['product.read'] });
      ({ samples } = await scrape(kp.url));
      assert.equal(samples.get('keyport_webhook_deliveries_pending'), 1);
      assert.equal((await kp.api('DELETE', `/v1/accounts/${account}/webhooks/${hook.body.webhook.id}`)).status, 204);
      ({ samples } = await scrape(kp.url));
      assert.equal(samples.get('keyport_webhook_deliveries_pending'), 0);
    });
  },
  { KEYPORT_METRICS_TOKEN: METRICS_TOKEN, KEYPORT_WEBHOOK_ALLOW_HTTP: 'on' },
);

/** The platform owner token of the test servers: it is not the metrics token. */
const TEST_LIKE_PLATFORM_TOKEN = 'test-platform-owner-token-0123456789';

describe('Prometheus metrics on a port of their own (KEYPORT_METRICS_PORT)', () => {
  let kp: TestKeyport;
  before(async () => {
    kp = await startTestKeyport('sqlite', { KEYPORT_METRICS_PORT: '0' });
  });
  after(async () => kp?.stop());

  test('/metrics answers there, without a token, and only /metrics; the main port has none', async () => {
    assert.ok(kp.metricsUrl !== null);
    assert.notEqual(kp.metricsUrl, kp.url);
    const res = await scrape(kp.metricsUrl!, null);
    assert.equal(res.status, 200);
    assert.equal(res.samples.get('keyport_build_info{version="0.1.0"}'), 1);
    assert.equal((await fetch(`${kp.metricsUrl}/v1/catalog`)).status, 404, 'the API is not on the metrics port');
    assert.equal((await kp.api('GET', '/metrics')).status, 404, 'nor the metrics on the API port');
  });
});

describe('without KEYPORT_METRICS_PORT or KEYPORT_METRICS_TOKEN, no metrics', () => {
  let kp: TestKeyport;
  before(async () => {
    kp = await startTestKeyport('sqlite');
  });
  after(async () => kp?.stop());

  test('/metrics is not found, and nothing is collected', async () => {
    assert.equal((await kp.api('GET', '/metrics')).status, 404);
    assert.equal(kp.services.metrics, null);
    assert.equal(kp.metricsUrl, null);
  });
});

describeEachStore('request ids and the System page', (kp) => {
  test('X-Request-Id: a well-formed one is kept, a bad one replaced; traceparent gives the trace and parent ids; problems carry it as instance', async () => {
    const given = await kp.api('GET', '/v1/accounts/acct_nothere', undefined, { 'x-request-id': 'gw-7f3a:42' });
    assert.equal(given.status, 404);
    assert.equal(given.headers.get('x-request-id'), 'gw-7f3a:42');
    assert.equal(given.body.instance, 'urn:keyport:request:gw-7f3a:42');

    for (const bad of ['a'.repeat(129), 'has space', 'quote"s', ''])
      assert.match((await kp.api('GET', '/v1/catalog', undefined, { 'x-request-id': bad })).headers.get('x-request-id')!, /^[0-9a-f-]{36}$/, JSON.stringify(bad));

    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traced = await kp.api('GET', '/v1/catalog', undefined, { traceparent });
    assert.equal(traced.headers.get('x-request-id'), '4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7');
    for (const broken of ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'])
      assert.match((await kp.api('GET', '/v1/catalog', undefined, { traceparent: broken })).headers.get('x-request-id')!, /^[0-9a-f-]{36}$/, broken);
    // X-Request-Id wins over traceparent.
    assert.equal((await kp.api('GET', '/v1/catalog', undefined, { traceparent, 'x-request-id': 'mine' })).headers.get('x-request-id'), 'mine');

    const fresh = await kp.api('GET', '/v1/nothing');
    const id = fresh.headers.get('x-request-id')!;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(fresh.body.instance, `urn:keyport:request:${id}`);
    assert.notEqual((await kp.api('GET', '/v1/nothing')).headers.get('x-request-id'), id, 'a new id per request');
  });

  test('GET /v1/system/nodes: this node, its version, heartbeat and sync lag; platform owner only', async () => {
    const res = await kp.api('GET', '/v1/system/nodes');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.heartbeatIntervalSeconds, 5);
    const self = res.body.nodes.find((n: { self: boolean }) => n.self);
    assert.ok(self, JSON.stringify(res.body));
    assert.deepEqual(
      { ...self, startedAt: typeof self.startedAt, lastSeenAt: typeof self.lastSeenAt, syncLagMs: typeof self.syncLagMs, host: typeof self.host },
      { id: kp.services.nodes.id, host: 'string', version: '0.1.0', startedAt: 'string', lastSeenAt: 'string', state: 'up', syncLagMs: 'number', lastError: null, lastErrorAt: null, self: true },
    );
    assert.match(self.id, /^node_[0-9a-f]{12}$/);

    // An error noted by the node shows at its next heartbeat.
    kp.services.nodes.noteError('Redis redis://127.0.0.1:1/ is unavailable: connect ECONNREFUSED');
    await kp.services.nodes.beat();
    const later = (await kp.api('GET', '/v1/system/nodes')).body.nodes.find((n: { self: boolean }) => n.self);
    assert.equal(later.lastError, 'Redis redis://127.0.0.1:1/ is unavailable: connect ECONNREFUSED');
    assert.equal(typeof later.lastErrorAt, 'string');

    const account = await createAccount(kp.api);
    const { token } = await operatorToken(kp, account, 'owner@example.com', 'owner');
    assert.equal((await kp.as(token)('GET', '/v1/system/nodes')).status, 403, "an account's owner is not the platform owner");
    assert.equal((await kp.as(null)('GET', '/v1/system/nodes')).status, 401);
  });
});

describe('request ids in the log of a Keyport process', () => {
  let proc: KeyportProcess | undefined;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyport-reqid-'));
    proc = await startProcess({ KEYPORT_DATA_DIR: dir, KEYPORT_LOG_LEVEL: 'info' });
  });
  after(async () => {
    if (proc) {
      const gone = exitOf(proc.child);
      proc.child.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test("every line about a request carries the caller's X-Request-Id as reqId", async () => {
    const res = await fetch(`${proc!.url}/v1/accounts/acct_nothere`, { headers: { 'x-request-id': 'gw-line-42', authorization: `Bearer ${TEST_LIKE_PLATFORM_TOKEN}` } });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { instance: string }).instance, 'urn:keyport:request:gw-line-42');
    await outputMatching(proc!.output, /"reqId":"gw-line-42".*"msg":"request completed"/, 10_000);
    const lines = logLines(proc!.output()).filter((l) => l.reqId === 'gw-line-42');
    // At level info, one line per management request (see Request logging).
    assert.deepEqual(lines.map((l) => l.msg), ['request completed']);
  });
});

describe('Redis metrics while Redis does not answer', () => {
  let kp: TestKeyport;
  before(async () => {
    // Nothing listens on port 1: the node starts, counts rate limits on its own, and says so.
    kp = await startTestKeyport('sqlite', { KEYPORT_METRICS_TOKEN: METRICS_TOKEN, REDIS_URL: 'redis://127.0.0.1:1', KEYPORT_REDIS_TIMEOUT_MS: '100' });
  });
  after(async () => kp?.stop());

  test('keyport_redis_up is 0 and the fallback is 1; the System page shows the error', async () => {
    const { samples } = await scrape(kp.url);
    assert.equal(samples.get('keyport_redis_up'), 0);
    assert.equal(samples.get('keyport_rate_limit_fallback'), 1);
    await kp.services.nodes.beat();
    const self = (await kp.api('GET', '/v1/system/nodes')).body.nodes.find((n: { self: boolean }) => n.self);
    assert.match(self.lastError, /^Redis redis:\/\/127\.0\.0\.1:1\/? is unavailable: /);
  });
});
