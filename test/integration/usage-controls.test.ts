import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiClient, createAccount, createKey, describeEachStore, startTestKeyport, TEST_TOKEN, type TestKeyport } from '../helpers/keyport.js';
import { basic, postForm, requestToken, startPeer } from '../helpers/oauth.js';

const DAY = 86_400_000;

/** Moves the test clock to the next 00:00 UTC plus `plusMs`. */
function toNextMidnight(kp: TestKeyport, plusMs = 0): void {
  const now = kp.clock.now();
  kp.clock.advance(DAY - (now % DAY) + plusMs);
}

describeEachStore('IP allowlists', (kp) => {
  let account: string;
  before(async () => {
    account = await createAccount(kp.api);
  });
  const verify = async (body: Record<string, unknown>) => (await kp.api('POST', '/v1/verify', body)).body;

  test('set on create and PATCH in canonical form; null allows every address', async () => {
    const { key } = await createKey(kp.api, account, { ipAllowlist: ['203.0.113.0/24', '2001:DB8::/32', '203.0.113.0/24'] });
    assert.deepEqual(key.ipAllowlist, ['203.0.113.0/24', '2001:db8::/32']);
    const path = `/v1/accounts/${account}/keys/${key.id}`;
    assert.deepEqual((await kp.api('PATCH', path, { ipAllowlist: ['198.51.100.7'] })).body.ipAllowlist, ['198.51.100.7']);
    assert.equal((await kp.api('PATCH', path, { ipAllowlist: null })).body.ipAllowlist, null);
    assert.equal((await createKey(kp.api, account)).key.ipAllowlist, null);
  });

  test('every bad allowlist is refused with a pointer at the entry, and changes nothing', async () => {
    const { key } = await createKey(kp.api, account, { ipAllowlist: ['198.51.100.0/24'] });
    const path = `/v1/accounts/${account}/keys/${key.id}`;
    for (const [ipAllowlist, pointer, detail] of [
      [['10.0.0.0/33'], '/ipAllowlist/0', /prefix length of an IPv4 range is 0 to 32/],
      [['10.0.0.0/8', '10.0.0.5/24'], '/ipAllowlist/1', /bits set after the prefix; the range is 10.0.0.0\/24/],
      [['intranet'], '/ipAllowlist/0', /not an IPv4 or IPv6 address or CIDR range/],
      [[], '/ipAllowlist', /empty allowlist/],
      [Array.from({ length: 101 }, (_, i) => `10.0.${i}.0/24`), '/ipAllowlist', /must NOT have more than 100 items/],
      ['10.0.0.0/8', '/ipAllowlist', /must be array/],
    ] as const) {
      const res = await kp.api('PATCH', path, { ipAllowlist, name: 'renamed' });
      assert.equal(res.status, 400, JSON.stringify(ipAllowlist).slice(0, 80));
      assert.equal(res.body.code, 'validation_failed');
      const hit = res.body.errors.find((e: any) => e.pointer === pointer);
      assert.ok(hit, `${JSON.stringify(res.body.errors)} names ${pointer}`);
      assert.match(hit.detail, detail);
    }
    const created = await kp.api('POST', `/v1/accounts/${account}/keys`, { name: 'x', environment: 'sandbox', kind: 'admin', credentialType: 'token', ipAllowlist: ['1.2.3.4/33'] });
    assert.equal(created.status, 400);
    const after = (await kp.api('GET', path)).body;
    assert.deepEqual([after.name, after.ipAllowlist], [key.name, ['198.51.100.0/24']], 'nothing changed');
  });

  test('/v1/verify takes the caller\'s clientIp: inside is valid, outside or missing is ip_not_allowed', async () => {
    const { secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, ipAllowlist: ['203.0.113.0/24', '2001:db8::/32'] });
    for (const clientIp of ['203.0.113.9', '::ffff:203.0.113.10', '2001:db8::abcd']) assert.equal((await verify({ key: secret, clientIp })).code, 'valid', clientIp);
    for (const clientIp of ['203.0.114.9', '2001:db9::1', '127.0.0.1'])
      assert.deepEqual(await verify({ key: secret, clientIp }), { valid: false, code: 'ip_not_allowed' }, clientIp);
    assert.deepEqual(await verify({ key: secret }), { valid: false, code: 'ip_not_allowed' }, 'no clientIp: refused');
    const bad = await kp.api('POST', '/v1/verify', { key: secret, clientIp: '203.0.113' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors, [{ pointer: '/clientIp', detail: "'203.0.113' is not an IPv4 or IPv6 address" }]);
    // A key without an allowlist ignores the address.
    const open = await createKey(kp.api, account, { credentialType: 'token', active: true });
    assert.equal((await verify({ key: open.secret, clientIp: '192.0.2.1' })).code, 'valid');
    // whoami: the connection's own address (loopback here) is the client's.
    assert.deepEqual([(await kp.as(secret)('GET', '/v1/whoami')).status, (await kp.as(secret)('GET', '/v1/whoami')).body.code], [403, 'ip_not_allowed']);
  });

  test('/oauth/token uses the connection\'s address; tokens of the key carry no bypass', async () => {
    const { key, secret } = await createKey(kp.api, account, { ipAllowlist: ['127.0.0.0/8'] });
    const ok = await requestToken(kp, key.clientId, secret);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const token = ok.body.access_token;
    assert.equal((await verify({ token, clientIp: '127.0.0.1' })).code, 'valid');
    assert.deepEqual(await verify({ token, clientIp: '192.0.2.1' }), { valid: false, code: 'ip_not_allowed' }, "a token is held to its key's allowlist");
    assert.deepEqual(await verify({ token }), { valid: false, code: 'ip_not_allowed' });
    const introspected = await postForm(`${kp.url}/oauth/introspect`, { token }, { authorization: `Bearer ${TEST_TOKEN}` });
    assert.deepEqual(introspected.body, { active: false }, 'introspection cannot tell the address: not vouched for');

    await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { ipAllowlist: ['192.0.2.0/24'] });
    const refused = await requestToken(kp, key.clientId, secret);
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.body, {
      error: 'access_denied',
      error_description: 'This key may only be used from the networks in its IP allowlist, and 127.0.0.1 is not one of them (ip_not_allowed).',
    });
    assert.equal(refused.headers.get('cache-control'), 'no-store');
    assert.equal((await verify({ token, clientIp: '127.0.0.1' })).code, 'ip_not_allowed', 'the change reaches tokens issued before it');
    assert.equal((await verify({ token, clientIp: '192.0.2.77' })).code, 'valid');
  });
});

describeEachStore('usage controls on forward-auth (/v1/authz)', (kp) => {
  test("the proxy's forwarded address meets the allowlist; used-up credits are a 429", async () => {
    const account = await createAccount(kp.api);
    const gateway = (await kp.api('POST', `/v1/accounts/${account}/service-tokens`, { name: 'Edge' })).body.token;
    const { secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, ipAllowlist: ['198.51.100.0/24'], credits: { remaining: 1 } });
    const authz = (xff?: string) =>
      fetch(`${kp.url}/v1/authz?environment=sandbox&scopes=product.read`, {
        headers: { 'keyport-service-token': gateway, authorization: `Bearer ${secret}`, ...(xff ? { 'x-forwarded-for': xff } : {}) },
      });
    const outside = await authz('203.0.113.50');
    assert.deepEqual([outside.status, outside.headers.get('x-keyport-code'), outside.headers.get('www-authenticate')], [403, 'ip_not_allowed', null]);
    assert.equal((await outside.json()).detail, "The request comes from outside the key's IP allowlist (the address in X-Forwarded-For, or X-Real-IP).");
    assert.equal((await authz()).headers.get('x-keyport-code'), 'ip_not_allowed', 'no forwarded address: refused');
    const inside = await authz('203.0.113.50, 198.51.100.9');
    assert.equal(inside.status, 200, 'the last address is the one the gateway saw');
    const spent = await authz('198.51.100.9');
    assert.deepEqual([spent.status, spent.headers.get('x-keyport-code')], [429, 'usage_exceeded']);
    assert.deepEqual(((await spent.json()) as any).title, 'Credits used up');
  });
});

describeEachStore('the client address behind a trusted proxy', (kp) => {
  test('X-Forwarded-For counts only from a trusted proxy, read from the right', async () => {
    const account = await createAccount(kp.api);
    const { key, secret } = await createKey(kp.api, account, { ipAllowlist: ['198.51.100.0/24'] });
    const token = (xff: string) =>
      postForm(`${kp.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(key.clientId, secret), 'x-forwarded-for': xff });
    assert.equal((await token('198.51.100.20')).status, 200, 'loopback is a trusted proxy here');
    assert.equal((await token('198.51.100.20, 10.1.1.1')).status, 200, 'the proxy chain (10/8 trusted) is skipped');
    assert.equal((await token('198.51.100.20, 203.0.113.5')).status, 403, 'the nearest untrusted address is the client, whatever it claims before');
    assert.equal((await token('203.0.113.5, 198.51.100.20')).status, 200);
    const whoami = await kp.as((await createKey(kp.api, account, { credentialType: 'token', active: true, ipAllowlist: ['198.51.100.0/24'] })).secret);
    assert.equal((await whoami('GET', '/v1/whoami', undefined, { 'x-forwarded-for': '198.51.100.1' })).status, 200);
    assert.equal((await whoami('GET', '/v1/whoami', undefined, { 'x-forwarded-for': '192.0.2.1' })).status, 403);
  });
}, { KEYPORT_TRUSTED_PROXIES: '127.0.0.1,10.0.0.0/8' });

describeEachStore('credits', (kp) => {
  let account: string;
  before(async () => {
    account = await createAccount(kp.api);
  });
  const verify = async (body: Record<string, unknown>) => (await kp.api('POST', '/v1/verify', body)).body;

  test('each verification spends its cost; the answer says what is left; at zero: usage_exceeded', async () => {
    const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, credits: { remaining: 5 } });
    assert.deepEqual(key.credits, { remaining: 5, refill: null, nextRefillAt: null });
    assert.deepEqual((await verify({ key: secret })).credits, { remaining: 4 });
    assert.deepEqual((await verify({ key: secret, cost: 3 })).credits, { remaining: 1 });
    assert.deepEqual(await verify({ key: secret, cost: 2 }), { valid: false, code: 'usage_exceeded' }, 'too few for the cost: nothing spent');
    assert.deepEqual((await verify({ key: secret, cost: 0 })).credits, { remaining: 1 }, 'cost 0 checks without spending');
    assert.deepEqual((await verify({ key: secret })).credits, { remaining: 0 });
    assert.deepEqual(await verify({ key: secret }), { valid: false, code: 'usage_exceeded' });
    assert.deepEqual(await verify({ key: secret, cost: 0 }), { valid: false, code: 'usage_exceeded' }, 'a check says none are left');
    assert.equal((await kp.api('GET', `/v1/accounts/${account}/keys/${key.id}`)).body.credits.remaining, 0);
    const whoami = await kp.as(secret)('GET', '/v1/whoami');
    assert.deepEqual([whoami.status, whoami.body.code], [429, 'usage_exceeded']);
    // A refusal for another reason spends nothing.
    const other = await createKey(kp.api, account, { credentialType: 'token', active: true, credits: { remaining: 2 } });
    await verify({ key: other.secret, scopes: ['iam.write'] });
    await verify({ key: other.secret, environment: 'production' });
    assert.deepEqual((await verify({ key: other.secret })).credits, { remaining: 1 });
    // Keys without credits answer no credits.
    assert.equal('credits' in (await verify({ key: (await createKey(kp.api, account, { credentialType: 'token', active: true })).secret })), false);
    for (const cost of [-1, 1.5, '1']) assert.equal((await kp.api('POST', '/v1/verify', { key: secret, cost })).status, 400, String(cost));
  });

  test('token requests spend a credit (429 usage_exceeded), and so do verifications of the tokens', async () => {
    const { key, secret } = await createKey(kp.api, account, { credits: { remaining: 3 } });
    const first = await requestToken(kp, key.clientId, secret);
    assert.equal(first.status, 200);
    assert.deepEqual((await verify({ token: first.body.access_token })).credits, { remaining: 1 });
    assert.equal((await requestToken(kp, key.clientId, secret)).status, 200);
    const refused = await requestToken(kp, key.clientId, secret);
    assert.equal(refused.status, 429);
    assert.deepEqual(refused.body, { error: 'usage_exceeded', error_description: "The key's credits are used up (usage_exceeded); an operator can top them up." });
    assert.equal(refused.headers.get('retry-after'), null, 'no refill: no time to wait for');
    assert.deepEqual(await verify({ token: first.body.access_token }), { valid: false, code: 'usage_exceeded' });
  });

  test('a top-up is an audited change; traffic spending credits is not', async () => {
    const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, credits: { remaining: 2 } });
    await verify({ key: secret });
    await verify({ key: secret });
    const path = `/v1/accounts/${account}/keys/${key.id}`;
    const topUp = await kp.api('PATCH', path, { credits: { remaining: 100, refill: { amount: 100, interval: 'month', dayOfMonth: 15 } } });
    assert.equal(topUp.status, 200);
    assert.deepEqual(topUp.body.credits.refill, { amount: 100, interval: 'month', dayOfMonth: 15 });
    assert.equal(topUp.body.credits.remaining, 100);
    assert.ok(Date.parse(topUp.body.credits.nextRefillAt) > kp.clock.now());
    assert.deepEqual((await verify({ key: secret })).credits, { remaining: 99 });
    // A change of something else leaves the count as traffic left it.
    await verify({ key: secret });
    assert.equal((await kp.api('PATCH', path, { name: 'Renamed' })).body.credits.remaining, 98);
    const trail = (await kp.api('GET', `/v1/accounts/${account}/audit?key=${key.id}`)).body.items.map((e: any) => [e.action, e.before?.credits?.remaining, e.after?.credits?.remaining]);
    assert.deepEqual(trail, [
      ['key.updated', 98, 98],
      ['key.updated', 0, 100],
      ['key.created', undefined, 2],
    ]);
    assert.equal((await kp.api('PATCH', path, { credits: null })).body.credits, null, 'null: unlimited');
    assert.equal((await verify({ key: secret })).valid, true);
  });

  test('every bad credits value is refused with a pointer, and changes nothing', async () => {
    const { key } = await createKey(kp.api, account, { credits: { remaining: 7 } });
    const path = `/v1/accounts/${account}/keys/${key.id}`;
    for (const [credits, pointer] of [
      [{ remaining: -1 }, '/credits/remaining'],
      [{ remaining: 1.5 }, '/credits/remaining'],
      [{}, '/credits/remaining'],
      [{ remaining: 10, refill: { amount: 10, interval: 'day', dayOfMonth: 31 } }, '/credits/refill/dayOfMonth'],
      [{ remaining: 10, refill: { amount: 0, interval: 'day' } }, '/credits/refill/amount'],
      [{ remaining: 10, refill: { amount: 10, interval: 'week' } }, '/credits/refill/interval'],
      [{ remaining: 10, refill: { amount: 10, interval: 'month', dayOfMonth: 32 } }, '/credits/refill/dayOfMonth'],
      [{ remaining: 10, extra: true }, '/credits/extra'],
      [5, '/credits'],
    ] as const) {
      const res = await kp.api('PATCH', path, { credits });
      assert.equal(res.status, 400, JSON.stringify(credits));
      assert.ok(res.body.errors.some((e: any) => e.pointer === pointer), `${JSON.stringify(res.body.errors)} names ${pointer}`);
    }
    const day31 = await kp.api('PATCH', path, { credits: { remaining: 1, refill: { amount: 10, interval: 'day', dayOfMonth: 31 } } });
    assert.deepEqual(day31.body.errors, [{ pointer: '/credits/refill/dayOfMonth', detail: 'applies to monthly refills only: a daily refill happens every day at 00:00 UTC' }]);
    assert.deepEqual((await kp.api('GET', path)).body.credits, { remaining: 7, refill: null, nextRefillAt: null }, 'nothing changed');
  });

  test('a daily refill happens exactly at 00:00 UTC, without any job; a monthly one on its day', async () => {
    toNextMidnight(kp, 12 * 3_600_000);
    const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, credits: { remaining: 1, refill: { amount: 3, interval: 'day' } } });
    assert.equal(key.credits.nextRefillAt, new Date(kp.clock.now() + 12 * 3_600_000).toISOString());
    assert.deepEqual((await verify({ key: secret })).credits, { remaining: 0 });
    kp.clock.advance(12 * 3_600_000 - 1);
    assert.deepEqual(await verify({ key: secret }), { valid: false, code: 'usage_exceeded' }, 'one millisecond before midnight');
    kp.clock.advance(1);
    assert.deepEqual((await verify({ key: secret })).credits, { remaining: 2 }, 'at midnight: refilled to 3, one spent');
    // Three days without use: one refill, to the amount (refills do not pile up).
    kp.clock.advance(3 * DAY);
    assert.equal((await kp.api('GET', `/v1/accounts/${account}/keys/${key.id}`)).body.credits.remaining, 3);
    assert.deepEqual((await verify({ key: secret, cost: 3 })).credits, { remaining: 0 });

    // Monthly on the 31st: the last day of a shorter month.
    const monthly = await createKey(kp.api, account, { credits: { remaining: 0, refill: { amount: 2, interval: 'month', dayOfMonth: 31 } } });
    const next = Date.parse(monthly.key.credits.nextRefillAt);
    assert.equal(new Date(next).getUTCHours(), 0);
    const day = new Date(next).getUTCDate();
    assert.equal(day, new Date(Date.UTC(new Date(next).getUTCFullYear(), new Date(next).getUTCMonth() + 1, 0)).getUTCDate(), 'the 31st or the month\'s last day');
    const refused = await requestToken(kp, monthly.key.clientId, monthly.secret);
    assert.equal(refused.status, 429);
    assert.equal(Number(refused.headers.get('retry-after')), Math.ceil((next - kp.clock.now()) / 1000), 'Retry-After: until the refill');
    kp.clock.advance(next - kp.clock.now());
    assert.equal((await requestToken(kp, monthly.key.clientId, monthly.secret)).status, 200, 'refilled on its day');
  });
});

describe('credits are exact across nodes on PostgreSQL', () => {
  let kp: TestKeyport;
  before(async () => {
    kp = await startTestKeyport('postgres');
  });
  after(async () => kp?.stop());

  test('200 parallel verifications against 50 credits split across two nodes: exactly 50 valid', async () => {
    const peer = await startPeer(kp);
    try {
      const account = await createAccount(kp.api);
      const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, credits: { remaining: 50 } });
      const nodes = [kp.api, apiClient(peer.url, TEST_TOKEN)];
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => nodes[i % 2]!('POST', '/v1/verify', { key: secret })));
      const codes = answers.map((a) => a.body.code);
      assert.equal(codes.filter((c) => c === 'valid').length, 50);
      assert.equal(codes.filter((c) => c === 'usage_exceeded').length, 150);
      const left = answers.filter((a) => a.body.valid).map((a) => a.body.credits.remaining).sort((a, b) => a - b);
      assert.deepEqual(left, Array.from({ length: 50 }, (_, i) => i), 'each credit was handed out once');
      assert.equal((await kp.api('GET', `/v1/accounts/${account}/keys/${key.id}`)).body.credits.remaining, 0);
      // Token requests and verifications of tokens share the same count.
      const client = await createKey(kp.api, account, { credits: { remaining: 10 } });
      const tokens = await Promise.all(Array.from({ length: 30 }, (_, i) =>
        postForm(`${i % 2 ? peer.url : kp.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(client.key.clientId, client.secret) }),
      ));
      assert.deepEqual([tokens.filter((t) => t.status === 200).length, tokens.filter((t) => t.status === 429).length], [10, 20]);
    } finally {
      await peer.close();
    }
  });
});

describeEachStore('meta and externalId', (kp) => {
  let account: string;
  before(async () => {
    account = await createAccount(kp.api);
  });

  test('returned on verification, so an API reads plan and owner without a lookup of its own', async () => {
    const meta = { plan: 'pro', tenant: { id: 't_42', region: 'eu' }, seats: 5 };
    const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, meta, externalId: 'org_1234', credits: { remaining: 10 } });
    assert.deepEqual([key.meta, key.externalId], [meta, 'org_1234']);
    const answer = (await kp.api('POST', '/v1/verify', { key: secret })).body;
    assert.deepEqual([answer.meta, answer.externalId, answer.credits], [meta, 'org_1234', { remaining: 9 }]);
    assert.deepEqual(Object.keys(answer).slice(-3), ['meta', 'externalId', 'credits'], 'in the schema\'s order');
    const path = `/v1/accounts/${account}/keys/${key.id}`;
    await kp.api('PATCH', path, { meta: { plan: 'enterprise' }, externalId: null });
    const again = (await kp.api('POST', '/v1/verify', { key: secret })).body;
    assert.deepEqual([again.meta, again.externalId], [{ plan: 'enterprise' }, null], 'a change applies at once');
  });

  test('bad values are refused and change nothing', async () => {
    const { key } = await createKey(kp.api, account, { meta: { a: 1 }, externalId: 'cus_1' });
    const path = `/v1/accounts/${account}/keys/${key.id}`;
    for (const [body, pointer] of [
      [{ meta: { blob: 'x'.repeat(5000) } }, '/meta'],
      [{ meta: ['not', 'an', 'object'] }, '/meta'],
      [{ meta: 'plan=pro' }, '/meta'],
      [{ externalId: '' }, '/externalId'],
      [{ externalId: 'x'.repeat(201) }, '/externalId'],
      [{ externalId: 42 }, '/externalId'],
    ] as const) {
      const res = await kp.api('PATCH', path, body);
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 60));
      assert.ok(res.body.errors.some((e: any) => e.pointer === pointer), `${JSON.stringify(res.body.errors)} names ${pointer}`);
    }
    const big = await kp.api('PATCH', path, { meta: { blob: 'x'.repeat(5000) } });
    assert.match(big.body.errors[0].detail, /5011 bytes of JSON; at most 4096 are kept/);
    const now = (await kp.api('GET', path)).body;
    assert.deepEqual([now.meta, now.externalId], [{ a: 1 }, 'cus_1']);
  });

  test('the list filters by externalId and by keys unused since a date', async () => {
    const mine = await createAccount(kp.api);
    const a = await createKey(kp.api, mine, { name: 'a', externalId: 'org_A' });
    await createKey(kp.api, mine, { name: 'b', externalId: 'org_B' });
    const c = await createKey(kp.api, mine, { name: 'c', externalId: 'org_A', credentialType: 'token', active: true });
    const names = async (query: string) => (await kp.api('GET', `/v1/accounts/${mine}/keys?sort=name&${query}`)).body.items.map((k: any) => k.name);
    assert.deepEqual(await names('externalId=org_A'), ['a', 'c']);
    await kp.api('POST', '/v1/verify', { key: c.secret });
    await kp.services.tokens.usage.flush();
    const since = new Date(kp.clock.now() - 1000).toISOString();
    assert.deepEqual(await names(`unusedSince=${encodeURIComponent(since)}`), ['a', 'b'], 'c was used since');
    kp.clock.advance(31 * DAY);
    assert.deepEqual(await names(`unusedSince=${encodeURIComponent(new Date(kp.clock.now() - 30 * DAY).toISOString())}`), ['a', 'b', 'c']);
    assert.equal(a.key.externalId, 'org_A');
  });

  test('the list sorts by credits left: fewest first, unlimited keys as the most; pages in both directions', async () => {
    const mine = await createAccount(kp.api);
    for (const [name, credits] of [['u1', null], ['k5', 5], ['k0', 0], ['u2', null], ['k5b', 5], ['k9', 9]] as const)
      await createKey(kp.api, mine, { name, ...(credits === null ? {} : { credits: { remaining: credits } }) });
    const walk = async (sort: string) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = (await kp.api('GET', `/v1/accounts/${mine}/keys?sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
        seen.push(...page.items.map((k: any) => `${k.name}:${k.credits?.remaining ?? '∞'}`));
        cursor = page.nextCursor;
      } while (cursor);
      return seen.map((s) => s.split(':')[1]);
    };
    assert.deepEqual(await walk('credits'), ['0', '5', '5', '9', '∞', '∞']);
    assert.deepEqual(await walk('-credits'), ['∞', '∞', '9', '5', '5', '0']);
  });
});

describeEachStore('usage analytics', (kp) => {
  let account: string;
  before(async () => {
    account = await createAccount(kp.api);
    // The start of an hour, so the counts below land in known buckets.
    kp.clock.advance(3_600_000 - (kp.clock.now() % 3_600_000) + 60_000);
  });
  const usage = (query: string) => kp.api('GET', `/v1/accounts/${account}/usage?${query}`);

  test('counts per key, hour and outcome, batched in memory and written by the flush', async () => {
    const a = await createKey(kp.api, account, { name: 'Busy', credentialType: 'token', active: true, credits: { remaining: 3 } });
    const b = await createKey(kp.api, account, { name: 'Quiet', credentialType: 'token', active: true, ipAllowlist: ['192.0.2.0/24'] });
    const c = await createKey(kp.api, account, { name: 'Client', environment: 'production', rateLimit: { limit: 1, windowSeconds: 3600 } });
    const hour = kp.clock.now() - (kp.clock.now() % 3_600_000);
    for (let i = 0; i < 5; i++) await kp.api('POST', '/v1/verify', { key: a.secret }); // 3 valid, 2 usage_exceeded
    await kp.api('POST', '/v1/verify', { key: a.secret, scopes: ['iam.write'] });
    await kp.api('POST', '/v1/verify', { key: b.secret, clientIp: '192.0.2.1' });
    await kp.api('POST', '/v1/verify', { key: b.secret, clientIp: '203.0.113.1' });
    await kp.api('POST', '/v1/verify', { key: 'kp_test_not_a_key' });
    assert.equal((await requestToken(kp, c.key.clientId, c.secret)).status, 200);
    assert.equal((await requestToken(kp, c.key.clientId, c.secret)).status, 429);
    kp.clock.advance(3_600_000);
    await kp.api('POST', '/v1/verify', { key: b.secret, clientIp: '192.0.2.1' });

    assert.ok(kp.services.tokens.usage.pendingCounts >= 4, 'counted in memory');
    assert.equal((await usage(`key=${a.key.id}`)).body.totals.total, 0, 'not written before the flush');
    await kp.services.tokens.usage.flush();
    assert.equal(kp.services.tokens.usage.pendingCounts, 0);

    const zero = { valid: 0, inactive: 0, expired: 0, revoked: 0, wrong_environment: 0, insufficient_scope: 0, rate_limited: 0, ip_not_allowed: 0, usage_exceeded: 0 };
    const ofA = (await usage(`key=${a.key.id}&from=${new Date(hour).toISOString()}&to=${new Date(hour + 2 * 3_600_000).toISOString()}`)).body;
    assert.deepEqual(ofA, {
      granularity: 'hour',
      from: new Date(hour).toISOString(),
      to: new Date(hour + 2 * 3_600_000).toISOString(),
      key: a.key.id,
      environment: null,
      buckets: [
        { start: new Date(hour).toISOString(), total: 6, counts: { ...zero, valid: 3, usage_exceeded: 2, insufficient_scope: 1 } },
        { start: new Date(hour + 3_600_000).toISOString(), total: 0, counts: zero },
      ],
      totals: { total: 6, counts: { ...zero, valid: 3, usage_exceeded: 2, insufficient_scope: 1 } },
      keys: [],
    });

    const all = (await usage(`from=${new Date(hour).toISOString()}&to=${new Date(hour + 2 * 3_600_000).toISOString()}`)).body;
    assert.deepEqual(all.buckets.map((x: any) => x.total), [10, 1]);
    assert.deepEqual(all.totals.counts, { ...zero, valid: 6, usage_exceeded: 2, insufficient_scope: 1, ip_not_allowed: 1, rate_limited: 1 });
    assert.deepEqual(all.keys.map((k: any) => [k.name, k.total]), [['Busy', 6], ['Quiet', 3], ['Client', 2]], 'the most used keys first');
    assert.deepEqual(all.keys[2].counts, { ...zero, valid: 1, rate_limited: 1 }, 'token requests are counted');
    const production = (await usage(`environment=production&from=${new Date(hour).toISOString()}&to=${new Date(hour + 2 * 3_600_000).toISOString()}`)).body;
    assert.deepEqual([production.totals.total, production.keys.map((k: any) => k.name)], [2, ['Client']]);

    const days = (await usage('granularity=day')).body;
    assert.equal(days.buckets.length, 30, 'the last 30 days, today among them');
    assert.equal(days.buckets.at(-1).total + days.buckets.at(-2).total, 11);
  });

  test('daily buckets are rolled up from hours; hours are dropped after 90 days, days after 2 years', async () => {
    const k = await createKey(kp.api, account, { name: 'Old', credentialType: 'token', active: true });
    const start = kp.clock.now();
    for (let i = 0; i < 3; i++) await kp.api('POST', '/v1/verify', { key: k.secret });
    await kp.services.tokens.usage.flush();
    const dayOf = (t: number) => new Date(t - (t % DAY)).toISOString();
    kp.clock.advance(DAY);
    await kp.services.usage.maintain();
    const daily = async () => (await usage(`key=${k.key.id}&granularity=day&from=${dayOf(start)}&to=${new Date(start + DAY).toISOString()}`)).body.buckets[0];
    assert.deepEqual([(await daily()).start, (await daily()).total], [dayOf(start), 3]);

    kp.clock.advance(91 * DAY);
    await kp.services.usage.maintain();
    const hourly = (await usage(`key=${k.key.id}&from=${new Date(start - 3_600_000).toISOString()}&to=${new Date(start + 3_600_000).toISOString()}`)).body;
    assert.equal(hourly.totals.total, 0, 'hourly buckets older than 90 days are gone');
    assert.equal((await daily()).total, 3, 'the daily bucket stays');
    kp.clock.advance(2 * 365 * DAY);
    await kp.services.usage.maintain();
    const old = (await usage(`key=${k.key.id}&granularity=day&from=${dayOf(start)}&to=${new Date(start + 30 * DAY).toISOString()}`)).body;
    assert.equal(old.totals.total, 0, 'daily buckets older than 2 years are gone');
  });

  test('bad queries are refused with a pointer', async () => {
    const cases = [
      ['granularity=week', 400, '/querystring/granularity'],
      ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 400, '/querystring/from'],
      ['from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z', 400, '/querystring/from'],
      ['granularity=day&from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', 400, '/querystring/from'],
      ['from=yesterday', 400, '/querystring/from'],
      ['environment=staging', 400, '/querystring/environment'],
      ['bogus=1', 400, '/querystring/bogus'],
    ] as const;
    for (const [query, status, pointer] of cases) {
      const res = await usage(query);
      assert.equal(res.status, status, query);
      assert.ok(res.body.errors?.some((e: any) => e.pointer === pointer), `${query}: ${JSON.stringify(res.body.errors)}`);
    }
    const missing = await usage('key=key_nope');
    assert.deepEqual([missing.status, missing.body.code], [404, 'not_found']);
    const other = await createAccount(kp.api);
    const foreign = await createKey(kp.api, other);
    assert.equal((await usage(`key=${foreign.key.id}`)).status, 404, "another account's key is not found here");
  });
});

describeEachStore('usage analytics switched off', (kp) => {
  test('nothing is counted, and verification works as before', async () => {
    const account = await createAccount(kp.api);
    const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true });
    assert.equal((await kp.api('POST', '/v1/verify', { key: secret })).body.valid, true);
    assert.equal(kp.services.tokens.usage.pendingCounts, 0);
    await kp.services.tokens.usage.flush();
    assert.equal((await kp.api('GET', `/v1/accounts/${account}/usage?key=${key.id}`)).body.totals.total, 0);
  });
}, { KEYPORT_USAGE_ANALYTICS: 'off' });
