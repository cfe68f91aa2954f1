import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { NOTICE_TYPES } from '../../src/domain/notice-types.js';
import type { RunningKeyport } from '../../src/server.js';
import { apiClient, createAccount, createKey, describeEachStore, freshStore, STORES, startTestKeyport, type Api, type TestKeyport } from '../helpers/keyport.js';
import { eventually, startPeer } from '../helpers/oauth.js';
import { killHard, spawnKeyport } from '../helpers/process.js';
import { startReceiver, type Received, type Receiver } from '../helpers/webhook-receiver.js';

const WEBHOOK_ENV = { KEYPORT_WEBHOOK_ALLOW_HTTP: 'on', KEYPORT_WEBHOOK_POLL_MS: '50' };
/** Every event an operator can cause through the API (the expiry, leak and credit events come from elsewhere). */
const CHANGE_EVENTS = ['key.created', 'key.updated', 'key.secret_reset', 'key.regenerated', 'key.deleted', 'grant.created', 'grant.updated', 'grant.deleted'];

/** Checks a delivery with the Standard Webhooks library and returns its payload. */
function verified(secret: string, r: Received): any {
  return new StandardWebhook(secret).verify(r.body, r.headers as Record<string, string>);
}

async function addWebhook(api: Api, account: string, url: string, events: readonly string[] = NOTICE_TYPES) {
  const res = await api('POST', `/v1/accounts/${account}/webhooks`, { url, events, description: 'Test receiver' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { webhook: any; secret: string };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  assert.ok(await eventually(async () => check(), ms), `timed out waiting for ${what}`);
}

describeEachStore(
  'webhooks',
  (kp) => {
    let receiver: Receiver;
    before(async () => {
      receiver = await startReceiver();
    });
    after(async () => receiver?.close());

    test('an endpoint is made with a secret shown once; listing and reading it never show the secret', async () => {
      const account = await createAccount(kp.api);
      const { webhook, secret } = await addWebhook(kp.api, account, receiver.url, ['key.created']);
      assert.match(secret, /^whsec_[A-Za-z0-9+/=]{32}$/);
      assert.deepEqual(Object.keys(webhook).sort(), ['accountId', 'active', 'createdAt', 'description', 'events', 'failing', 'failingSince', 'id', 'previousSecretExpiresAt', 'updatedAt', 'url']);
      assert.deepEqual({ ...webhook, id: undefined, createdAt: undefined, updatedAt: undefined }, {
        id: undefined, accountId: account, url: receiver.url, description: 'Test receiver', events: ['key.created'], active: true, failing: false, failingSince: null, previousSecretExpiresAt: null, createdAt: undefined, updatedAt: undefined,
      });
      const list = await kp.api('GET', `/v1/accounts/${account}/webhooks`);
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.items, [webhook]);
      assert.ok(!JSON.stringify(list.body).includes(secret.slice(6)));
      assert.deepEqual((await kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}`)).body, webhook);
    });

    test('every key and grant change and a test ping reach the receiver once, signed so standardwebhooks accepts them', async () => {
      receiver.received.length = 0;
      const account = await createAccount(kp.api);
      const { webhook, secret } = await addWebhook(kp.api, account, receiver.url);
      const keys = `/v1/accounts/${account}/keys`;
      const { key } = await createKey(kp.api, account);
      await kp.api('PATCH', `${keys}/${key.id}`, { name: 'Renamed' });
      await kp.api('POST', `${keys}/${key.id}/reset-secret`, { confirm: true });
      await kp.api('POST', `${keys}/${key.id}/regenerate`, { confirm: true });
      await kp.api('DELETE', `${keys}/${key.id}`, { confirm: true });
      const partner = await createAccount(kp.api, { name: 'Partner' });
      const theirs = await createKey(kp.api, partner);
      const grant = await kp.api('POST', `/v1/accounts/${account}/grants`, { key: theirs.key.id, roles: [{ definition: 'product_data', level: 'viewer' }] });
      assert.equal(grant.status, 201);
      await kp.api('PATCH', `/v1/accounts/${account}/grants/${grant.body.grantId}`, { active: false });
      await kp.api('DELETE', `/v1/accounts/${account}/grants/${grant.body.grantId}`);
      kp.clock.advance(1); // the ping is the newest delivery of the log
      const ping = await kp.api('POST', `/v1/accounts/${account}/webhooks/${webhook.id}/test`);
      assert.equal(ping.status, 202);
      assert.equal(ping.body.type, 'webhook.test');

      await until('nine deliveries', () => receiver.received.length >= CHANGE_EVENTS.length + 1);
      const payloads = receiver.received.map((r) => verified(secret, r));
      assert.deepEqual(payloads.map((p) => p.type).sort(), [...CHANGE_EVENTS, 'webhook.test'].sort());
      // Each with its own message id, and the payload {type, timestamp, data} with the API's views.
      assert.equal(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size, payloads.length);
      for (const p of payloads) assert.deepEqual(Object.keys(p).sort(), ['data', 'timestamp', 'type']);
      const created = payloads.find((p) => p.type === 'key.created')!;
      assert.equal(created.data.id, key.id);
      assert.equal(created.data.name, 'Integration');
      assert.equal(payloads.find((p) => p.type === 'key.updated')!.data.name, 'Renamed');
      assert.equal(payloads.find((p) => p.type === 'grant.updated')!.data.active, false);
      assert.equal(payloads.find((p) => p.type === 'webhook.test')!.data.id, webhook.id);
      for (const r of receiver.received) for (const word of ['secretHash', 'secretEncrypted', '"secret"']) assert.ok(!r.body.includes(word), `${word} in ${r.body}`);
      // A changed payload or another secret is refused by the library.
      assert.throws(() => new StandardWebhook(secret).verify(receiver.received[0]!.body.replace('key.', 'kex.'), receiver.received[0]!.headers as Record<string, string>));
      assert.throws(() => verified(`whsec_${Buffer.alloc(24, 1).toString('base64')}`, receiver.received[0]!));

      // The delivery log says so, newest first, paged.
      await until('the log to show all delivered', async () => {
        const log = await kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}/deliveries?limit=100`);
        return log.body.items.length === payloads.length && log.body.items.every((d: any) => d.status === 'delivered');
      });
      const first = await kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}/deliveries?limit=4`);
      assert.equal(first.body.items.length, 4);
      assert.equal(first.body.items[0].type, 'webhook.test');
      assert.deepEqual({ ...first.body.items[0], id: undefined, eventId: undefined, createdAt: undefined, lastAttemptAt: undefined, deliveredAt: undefined, lastDurationMs: undefined, payload: undefined }, {
        id: undefined, eventId: undefined, type: 'webhook.test', status: 'delivered', attempts: 1, nextAttemptAt: null, lastAttemptAt: undefined, lastStatusCode: 200, lastDurationMs: undefined, lastError: null, deliveredAt: undefined, createdAt: undefined, payload: undefined,
      });
      const rest = await kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}/deliveries?limit=100&cursor=${first.body.nextCursor}`);
      assert.equal(rest.body.items.length, payloads.length - 4);
      assert.equal(rest.body.nextCursor, null);
    });

    test('only the events an endpoint subscribed to reach it, and a switched-off endpoint gets none', async () => {
      receiver.received.length = 0;
      const account = await createAccount(kp.api);
      const { webhook, secret } = await addWebhook(kp.api, account, receiver.url, ['key.deleted', 'key.created']);
      // A change that is refused queues nothing.
      const refused = await kp.api('POST', `/v1/accounts/${account}/keys`, { name: 'Bad', environment: 'sandbox', kind: 'custom', credentialType: 'token', scopes: ['no.such_scope'] });
      assert.equal(refused.status, 400);
      assert.deepEqual((await kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}/deliveries`)).body.items, []);
      assert.equal((await kp.api('PATCH', `/v1/accounts/${account}/webhooks/${webhook.id}`, { events: ['key.deleted'] })).body.events.join(), 'key.deleted');
      const { key } = await createKey(kp.api, account);
      await kp.api('DELETE', `/v1/accounts/${account}/keys/${key.id}`, { confirm: true });
      await until('the delete', () => receiver.received.length >= 1);
      assert.equal(verified(secret, receiver.received[0]!).type, 'key.deleted');
      assert.equal((await kp.api('PATCH', `/v1/accounts/${account}/webhooks/${webhook.id}`, { active: false })).body.active, false);
      const other = await createKey(kp.api, account);
      await kp.api('DELETE', `/v1/accounts/${account}/keys/${other.key.id}`, { confirm: true });
      const log = await kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}/deliveries`);
      assert.equal(log.body.items.length, 1);
    });

    test('a receiver that fails gets the delivery again, with backoff, once it recovers; after 3 days the endpoint is failing', async () => {
      receiver.received.length = 0;
      receiver.status = 500;
      const account = await createAccount(kp.api);
      const { webhook, secret } = await addWebhook(kp.api, account, receiver.url, ['key.created']);
      await createKey(kp.api, account);
      const log = () => kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}/deliveries`);
      await until('the first failed attempt', async () => (await log()).body.items[0]?.lastStatusCode === 500);
      let [delivery] = (await log()).body.items;
      assert.equal(delivery.status, 'pending');
      assert.equal(delivery.attempts, 1);
      assert.equal(delivery.lastError, 'the receiver answered 500');
      const wait = Date.parse(delivery.nextAttemptAt) - kp.clock.now();
      assert.ok(wait >= 3_750 && wait <= 6_250, `first retry in ${wait} ms`);
      // Not due yet: nothing more is sent.
      assert.equal(receiver.received.length, 1);
      receiver.status = 204;
      kp.clock.advance(wait);
      await until('the retry', async () => (await log()).body.items[0]?.status === 'delivered');
      [delivery] = (await log()).body.items;
      assert.equal(delivery.attempts, 2);
      assert.equal(delivery.lastStatusCode, 204);
      assert.equal(receiver.received.length, 2);
      assert.equal(receiver.received[0]!.headers['webhook-id'], receiver.received[1]!.headers['webhook-id']);
      assert.equal(verified(secret, receiver.received[1]!).type, 'key.created');

      // Failing for good: after 3 days of retries the delivery fails and the endpoint says so.
      receiver.status = 503;
      await createKey(kp.api, account);
      await until('another failed attempt', async () => (await log()).body.items[0]?.lastStatusCode === 503);
      kp.clock.advance(3 * 86_400_000);
      await until('the delivery to fail', async () => (await log()).body.items[0]?.status === 'failed');
      const failing = (await kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}`)).body;
      assert.equal(failing.failing, true);
      assert.equal(failing.failingSince, new Date(kp.clock.now()).toISOString());
      // Sent again by hand once the receiver works: delivered, and the endpoint no longer failing.
      receiver.status = 200;
      const failed = (await log()).body.items[0];
      const retry = await kp.api('POST', `/v1/accounts/${account}/webhooks/${webhook.id}/deliveries/${failed.id}/retry`);
      assert.equal(retry.status, 202);
      assert.equal(retry.body.status, 'pending');
      await until('the manual retry', async () => (await log()).body.items[0]?.status === 'delivered');
      assert.equal((await kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}`)).body.failing, false);
    });

    test('a receiver that does not answer holds up no request: changes and reads go on while its delivery waits', async () => {
      receiver.received.length = 0;
      receiver.hang = true;
      try {
        const account = await createAccount(kp.api);
        const { webhook } = await addWebhook(kp.api, account, receiver.url, ['key.created', 'key.updated']);
        const { key } = await createKey(kp.api, account);
        await until('the delivery in flight', () => receiver.received.length === 1);
        // A delivery being sent cannot be queued again meanwhile: it would go out twice.
        const [inFlight] = (await kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}/deliveries`)).body.items;
        const again = await kp.api('POST', `/v1/accounts/${account}/webhooks/${webhook.id}/deliveries/${inFlight.id}/retry`);
        assert.equal(again.status, 409, JSON.stringify(again.body));
        assert.equal(again.body.code, 'conflict');
        // The receiver still holds it: the API answers anyway.
        assert.equal((await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { name: 'Still fast' })).status, 200);
        assert.equal((await kp.api('GET', `/v1/accounts/${account}/keys/${key.id}`)).body.name, 'Still fast');
        assert.equal((await createKey(kp.api, account, { name: 'Another' })).key.name, 'Another');
        // Nor other endpoints' deliveries.
        const other = await startReceiver();
        try {
          const elsewhere = await createAccount(kp.api, { name: 'Elsewhere' });
          const { secret } = await addWebhook(kp.api, elsewhere, other.url, ['key.created']);
          await createKey(kp.api, elsewhere, { name: 'Elsewhere key' });
          await until("the other endpoint's delivery", () => other.received.length === 1);
          assert.equal(verified(secret, other.received[0]!).data.name, 'Elsewhere key');
        } finally {
          await other.close();
        }
      } finally {
        receiver.hang = false;
        receiver.release();
      }
      // Then the other two go out too (and none is left to arrive during the next test).
      await until('the other deliveries', () => receiver.received.length === 3);
    });

    test('after a secret rotation deliveries carry both signatures during the grace period', async () => {
      receiver.received.length = 0;
      const account = await createAccount(kp.api);
      const { webhook, secret: old } = await addWebhook(kp.api, account, receiver.url, ['webhook.test']);
      const rotated = await kp.api('POST', `/v1/accounts/${account}/webhooks/${webhook.id}/rotate-secret`, { graceSeconds: 3600 });
      assert.equal(rotated.status, 200);
      assert.notEqual(rotated.body.secret, old);
      assert.equal(rotated.body.webhook.previousSecretExpiresAt, new Date(kp.clock.now() + 3600_000).toISOString());
      await kp.api('POST', `/v1/accounts/${account}/webhooks/${webhook.id}/test`);
      await until('the ping', () => receiver.received.length >= 1);
      assert.equal(verified(old, receiver.received[0]!).type, 'webhook.test');
      assert.equal(verified(rotated.body.secret, receiver.received[0]!).type, 'webhook.test');
      kp.clock.advance(3600_001);
      await kp.api('POST', `/v1/accounts/${account}/webhooks/${webhook.id}/test`);
      await until('the second ping', () => receiver.received.length >= 2);
      assert.equal(verified(rotated.body.secret, receiver.received[1]!).type, 'webhook.test');
      assert.throws(() => verified(old, receiver.received[1]!));
      // Without a body: the default grace period of one day.
      const again = await kp.api('POST', `/v1/accounts/${account}/webhooks/${webhook.id}/rotate-secret`);
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.webhook.previousSecretExpiresAt, new Date(kp.clock.now() + 86_400_000).toISOString());
    });

    test('bad endpoints are refused with a clear error and nothing is made', async () => {
      const account = await createAccount(kp.api);
      const refused = async (body: Record<string, unknown>, code: string) => {
        const res = await kp.api('POST', `/v1/accounts/${account}/webhooks`, { url: receiver.url, events: ['key.created'], ...body });
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.code, code, JSON.stringify(res.body));
        return res.body;
      };
      const notHttps = await refused({ url: 'ftp://hooks.example.com/x' }, 'webhook_url_not_allowed');
      assert.deepEqual(notHttps.errors, [{ pointer: '/url', detail: 'must be an https:// URL (or http:// to a loopback address)' }]);
      await refused({ url: 'not a url' }, 'webhook_url_not_allowed');
      await refused({ url: 'http://93.184.215.14/hooks' }, 'webhook_url_not_allowed');
      for (const url of ['https://10.1.2.3/hooks', 'https://169.254.169.254/latest/meta-data', 'https://[fd00::1]/x', 'https://192.168.0.10/', 'https://0.0.0.0/', 'https://[::ffff:10.0.0.1]/'])
        await refused({ url }, 'webhook_url_not_allowed');
      const unknown = await refused({ events: ['key.created', 'key.stolen'] }, 'validation_failed');
      assert.equal(unknown.errors[0].pointer, '/events/1');
      await refused({ events: [] }, 'validation_failed');
      assert.deepEqual((await kp.api('GET', `/v1/accounts/${account}/webhooks`)).body.items, []);
      // A PATCH to a bad URL changes nothing either.
      const { webhook } = await addWebhook(kp.api, account, receiver.url, ['key.created']);
      const patch = await kp.api('PATCH', `/v1/accounts/${account}/webhooks/${webhook.id}`, { url: 'https://10.0.0.5/x', events: ['key.deleted'] });
      assert.equal(patch.status, 400);
      assert.equal(patch.body.code, 'webhook_url_not_allowed');
      assert.deepEqual((await kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}`)).body, webhook);
    });

    test('endpoints need settings.edit, and are deleted with their log', async () => {
      const account = await createAccount(kp.api);
      const { webhook } = await addWebhook(kp.api, account, receiver.url, ['key.created']);
      const viewerToken = await kp.api('POST', `/v1/accounts/${account}/api-tokens`, { name: 'viewer', role: 'viewer' });
      if (viewerToken.status === 201) {
        const viewer = apiClient(kp.url, viewerToken.body.token);
        assert.equal((await viewer('GET', `/v1/accounts/${account}/webhooks`)).status, 403);
      }
      assert.equal((await kp.api('DELETE', `/v1/accounts/${account}/webhooks/${webhook.id}`)).status, 204);
      assert.equal((await kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}`)).status, 404);
      assert.equal((await kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}/deliveries`)).status, 404);
    });

    test('the delivery log forgets ended deliveries after 30 days', async () => {
      receiver.received.length = 0;
      const account = await createAccount(kp.api);
      const { webhook } = await addWebhook(kp.api, account, receiver.url, ['webhook.test']);
      await kp.api('POST', `/v1/accounts/${account}/webhooks/${webhook.id}/test`);
      const log = () => kp.api('GET', `/v1/accounts/${account}/webhooks/${webhook.id}/deliveries`);
      await until('the ping delivered', async () => (await log()).body.items[0]?.status === 'delivered');
      kp.clock.advance(30 * 86_400_000 + 3_600_000);
      await until('the log pruned', async () => (await log()).body.items.length === 0);
    });
  },
  WEBHOOK_ENV,
);

describe('two nodes on PostgreSQL deliver each event once', () => {
  let kp: TestKeyport;
  let peer: RunningKeyport;
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
    kp = await startTestKeyport('postgres', WEBHOOK_ENV);
    peer = await startPeer(kp);
  });
  after(async () => {
    await peer?.close();
    await kp?.stop();
    await receiver?.close();
  });

  test('keys made on both nodes: every event arrives, none twice', async () => {
    const account = await createAccount(kp.api);
    const { secret } = await addWebhook(kp.api, account, receiver.url, ['key.created', 'key.deleted']);
    const apis = [kp.api, apiClient(peer.url, (await import('../helpers/keyport.js')).TEST_TOKEN)];
    const made = await Promise.all(Array.from({ length: 24 }, (_, i) => createKey(apis[i % 2]!, account, { name: `Key ${i}` })));
    await Promise.all(made.map(({ key }, i) => apis[(i + 1) % 2]!('DELETE', `/v1/accounts/${account}/keys/${key.id}`, { confirm: true })));
    await until('48 deliveries', () => receiver.received.length >= 48, 30_000);
    // Both nodes poll several more rounds: still nothing sent twice.
    await new Promise((r) => setTimeout(r, 500));
    const ids = receiver.received.map((r) => r.headers['webhook-id']);
    assert.equal(ids.length, 48);
    assert.equal(new Set(ids).size, 48);
    const seen = receiver.received.map((r) => verified(secret, r)).map((p) => `${p.type} ${p.data.id}`);
    assert.deepEqual(seen.sort(), made.flatMap(({ key }) => [`key.created ${key.id}`, `key.deleted ${key.id}`]).sort());
  });
});

for (const store of STORES)
  describe(`a node killed with kill -9 between a change and its delivery delivers it after restart (${store})`, () => {
    test('the delivery in flight when the node died is sent again by the restarted node', async () => {
      const fresh = await freshStore(store);
      const receiver = await startReceiver();
      const env = { ...fresh.env, ...WEBHOOK_ENV, KEYPORT_WEBHOOK_TIMEOUT_MS: '1000', KEYPORT_LOG_LEVEL: 'silent' };
      let node = spawnKeyport(env);
      try {
        const api = apiClient(await node.listening, (await import('../helpers/keyport.js')).TEST_TOKEN);
        const account = await createAccount(api);
        const { secret } = await addWebhook(api, account, receiver.url, ['key.created']);
        receiver.hang = true;
        const { key } = await createKey(api, account);
        await until('the attempt in flight', () => receiver.received.length === 1);
        await killHard(node.child);
        receiver.hang = false;
        receiver.release();
        node = spawnKeyport(env);
        await node.listening;
        // The dead node's lease runs out; the new node sends the same message again.
        await until('the delivery after restart', () => receiver.received.length >= 2, 30_000);
        const [first, again] = receiver.received;
        assert.equal(again!.headers['webhook-id'], first!.headers['webhook-id']);
        const payload = verified(secret, again!);
        assert.equal(payload.type, 'key.created');
        assert.equal(payload.data.id, key.id);
      } finally {
        await killHard(node.child);
        await receiver.close();
        await fresh.dispose();
      }
    });
  });
