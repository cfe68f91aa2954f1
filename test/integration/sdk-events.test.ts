import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createAccount, createKey, describeEachStore, TEST_TOKEN } from '../helpers/keyport.js';
import { operatorToken } from '../helpers/operators.js';

interface Received {
  event: string;
  id: string | undefined;
  data: any;
}

/**
 * Reads a server-sent event stream until `until` says enough (or `ms` pass), then hangs up.
 * Returns the status, the content type and the events.
 */
async function readStream(url: string, headers: Record<string, string>, until: (events: Received[]) => boolean, ms = 5000) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const res = await fetch(url, { headers, signal: controller.signal });
  const events: Received[] = [];
  if (res.status !== 200) {
    clearTimeout(timer);
    return { status: res.status, type: res.headers.get('content-type'), events, body: await res.json() };
  }
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
        if (fields.event !== undefined) events.push({ event: fields.event, id: fields.id, data: JSON.parse(fields.data ?? 'null') });
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { status: res.status, type: res.headers.get('content-type'), events, body: null };
}

describeEachStore('GET /v1/events: the change stream for in-process verifiers', (kp) => {
  let mine: string;
  let other: string;
  let serviceToken: string;
  before(async () => {
    mine = await createAccount(kp.api, { name: 'Mine' });
    other = await createAccount(kp.api, { name: 'Other' });
    // A gateway's service token of one account: it may verify that account's credentials, not the other's.
    serviceToken = await newServiceToken();
  });
  const url = () => `${kp.url}/v1/events?heartbeat=300`;
  const newServiceToken = async (): Promise<string> => {
    const res = await kp.api('POST', `/v1/accounts/${mine}/service-tokens`, { name: 'gateway' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.token;
  };

  test('a service token revoked while its stream is open: the stream ends', async () => {
    const res = await kp.api('POST', `/v1/accounts/${mine}/service-tokens`, { name: 'soon revoked' });
    const token = res.body.token as string;
    let revoked = false;
    const seen = readStream(url(), { authorization: `Bearer ${token}` }, (events) => {
      if (!revoked && events.some((e) => e.event === 'ready')) {
        revoked = true;
        void kp.api('DELETE', `/v1/accounts/${mine}/service-tokens/${res.body.id}`);
      }
      return false;
    }, 15_000);
    const started = Date.now();
    const { events } = await seen;
    assert.equal(revoked, true);
    assert.ok(Date.now() - started < 14_000, 'the server ended the stream (the reader did not give up waiting)');
    assert.equal(events[0]!.event, 'ready');
    const after = await readStream(url(), { authorization: `Bearer ${token}` }, () => true);
    assert.equal(after.status, 401);
  });

  test('the stream: ready, then only the changes of accounts the token may verify, heartbeats, ids that resume', async () => {
    const seen = readStream(url(), { authorization: `Bearer ${serviceToken}` }, (events) => events.some((e) => e.event === 'key_changed' && e.data.account === mine && e.data.changeType === 'updated') && events.some((e) => e.event === 'heartbeat'));
    await new Promise((r) => setTimeout(r, 300));
    await createKey(kp.api, other, { credentialType: 'token', active: true });
    const { key } = await createKey(kp.api, mine, { credentialType: 'token', active: true });
    assert.equal((await kp.api('PATCH', `/v1/accounts/${mine}/keys/${key.id}`, { active: false })).status, 200);
    const { status, type, events } = await seen;
    assert.equal(status, 200);
    assert.equal(type, 'text/event-stream; charset=utf-8');
    assert.equal(events[0]!.event, 'ready');
    assert.equal(events[0]!.data.resumed, false);
    const changes = events.filter((e) => e.event === 'key_changed');
    assert.deepEqual(changes.map((e) => e.data.account), [mine, mine], "nothing of the other account's");
    const updated = changes.find((e) => e.data.changeType === 'updated')!;
    assert.deepEqual(Object.keys(updated.data), ['seq', 'type', 'account', 'changeType', 'keyId', 'clientId', 'jti', 'grantId', 'grantVersion', 'kid', 'until', 'at']);
    assert.deepEqual([updated.data.type, updated.data.keyId], ['key_changed', key.id]);
    assert.match(updated.id!, /^\d+-\d+$/);
    assert.equal(Number(updated.id!.split('-')[0]), updated.data.seq);

    // Resuming from before the change replays it.
    const created = changes.find((e) => e.data.changeType === 'created')!;
    const resumed = await readStream(url(), { authorization: `Bearer ${serviceToken}`, 'last-event-id': created.id! }, (e) => e.some((x) => x.event === 'ready'));
    assert.ok(resumed.events.some((e) => e.event === 'key_changed' && e.data.seq === updated.data.seq), 'the missed change is replayed');
    assert.deepEqual(resumed.events.at(-1)!.event, 'ready');
    assert.equal(resumed.events.at(-1)!.data.resumed, true);

    // A resume point it did not send, or one from long ago: reset (drop every cached answer).
    for (const bad of ['garbage', '1-1', '999999999-1']) {
      const reset = await readStream(url(), { authorization: `Bearer ${serviceToken}`, 'last-event-id': bad }, (e) => e.some((x) => x.event === 'ready'));
      assert.equal(reset.events[0]!.event, 'reset', bad);
    }
  });

  test('authentication: none is 401, a token that may verify nothing is 403, both as problems', async () => {
    const anonymous = await readStream(url(), {}, () => true);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.type, 'application/problem+json; charset=utf-8');
    const viewer = (await operatorToken(kp, mine, `viewer-${Date.now()}@example.com`, 'viewer')).token;
    const refused = await readStream(url(), { authorization: `Bearer ${viewer}` }, () => true);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'forbidden');
    const badQuery = await readStream(`${kp.url}/v1/events?heartbeat=5`, { authorization: `Bearer ${TEST_TOKEN}` }, () => true);
    assert.equal(badQuery.status, 400);
  });

  test('POST /v1/verify/usage counts the uses of keys the caller may verify and ignores the rest', async () => {
    const { key } = await createKey(kp.api, mine, { credentialType: 'token', active: true, environment: 'production' });
    const foreign = await createKey(kp.api, other, { credentialType: 'token', active: true, environment: 'production' });
    const at = kp.clock.now();
    const res = await kp.as(serviceToken)('POST', '/v1/verify/usage', {
      uses: [
        { keyId: key.id, account: mine, environment: 'production', lastUsedAt: at, outcomes: { valid: 7, insufficient_scope: 2 } },
        { keyId: foreign.key.id, account: other, environment: 'production', lastUsedAt: at, outcomes: { valid: 1 } },
        { keyId: 'key_gone', account: mine, environment: 'production', lastUsedAt: at, outcomes: { valid: 1 } },
      ],
    });
    assert.deepEqual([res.status, res.body], [200, { accepted: 1, ignored: 2 }]);
    await kp.services.tokens.usage.flush();
    assert.equal((await kp.api('GET', `/v1/accounts/${mine}/keys/${key.id}`)).body.lastUsedAt, new Date(at).toISOString());
    assert.equal((await kp.api('GET', `/v1/accounts/${other}/keys/${foreign.key.id}`)).body.lastUsedAt, null);
    const usage = (await kp.api('GET', `/v1/accounts/${mine}/usage?key=${key.id}`)).body;
    assert.deepEqual([usage.totals.counts.valid, usage.totals.counts.insufficient_scope], [7, 2]);
    const bad = await kp.as(serviceToken)('POST', '/v1/verify/usage', { uses: [{ keyId: key.id, account: mine, environment: 'production', lastUsedAt: at, outcomes: { bogus: 1 } }] });
    assert.equal(bad.status, 400);
  });

  test('the OpenAPI document describes the stream and its event data', async () => {
    const doc = (await kp.api('GET', '/openapi.json')).body;
    const get = doc.paths['/v1/events'].get;
    assert.match(get.description, /Last-Event-ID/);
    assert.ok(get.responses['200'].content['text/event-stream'].schema.properties.keyId);
    assert.ok(doc.paths['/v1/verify/lookup'].post);
    assert.ok(doc.paths['/v1/verify/usage'].post);
  });
});
