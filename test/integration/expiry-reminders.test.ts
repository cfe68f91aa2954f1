import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { startKeyport, type RunningKeyport } from '../../src/server.js';
import { createAccount, createKey, freshStore, startTestKeyport, STORES, TEST_TOKEN, type TestKeyport } from '../helpers/keyport.js';
import { MemoryNotices } from '../helpers/notices.js';

const EXPIRY_NOTICES = ['key.expiring', 'key.expired'] as const;
import { eventually } from '../helpers/oauth.js';
import { ManualClock } from '../../src/domain/clock.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

for (const store of STORES)
  describe(`expiry reminders (${store})`, () => {
    let kp: TestKeyport;
    const sink = new MemoryNotices(EXPIRY_NOTICES);
    before(async () => {
      // Passes are run by the tests, at the instants they pick.
      kp = await startTestKeyport(store, { KEYPORT_EXPIRY_SCAN_INTERVAL: '0' }, { notices: sink });
    });
    after(async () => kp?.stop());

    const at = (ms: number) => new Date(kp.clock.now() + ms).toISOString();

    test('key.expiring once per key and threshold, the smallest one due; key.expired once when it lapses', async () => {
      const account = await createAccount(kp.api);
      const soon = (await createKey(kp.api, account, { name: 'soon', expiresAt: at(3 * DAY) })).key;
      const later = (await createKey(kp.api, account, { name: 'later', expiresAt: at(10 * DAY) })).key;
      const today = (await createKey(kp.api, account, { name: 'today', expiresAt: at(12 * HOUR) })).key;
      const never = (await createKey(kp.api, account, { name: 'never', expiresAt: null })).key;

      assert.equal(await kp.services.expiry.run(), 2);
      // 'today' is within both thresholds: only the 1-day reminder goes out.
      assert.deepEqual(sink.of(account), [`key.expiring ${today.id}`, `key.expiring ${soon.id}`]);
      assert.equal(await kp.services.expiry.run(), 0, 'a second pass sends nothing again');

      kp.clock.advance(2.5 * DAY);
      assert.equal(await kp.services.expiry.run(), 2);
      assert.deepEqual(sink.of(account).slice(2), [`key.expired ${today.id}`, `key.expiring ${soon.id}`]);

      kp.clock.advance(1 * DAY);
      assert.equal(await kp.services.expiry.run(), 2);
      assert.deepEqual(sink.of(account).slice(4), [`key.expired ${soon.id}`, `key.expiring ${later.id}`]);
      assert.equal(await kp.services.expiry.run(), 0);
      assert.ok(!sink.of(account).some((n) => n.endsWith(never.id)));

      // The notice carries the key's API view, never a hash.
      const notice = sink.received.find((n) => n.type === 'key.expired' && (n.data as { id: string }).id === soon.id)!;
      assert.deepEqual(notice.data, (await kp.api('GET', `/v1/accounts/${account}/keys/${soon.id}`)).body);

      // The audit log says who sent what: Keyport itself, with the threshold.
      const audit = (await kp.api('GET', `/v1/accounts/${account}/audit?key=${soon.id}`)).body.items.filter((e: any) => e.action.startsWith('key.expir'));
      assert.deepEqual(
        audit.map((e: any) => [e.action, e.actor, e.after.daysBefore ?? null]).reverse(),
        [
          ['key.expiring', { kind: 'system', id: 'keyport', label: 'expiry reminders' }, 7],
          ['key.expiring', { kind: 'system', id: 'keyport', label: 'expiry reminders' }, 1],
          ['key.expired', { kind: 'system', id: 'keyport', label: 'expiry reminders' }, null],
        ],
      );
    });

    test('a key given a new expiry is reminded again for it; the account picks its thresholds', async () => {
      const account = await createAccount(kp.api);
      const { key } = await createKey(kp.api, account, { expiresAt: at(5 * DAY) });
      await kp.services.expiry.run();
      assert.deepEqual(sink.of(account), [`key.expiring ${key.id}`]);
      await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { expiresAt: at(6 * DAY) });
      await kp.services.expiry.run();
      assert.deepEqual(sink.of(account), [`key.expiring ${key.id}`, `key.expiring ${key.id}`], 'the new expiry gets its own 7-day reminder');

      const quiet = await createAccount(kp.api);
      assert.equal((await kp.api('PATCH', `/v1/accounts/${quiet}/settings`, { expiryNoticeDays: [] })).status, 200);
      const wide = await createAccount(kp.api);
      assert.deepEqual((await kp.api('PATCH', `/v1/accounts/${wide}/settings`, { expiryNoticeDays: [1, 30] })).body.settings.expiryNoticeDays, [30, 1]);
      const q = (await createKey(kp.api, quiet, { expiresAt: at(2 * DAY) })).key;
      const w = (await createKey(kp.api, wide, { expiresAt: at(20 * DAY) })).key;
      await kp.services.expiry.run();
      assert.deepEqual(sink.of(quiet), [], 'no thresholds: no reminders');
      assert.deepEqual(sink.of(wide), [`key.expiring ${w.id}`]);
      kp.clock.advance(2 * DAY);
      await kp.services.expiry.run();
      assert.deepEqual(sink.of(quiet), [`key.expired ${q.id}`], 'but the expiry itself is still told');
    });

    test('the key list filters by expiry: expiresBefore, and expiresAfter for a window', async () => {
      const account = await createAccount(kp.api);
      await createKey(kp.api, account, { name: 'past', expiresAt: at(HOUR) });
      kp.clock.advance(2 * HOUR);
      for (const [name, expiresAt] of [['week', at(3 * DAY)], ['month', at(20 * DAY)], ['none', null]] as const) await createKey(kp.api, account, { name, expiresAt });
      const names = async (query: string) => {
        const res = await kp.api('GET', `/v1/accounts/${account}/keys?sort=name&${query}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return res.body.items.map((k: any) => k.name);
      };
      assert.deepEqual(await names(`expiresBefore=${encodeURIComponent(at(7 * DAY))}`), ['past', 'week']);
      assert.deepEqual(await names(`expiresBefore=${encodeURIComponent(at(7 * DAY))}&expiresAfter=${encodeURIComponent(at(0))}`), ['week']);
      assert.deepEqual(await names(`expiresAfter=${encodeURIComponent(at(0))}`), ['month', 'week']);
      const bad = await kp.api('GET', `/v1/accounts/${account}/keys?expiresBefore=soon`);
      assert.equal(bad.status, 400);
      const empty = await kp.api('GET', `/v1/accounts/${account}/keys?expiresBefore=${encodeURIComponent(at(0))}&expiresAfter=${encodeURIComponent(at(DAY))}`);
      assert.equal(empty.status, 400);
      assert.ok(empty.body.errors.some((e: any) => e.pointer === '/querystring/expiresAfter'), JSON.stringify(empty.body));
    });
  });

describe('expiry reminders with two nodes on PostgreSQL', () => {
  let nodes: RunningKeyport[] = [];
  let dispose: (() => Promise<void>) | undefined;
  const sinks = [new MemoryNotices(EXPIRY_NOTICES), new MemoryNotices(EXPIRY_NOTICES)];
  const clock = new ManualClock(Date.now());
  before(async () => {
    const store = await freshStore('postgres');
    dispose = store.dispose;
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', KEYPORT_BOOTSTRAP_TOKEN: TEST_TOKEN, KEYPORT_EXPIRY_SCAN_INTERVAL: '0', ...store.env });
    for (const notices of sinks) nodes.push(await startKeyport(config, { clock, notices }));
  });
  after(async () => {
    for (const node of nodes) await node.close();
    nodes = [];
    await dispose?.();
  });

  test('passes run at once on both nodes send each notice once, whichever node sends it', async () => {
    const { apiClient } = await import('../helpers/keyport.js');
    const api = apiClient(nodes[0]!.url, TEST_TOKEN);
    const account = await createAccount(api);
    await api('PATCH', `/v1/accounts/${account}/settings`, { keyLimitPerEnvironment: 100 });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await createKey(api, account, { name: `k${i}`, expiresAt: new Date(clock.now() + (i % 2 ? 3 * DAY : 12 * HOUR)).toISOString() })).key.id);
    const passes = () => Promise.all(nodes.flatMap((node) => [node.services.expiry.run(), node.services.expiry.run()]));
    const sent = (await passes()).reduce((a, b) => a + b, 0);
    assert.equal(sent, 30);
    const all = () => [...sinks[0]!.of(account), ...sinks[1]!.of(account)].sort();
    assert.deepEqual(all(), ids.map((id) => `key.expiring ${id}`).sort());
    clock.advance(2.5 * DAY);
    assert.equal((await passes()).reduce((a, b) => a + b, 0), 30, 'half expire, half reach the 1-day mark');
    assert.equal(all().length, 60);
    assert.equal(new Set(all()).size, 45, 'none twice: a reminder per threshold and the expiry for the first half, two reminders for the others');
    const audit = (await api('GET', `/v1/accounts/${account}/audit?limit=500`)).body.items.filter((e: any) => e.action.startsWith('key.expir'));
    assert.equal(audit.length, 60);
  });

  test('of the scheduled passes of one interval, one node runs and the others skip', async () => {
    const { apiClient } = await import('../helpers/keyport.js');
    const api = apiClient(nodes[1]!.url, TEST_TOKEN);
    const account = await createAccount(api);
    const { key } = await createKey(api, account, { expiresAt: new Date(clock.now() + 3 * DAY).toISOString() });
    clock.advance(60_000);
    const ticks = await Promise.all([...nodes, ...nodes].map((node) => node.services.expiry.tick(60_000)));
    assert.equal(ticks.filter((t) => t === null).length, 3, 'three of four skipped');
    assert.deepEqual(ticks.filter((t) => t !== null), [1]);
    assert.deepEqual([...sinks[0]!.of(account), ...sinks[1]!.of(account)], [`key.expiring ${key.id}`]);
    clock.advance(60_000);
    assert.equal((await Promise.all(nodes.map((node) => node.services.expiry.tick(60_000)))).filter((t) => t === null).length, 1, 'the next interval is claimed anew');
  });
});

describe('expiry reminders on their own', () => {
  test('a node runs its passes every KEYPORT_EXPIRY_SCAN_INTERVAL seconds, without being asked', async () => {
    const sink = new MemoryNotices(EXPIRY_NOTICES);
    const kp = await startTestKeyport('sqlite', { KEYPORT_EXPIRY_SCAN_INTERVAL: '1' }, { notices: sink });
    try {
      const account = await createAccount(kp.api);
      const { key } = await createKey(kp.api, account, { expiresAt: new Date(kp.clock.now() + 2 * DAY).toISOString() });
      // A pass may have claimed the current interval already: the test clock moves on to the next.
      kp.clock.advance(1000);
      assert.ok(await eventually(async () => sink.of(account).length > 0, 30_000), 'a pass ran within 30 s');
      assert.deepEqual(sink.of(account), [`key.expiring ${key.id}`]);
    } finally {
      await kp.stop();
    }
  });
});
