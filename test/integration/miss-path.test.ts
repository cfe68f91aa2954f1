import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { generateKeyString, hashKeyString } from '../../src/domain/key-strings.js';
import { newKeyRecord } from '../../src/domain/key-rules.js';
import { platformPrincipal } from '../../src/domain/principal.js';
import type { KeyRecord } from '../../src/domain/model.js';
import { keyChangeEvents } from '../../src/services/change-events.js';
import { ExistingKeys } from '../../src/services/existing-keys.js';
import { Repositories } from '../../src/storage/repositories.js';
import { apiClient, createAccount, createKey, describeEachStore, TEST_TOKEN } from '../helpers/keyport.js';
import { eventually, startPeer } from '../helpers/oauth.js';
import { startKeyport } from '../../src/server.js';

/**
 * The cheap paths of verification and listing answer as the plain ones did: the negative cache
 * forgets a hash as soon as a key gets it (on any node), concurrent misses share one answer, a
 * coalesced bearer token is still refused once revoked, and a listing by prepared statement is
 * the listing Kysely builds, row for row.
 */
describeEachStore('the miss path and listings', (kp, store) => {
  let account: string;
  before(async () => {
    account = await createAccount(kp.api);
  });
  const verify = async (key: string, url = kp.url) => (await apiClient(url, TEST_TOKEN)('POST', '/v1/verify', { key })).body;

  /** Stores a token key with a secret chosen here, the way key creation does: the row and its key_changed event in one transaction. */
  async function createWithSecret(secret: string): Promise<KeyRecord> {
    const now = kp.clock.now();
    const { record } = newKeyRecord({
      accountId: account, name: 'Known secret', environment: 'sandbox', kind: 'custom', credentialType: 'token', scopes: ['product.read'],
      roles: [], channel: null, active: true, expiresAt: null, createdBy: 'tok_test', now, withSecret: false,
    });
    const key = { ...record, secretHash: hashKeyString(secret) };
    const actor = { principal: platformPrincipal('tok_test'), sourceIp: '127.0.0.1' };
    await kp.services.store.transaction(async (repos) => {
      await repos.keys.insert(key);
      await kp.services.outbox.record(repos, { events: keyChangeEvents({ type: 'created', actor, after: key, revokeTokens: false }, [], now) });
    });
    return key;
  }

  test('an unknown hash remembered by a node is found once another node creates a key with it', async () => {
    const peer = await startPeer(kp);
    try {
      const secret = generateKeyString('token', 'sandbox');
      assert.equal((await verify(secret, peer.url)).code, 'unknown');
      assert.equal((await verify(secret, peer.url)).code, 'unknown', 'now from the negative cache');
      assert.equal((await verify(secret)).code, 'unknown', 'and on this node too');
      await createWithSecret(secret);
      assert.equal((await verify(secret)).valid, true, 'the node that created it knows it at once');
      assert.ok(await eventually(async () => (await verify(secret, peer.url)).valid === true, 1000), 'the other node within a second');
    } finally {
      await peer.close();
    }
  });

  test('concurrent misses for one hash share one answer, known or unknown', async () => {
    const { secret } = await createKey(kp.api, account, { credentialType: 'token', active: true });
    const unknown = generateKeyString('token', 'sandbox');
    const { verification } = kp.services.tokens;
    verification.invalidate([hashKeyString(secret)], null);
    const known = await Promise.all(Array.from({ length: 20 }, () => verification.verify(secret, { consume: false })));
    assert.ok(known.every((v) => v.valid && v.credential === known[0]!.credential), 'one credential object for all of them');
    const missing = await Promise.all(Array.from({ length: 20 }, () => verification.verify(unknown, { consume: false })));
    assert.ok(missing.every((v) => v.code === 'unknown'));
    // Over HTTP too.
    const again = generateKeyString('token', 'sandbox');
    const answers = await Promise.all(Array.from({ length: 20 }, () => verify(again)));
    assert.ok(answers.every((a) => a.code === 'unknown'), JSON.stringify(answers));
  });

  /** Counts the calls of a repository method while `run` runs; the method itself still does the work. */
  async function counting<T>(target: any, method: string, run: () => Promise<T>): Promise<{ result: T; calls: number }> {
    const original = target[method];
    let calls = 0;
    target[method] = function (this: unknown, ...args: unknown[]) {
      calls++;
      return original.apply(this, args);
    };
    try {
      return { result: await run(), calls };
    } finally {
      target[method] = original;
    }
  }

  test('one read per hash at a time: concurrent misses reach the store once', async () => {
    const { secret } = await createKey(kp.api, account, { credentialType: 'token', active: true });
    const { verification } = kp.services.tokens;
    verification.invalidate([hashKeyString(secret)], null);
    const { result, calls } = await counting(kp.services.store.repos.keys, 'lookupByAnySecretHash', () =>
      Promise.all(Array.from({ length: 20 }, () => verification.verify(secret, { consume: false }))),
    );
    assert.ok(result.every((v) => v.valid));
    // SQLite answers each synchronously, before the next request can start: nothing to share, but no repeat either.
    assert.equal(calls, 1);
    const unknown = generateKeyString('token', 'sandbox');
    // A hash the filter of existing keys lets through (as about 1 % of made-up ones are, and all
    // of them while it is being built) is read from the store once, then negatively cached.
    await filterReady();
    verification.existingKeys.add([hashKeyString(unknown)]);
    const missing = await counting(kp.services.store.repos.keys, 'lookupByAnySecretHash', async () => {
      const first = await Promise.all(Array.from({ length: 20 }, () => verification.verify(unknown, { consume: false })));
      const later = await verification.verify(unknown, { consume: false });
      return [...first, later];
    });
    assert.ok(missing.result.every((v) => v.code === 'unknown'));
    assert.equal(missing.calls, 1, 'the unknown hash is read once, then answered by the negative cache');
  });

  /** Waits until this node's filter of existing keys is built (in the background after its start). */
  async function filterReady(url = kp.url): Promise<void> {
    assert.ok(await eventually(async () => (await apiClient(url, TEST_TOKEN)('GET', '/readyz')).body.keyFilter === 'ready', 10_000), 'the filter of existing keys is built');
  }

  test('a made-up key is refused by the filter of existing keys without a store read; keys made anywhere pass it', async () => {
    // A node that never reads a hash its filter does not hold (KEYPORT_UNKNOWN_KEY_READS=0: as
    // every node is once a flood has used up the reads it allows), beside one with the default.
    const strict = await startKeyport({ ...kp.config, oauth: { ...kp.config.oauth, unknownKeyReads: 0 } }, { clock: kp.clock });
    try {
      await filterReady(strict.url);
      const filter = strict.services.tokens.verification.existingKeys;
      const hitsBefore = filter.hits;
      const madeUp = Array.from({ length: 50 }, () => generateKeyString('token', 'production'));
      const { result, calls } = await counting(strict.services.store.repos.keys, 'lookupByAnySecretHash', () => Promise.all(madeUp.map((key) => verify(key, strict.url))));
      assert.ok(result.every((a) => a.code === 'unknown'), JSON.stringify(result));
      // About 1 % of made-up hashes pass a Bloom filter: at most a few of 50.
      assert.ok(calls <= 3, `${calls} store reads for 50 made-up keys`);
      assert.ok(filter.hits - hitsBefore >= 47, `the filter answered ${filter.hits - hitsBefore} of them`);
      // Made there: known at once. Made on the other node: known there once it reads the event.
      const there = await createKey(apiClient(strict.url, TEST_TOKEN), account, { credentialType: 'token', active: true });
      assert.equal((await verify(there.secret, strict.url)).valid, true, 'at once on the node that made it');
      const here = await createKey(kp.api, account, { credentialType: 'token', active: true });
      assert.equal((await verify(here.secret)).valid, true, 'at once on the node that made it');
      assert.ok(await eventually(async () => (await verify(here.secret, strict.url)).valid === true, 1000), 'within a second on the strict node');
      // A new secret is known at once too; the old one stops.
      const reset = await kp.api('POST', `/v1/accounts/${account}/keys/${here.key.id}/reset-secret`, { confirm: true });
      assert.equal(reset.status, 200, JSON.stringify(reset.body));
      assert.equal((await verify(reset.body.secret)).valid, true);
      assert.ok(await eventually(async () => (await verify(reset.body.secret, strict.url)).valid === true, 1000));
      assert.notEqual((await verify(here.secret)).valid, true);
      // A node started over a store that holds keys builds its filter from them.
      const late = await startKeyport({ ...kp.config, oauth: { ...kp.config.oauth, unknownKeyReads: 0 } }, { clock: kp.clock });
      try {
        await filterReady(late.url);
        assert.ok(late.services.tokens.verification.existingKeys.size >= 3);
        for (const secret of [there.secret, reset.body.secret]) assert.equal((await verify(secret, late.url)).valid, true);
      } finally {
        await late.close();
      }
    } finally {
      await strict.close();
    }
  });

  test('with the default budget, a key made on one node is found on another at once, before that node has read its event', async () => {
    const peer = await startPeer(kp);
    try {
      await filterReady(peer.url);
      const { secret } = await createKey(kp.api, account, { credentialType: 'token', active: true });
      assert.equal((await verify(secret, peer.url)).valid, true);
    } finally {
      await peer.close();
    }
  });

  test('the filter of existing keys is built anew, from the store, once more hashes were added than it was sized for', async () => {
    const keys = await Promise.all(Array.from({ length: 3 }, () => createKey(kp.api, account, { credentialType: 'token', active: true })));
    const filter = new ExistingKeys(kp.services.store, { readsPerSecond: 0, minCapacity: 8 });
    assert.equal(filter.state, 'loading');
    assert.equal(filter.worthReading(hashKeyString(generateKeyString('token', 'sandbox'))), true, 'while loading, every hash is read');
    const builds: number[] = [];
    filter.onBuilt = ({ hashes }) => builds.push(hashes);
    await filter.start();
    assert.equal(filter.state, 'ready');
    for (const { secret } of keys) assert.equal(filter.worthReading(hashKeyString(secret)), true);
    const held = builds[0]!;
    // Past capacity: a rebuild in the background, sized for what the store holds then.
    const added = Array.from({ length: Math.max(8, 2 * held) + 1 }, () => hashKeyString(generateKeyString('token', 'sandbox')));
    filter.add(added);
    assert.ok(await eventually(async () => builds.length === 2, 10_000), 'built again');
    assert.equal(builds[1], held, 'from the store: the hashes only added (no key has them) are gone');
    for (const { secret } of keys) assert.equal(filter.worthReading(hashKeyString(secret)), true);
    await filter.stop();
  });

  test('one read per bearer token at a time, and none while it is cached', async () => {
    const { auth } = kp.services;
    auth.invalidate();
    const { result, calls } = await counting(kp.services.store.repos.apiTokens, 'findByHash', async () => {
      const first = await Promise.all(Array.from({ length: 20 }, () => auth.authenticate(TEST_TOKEN)));
      const later = await auth.authenticate(TEST_TOKEN);
      return [...first, later];
    });
    assert.ok(result.every((p) => p !== null && p === result[0]), 'one principal for all');
    assert.equal(calls, 1);
  });

  test('a bearer token in use is read again before its cache entry runs out, in the background', async () => {
    const { auth } = kp.services;
    auth.invalidate();
    await auth.authenticate(TEST_TOKEN);
    kp.clock.advance(55_000); // past the refresh point (10 s before the minute is up)
    const { result, calls } = await counting(kp.services.store.repos.apiTokens, 'findByHash', async () => {
      const answer = auth.authenticate(TEST_TOKEN);
      assert.equal(answer instanceof Promise, false, 'answered from the cache while it is read again');
      await new Promise((resolve) => setTimeout(resolve, 200));
      return answer;
    });
    assert.notEqual(result, null);
    assert.equal(calls, 1, 'one read in the background');
    kp.clock.advance(10_000); // past the first entry's end: the refreshed one answers
    assert.equal(auth.authenticate(TEST_TOKEN) instanceof Promise, false, 'still cached');
  });

  test("a look-up during another request's transaction sees only what is committed", async () => {
    const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true });
    const { verification } = kp.services.tokens;
    verification.invalidate([hashKeyString(secret)], key.id);
    let entered!: () => void;
    let release!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const held = new Promise<void>((resolve) => (release = resolve));
    const change = kp.services.store
      .transaction(async (repos) => {
        const found = (await repos.keys.find(account, key.id))!;
        await repos.keys.update({ ...found, active: false });
        entered();
        await held;
        throw new Error('rolled back');
      })
      .catch((err: Error) => err.message);
    await inside;
    // SQLite: the one connection is the transaction's, so the look-up waits for it to end.
    const during = verification.verify(secret, { consume: false });
    release();
    assert.equal(await change, 'rolled back');
    assert.equal((await during).code, 'valid', 'the switch-off was never committed');
    assert.equal((await verification.verify(secret, { consume: false })).code, 'valid');
  });

  test('a load in flight when the key changes does not answer for later requests', async () => {
    const secret = generateKeyString('token', 'sandbox');
    const { verification } = kp.services.tokens;
    // On PostgreSQL the first lookup is still in flight when the key is created; SQLite answers at once.
    const first = verification.verify(secret, { consume: false });
    const key = await createWithSecret(secret);
    assert.equal((await first).code, store === 'sqlite' ? 'unknown' : (await first).code);
    const after = await verification.verify(secret, { consume: false });
    assert.equal(after.valid, true);
    assert.equal(after.credential?.keyId, key.id);
  });

  test('a service token, coalesced and cached, is refused within a second once revoked, on this node and another', async () => {
    const peer = await startPeer(kp);
    try {
      const created = await kp.api('POST', `/v1/accounts/${account}/service-tokens`, { name: 'gateway' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const token: string = created.body.token;
      const { secret } = await createKey(kp.api, account, { credentialType: 'token', active: true });
      const asGateway = (url: string) => apiClient(url, token)('POST', '/v1/verify', { key: secret });
      // Many requests at once: one read of the token, the same answer for all.
      for (const url of [kp.url, peer.url]) {
        const answers = await Promise.all(Array.from({ length: 20 }, () => asGateway(url)));
        assert.ok(answers.every((a) => a.status === 200 && a.body.valid === true), JSON.stringify(answers.map((a) => a.status)));
      }
      const revoked = await kp.api('DELETE', `/v1/accounts/${account}/service-tokens/${created.body.id}`);
      assert.ok([200, 204].includes(revoked.status), JSON.stringify(revoked.body));
      assert.equal((await asGateway(kp.url)).status, 401, 'refused at once on the node that revoked it');
      assert.ok(await eventually(async () => (await asGateway(peer.url)).status === 401, 1000), 'and within a second on the other');
    } finally {
      await peer.close();
    }
  });

  test('a page by prepared statement is the page Kysely builds: same rows, same body', async () => {
    for (let i = 0; i < 12; i++)
      await createKey(kp.api, account, { name: `Sync ${i % 3 === 0 ? 'erp_50%' : 'shop'} ${i}`, channel: i % 2 ? 'b2b' : null, credentialType: i % 4 ? 'client_secret' : 'token', environment: i % 3 ? 'sandbox' : 'production' });
    await kp.api('PATCH', `/v1/accounts/${account}/keys/${(await kp.api('GET', `/v1/accounts/${account}/keys?limit=1`)).body.items[0].id}`, { active: false });
    const built = new Repositories(kp.services.store.storage.db).keys;
    const prepared = kp.services.store.repos.keys;
    const queries: [Record<string, unknown>, { field: any; descending: boolean }][] = [
      [{}, { field: 'createdAt', descending: true }],
      [{ environment: 'sandbox' }, { field: 'name', descending: false }],
      [{ q: 'erp_50%' }, { field: 'name', descending: true }],
      [{ active: true, credentialType: 'client_secret' }, { field: 'channel', descending: false }],
      [{ channel: 'b2b' }, { field: 'lastUsedAt', descending: true }],
      [{ unusedSince: kp.clock.now() }, { field: 'credits', descending: false }],
    ];
    for (const [filter, sort] of queries) {
      const all = await built.list(account, filter, sort, 100);
      assert.ok(all.length > 0, JSON.stringify(filter));
      assert.deepEqual((await prepared.list(account, filter, sort, 100)).map((k) => ({ ...k, secretHash: k.secretHash !== null, secretEncrypted: null, previousSecretHash: null })), all.map((k) => ({ ...k, secretHash: k.secretHash !== null, secretEncrypted: null, previousSecretHash: null })));
      // Page by page, after each cursor position.
      for (const middle of all.slice(0, 4)) {
        const field = sort.field === 'name' ? 'nameKey' : sort.field === 'credits' ? 'creditsRemaining' : sort.field;
        const after = { value: field === 'nameKey' ? middle.name.toLowerCase() : (middle as any)[field] ?? null, id: middle.id };
        assert.deepEqual((await prepared.list(account, filter, sort, 3, after)).map((k) => k.id), (await built.list(account, filter, sort, 3, after)).map((k) => k.id), `${JSON.stringify(filter)} after ${JSON.stringify(after)}`);
      }
    }
    // And over HTTP: the same body twice, with and without a cursor.
    const page = await kp.api('GET', `/v1/accounts/${account}/keys?limit=5&sort=name`);
    const next = await kp.api('GET', `/v1/accounts/${account}/keys?limit=5&sort=name&cursor=${encodeURIComponent(page.body.nextCursor)}`);
    assert.equal(next.status, 200);
    assert.deepEqual((await kp.api('GET', `/v1/accounts/${account}/keys?limit=5&sort=name`)).body, page.body);
    assert.equal(new Set([...page.body.items, ...next.body.items].map((k: any) => k.id)).size, 10);
  });
});
