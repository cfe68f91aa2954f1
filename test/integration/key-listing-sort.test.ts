import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createAccount, createKey, describeEachStore, type TestKeyport } from '../helpers/keyport.js';

/** Every page of a listing, following nextCursor, as `name` lists. */
async function allPages(kp: TestKeyport, account: string, query: string, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: any } = await kp.api('GET', `/v1/accounts/${account}/keys?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    pages.push(res.body.items.map((k: any) => k.name));
    cursor = res.body.nextCursor;
  } while (cursor);
  return pages;
}

describeEachStore('key listing sorted by channel and last use', (kp, store) => {
  let account: string;
  before(async () => {
    account = await createAccount(kp.api);
    // Names tell the expected order. Three keys have no channel and three were never used, so
    // the NULL rows span a page boundary at limit 2.
    const specs = [
      { name: 'a', channel: 'retail', usedAt: 3 },
      { name: 'b', channel: null, usedAt: null },
      { name: 'c', channel: 'b2b', usedAt: 1 },
      { name: 'd', channel: null, usedAt: 2 },
      { name: 'e', channel: 'b2b', usedAt: null },
      { name: 'f', channel: null, usedAt: null },
    ];
    const used: { id: string; at: number }[] = [];
    for (const spec of specs) {
      const { key } = await createKey(kp.api, account, { name: spec.name, channel: spec.channel });
      if (spec.usedAt !== null) used.push({ id: key.id, at: kp.clock.now() + spec.usedAt * 1000 });
      kp.clock.advance(10);
    }
    // Use is recorded by the verification path; seed it through the repository.
    await kp.services.store.repos.keys.touchLastUsed(used);
  });

  test('channel: keys without one come first ascending and last descending, ties by id', async () => {
    const asc = (await allPages(kp, account, 'sort=channel', 50)).flat();
    const desc = (await allPages(kp, account, 'sort=-channel', 50)).flat();
    // Ties (same channel) are ordered by id, which is random: compare the channel of each row.
    const group = (names: string[]) => names.map((n) => ({ a: 'retail', b: null, c: 'b2b', d: null, e: 'b2b', f: null })[n] ?? null);
    assert.deepEqual(group(asc), [null, null, null, 'b2b', 'b2b', 'retail']);
    assert.deepEqual(group(desc), ['retail', 'b2b', 'b2b', null, null, null]);
    assert.deepEqual([...desc].reverse(), asc, 'descending is ascending reversed, ties included');
  });

  test('lastUsedAt: never used keys come first ascending and last descending', async () => {
    const asc = (await allPages(kp, account, 'sort=lastUsedAt', 50)).flat();
    const desc = (await allPages(kp, account, 'sort=-lastUsedAt', 50)).flat();
    assert.deepEqual(asc.slice(3), ['c', 'd', 'a']);
    assert.deepEqual(new Set(asc.slice(0, 3)), new Set(['b', 'e', 'f']));
    assert.deepEqual(desc, [...asc].reverse());
    const listed = await kp.api('GET', `/v1/accounts/${account}/keys?sort=-lastUsedAt&limit=1`);
    assert.equal(listed.body.items[0].name, 'a');
    assert.notEqual(listed.body.items[0].lastUsedAt, null);
  });

  test('paging through NULL values by keyset cursor loses and repeats nothing, in both directions', async () => {
    for (const sort of ['channel', '-channel', 'lastUsedAt', '-lastUsedAt']) {
      const whole = (await allPages(kp, account, `sort=${sort}`, 50)).flat();
      for (const limit of [1, 2, 4]) {
        const pages = await allPages(kp, account, `sort=${sort}`, limit);
        assert.deepEqual(pages.flat(), whole, `sort=${sort} limit=${limit}`);
        assert.ok(pages.every((p) => p.length <= limit));
      }
    }
  });

  test('filters combine with the new sorts, and an unknown sort field names the known ones', async () => {
    const pages = await allPages(kp, account, 'sort=-lastUsedAt&channel=b2b', 1);
    assert.deepEqual(pages.flat(), ['c', 'e']);
    const bad = await kp.api('GET', `/v1/accounts/${account}/keys?sort=expiresAt`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'validation_failed');
    assert.match(bad.body.detail, /\/sort/);
    const cursor = (await kp.api('GET', `/v1/accounts/${account}/keys?sort=channel&limit=1`)).body.nextCursor;
    const mixed = await kp.api('GET', `/v1/accounts/${account}/keys?sort=lastUsedAt&cursor=${cursor}`);
    assert.equal(mixed.status, 400);
    assert.equal(mixed.body.code, 'invalid_cursor');
  });

  test('a name search takes %, _ and \\ literally', async () => {
    const other = await createAccount(kp.api);
    for (const name of ['ERP_sync', 'ERPxsync', '50% off', '500 off', 'back\\slash', 'backslash']) await createKey(kp.api, other, { name });
    const search = async (q: string) =>
      (await kp.api('GET', `/v1/accounts/${other}/keys?limit=100&sort=name&q=${encodeURIComponent(q)}`)).body.items.map((k: any) => k.name);
    assert.deepEqual(await search('erp_'), ['ERP_sync']);
    assert.deepEqual(await search('50%'), ['50% off']);
    assert.deepEqual(await search('k\\s'), ['back\\slash']);
    assert.deepEqual(await search('sync'), ['ERP_sync', 'ERPxsync']);
  });

  test('counts: keys per environment and the limit, for the portal', async () => {
    const other = await createAccount(kp.api);
    assert.deepEqual((await kp.api('GET', `/v1/accounts/${other}/keys/counts`)).body, { limit: 25, counts: { sandbox: 0, production: 0 }, available: { sandbox: 25, production: 25 }, overLimit: { sandbox: 0, production: 0 } });
    await createKey(kp.api, other, { environment: 'production' });
    await createKey(kp.api, other, { environment: 'production' });
    await createKey(kp.api, other, { environment: 'sandbox' });
    await kp.api('PATCH', `/v1/accounts/${other}/settings`, { keyLimitPerEnvironment: 3 });
    const res = await kp.api('GET', `/v1/accounts/${other}/keys/counts`);
    assert.deepEqual([res.status, res.body], [200, { limit: 3, counts: { sandbox: 1, production: 2 }, available: { sandbox: 2, production: 1 }, overLimit: { sandbox: 0, production: 0 } }]);
    assert.deepEqual((await kp.api('GET', `/v1/accounts/${account}/keys/counts`)).body, { limit: 25, counts: { sandbox: 6, production: 0 }, available: { sandbox: 19, production: 25 }, overLimit: { sandbox: 0, production: 0 } });

    assert.equal((await kp.as(null)('GET', `/v1/accounts/${other}/keys/counts`)).status, 401);
    const missing = await kp.api('GET', '/v1/accounts/acct_doesnotexist/keys/counts');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'not_found');
  });
});
