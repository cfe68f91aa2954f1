import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { startKeyport, type RunningKeyport } from '../../src/server.js';
import { createAccount, createKey, describeEachStore, freshStore, TEST_TOKEN, apiClient } from '../helpers/keyport.js';
import { basic, postForm } from '../helpers/oauth.js';
import { PASSWORD } from '../helpers/operators.js';

/**
 * Guessing under concurrency: every attempt is counted before its secret is checked, so however
 * many arrive at once, no more are checked than the limit allows. Each test comes from an address
 * of its own (X-Forwarded-For from the trusted loopback proxy), so the per-address counts of one
 * test do not reach another.
 */
const PARALLEL = 300;
const RIGHT_AT = 150;
const randomAddress = () => `2001:db8:${randomBytes(2).toString('hex')}::${randomBytes(2).toString('hex')}`;

const signIn = (url: string, email: string, password: string, address: string) =>
  fetch(`${url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
    body: JSON.stringify({ email, password }),
  }).then(async (res) => ({ status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() }));

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

describeEachStore(
  'brute force under concurrency',
  (kp) => {
    test(`sign-in: ${PARALLEL} parallel wrong passwords for one e-mail (the right one at #${RIGHT_AT}) get at most 5 checks`, { timeout: 120_000 }, async () => {
      const account = await createAccount(kp.api);
      const email = `flood-${randomBytes(4).toString('hex')}@example.com`;
      assert.equal((await kp.api('POST', `/v1/accounts/${account}/members`, { email, role: 'viewer', password: PASSWORD })).status, 201);
      const address = randomAddress();
      const answers = await Promise.all(
        Array.from({ length: PARALLEL }, (_, i) => signIn(kp.url, email, i === RIGHT_AT ? PASSWORD : `wrong password ${i}`, address)),
      );
      const statuses = answers.map((a) => a.status);
      assert.ok(count(statuses, 401) + count(statuses, 200) <= 5, `checked ${count(statuses, 401)} wrong and ${count(statuses, 200)} right`);
      assert.ok(count(statuses, 429) >= PARALLEL - 5 - count(statuses, 503), JSON.stringify(statuses));
      assert.equal(answers[RIGHT_AT]!.status, 429, 'the right password comes too late: the e-mail is locked');
      const locked = answers.find((a) => a.status === 429)!;
      assert.equal(locked.body.code, 'rate_limited');
      assert.ok(Number(locked.retryAfter) > 0, 'with Retry-After');
    });

    test(`sign-in: ${PARALLEL} parallel sign-ins for unknown e-mails from one address get at most 50 checks`, { timeout: 120_000 }, async () => {
      const address = randomAddress();
      const wave = (n: number) =>
        Promise.all(Array.from({ length: n }, (_, i) => signIn(kp.url, `nobody-${i}-${randomBytes(3).toString('hex')}@example.com`, 'guess guess guess', address)));
      const statuses = (await wave(PARALLEL)).map((a) => a.status);
      // What the hashing pool has no room for is refused with 503 and not counted: keep guessing
      // in smaller waves until the address is locked out.
      for (let round = 0; round < 20 && !statuses.includes(429); round++) statuses.push(...(await wave(20)).map((a) => a.status));
      assert.ok(count(statuses, 401) <= 50, `${count(statuses, 401)} checked`);
      assert.ok(statuses.includes(429), JSON.stringify(statuses));
      assert.deepEqual([...new Set(statuses)].filter((s) => ![401, 429, 503].includes(s)), []);
      // Another address is not locked out by this one.
      assert.equal((await signIn(kp.url, 'nobody@example.com', 'guess guess guess', randomAddress())).status, 401);
    });

    test(`OAuth client: ${PARALLEL} parallel wrong secrets for one client id get at most 10 checks; the right secret from another address still works`, { timeout: 120_000 }, async () => {
      const account = await createAccount(kp.api);
      const { key, secret } = await createKey(kp.api, account, { active: true });
      const address = randomAddress();
      const token = (s: string, from: string) =>
        postForm(`${kp.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(key.clientId, s), 'x-forwarded-for': from });
      const wrong = `${secret.slice(0, -6)}XXXXXX`;
      const answers = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => token(i === RIGHT_AT ? secret : wrong, address)));
      const statuses = answers.map((a) => a.status);
      assert.ok(count(statuses, 401) + count(statuses, 200) <= 10, `checked ${count(statuses, 401)} wrong and ${count(statuses, 200)} right`);
      assert.equal(count(statuses, 429), PARALLEL - count(statuses, 401) - count(statuses, 200));
      assert.equal(answers[RIGHT_AT]!.body.error, 'slow_down');
      // The lock-out is of this client id from this address: the client itself, elsewhere, gets its token.
      const elsewhere = await token(secret, randomAddress());
      assert.equal(elsewhere.status, 200, JSON.stringify(elsewhere.body));
      assert.equal((await token(secret, address)).status, 429, 'the guessing address stays locked out');
    });

    test(`verify-secret: ${PARALLEL} parallel wrong secrets against one key get at most 10 checks`, { timeout: 120_000 }, async () => {
      const account = await createAccount(kp.api);
      const { key, secret } = await createKey(kp.api, account, { active: true });
      const answers = await Promise.all(
        Array.from({ length: PARALLEL }, (_, i) => kp.api('POST', `/v1/accounts/${account}/keys/${key.id}/verify-secret`, { secret: i === RIGHT_AT ? secret : `${secret}x` })),
      );
      const checked = answers.filter((a) => a.status === 200);
      assert.ok(checked.length <= 10, `${checked.length} checked`);
      assert.equal(answers.filter((a) => a.status === 429).length, PARALLEL - checked.length);
      assert.ok(Number(answers.find((a) => a.status === 429)!.headers.get('retry-after')) > 0);
    });

    test('a sign-in refused because the hashing pool is full is answered 503 with Retry-After and is not counted', { timeout: 120_000 }, async () => {
      const account = await createAccount(kp.api);
      const email = `busy-${randomBytes(4).toString('hex')}@example.com`;
      assert.equal((await kp.api('POST', `/v1/accounts/${account}/members`, { email, role: 'viewer', password: PASSWORD })).status, 201);
      // 60 different addresses and e-mails at once: more than 2 running + 32 waiting.
      const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => signIn(kp.url, `someone-${i}@example.com`, 'guess guess guess', randomAddress())));
      const busy = answers.filter((a) => a.status === 503);
      assert.ok(busy.length > 0, JSON.stringify(answers.map((a) => a.status)));
      assert.equal(busy[0]!.body.code, 'server_busy');
      assert.equal(busy[0]!.retryAfter, '1');
      assert.equal((await signIn(kp.url, email, PASSWORD, randomAddress())).status, 200, 'the pool is free again');
    });
  },
  { KEYPORT_TRUSTED_PROXIES: '127.0.0.1' },
);

describe('brute force across two nodes sharing Redis', () => {
  const nodes: RunningKeyport[] = [];
  let dispose = async () => {};
  before(async () => {
    const store = await freshStore('postgres');
    dispose = store.dispose;
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      KEYPORT_BOOTSTRAP_TOKEN: TEST_TOKEN,
      KEYPORT_TRUSTED_PROXIES: '127.0.0.1',
      REDIS_URL: process.env.KEYPORT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
      ...store.env,
    });
    nodes.push(await startKeyport(config));
    nodes.push(await startKeyport(config));
  });
  after(async () => {
    for (const node of nodes) await node.close();
    await dispose();
  });

  test(`${PARALLEL} parallel wrong passwords spread over two nodes get at most 5 checks in all`, { timeout: 120_000 }, async () => {
    const api = apiClient(nodes[0]!.url, TEST_TOKEN);
    const account = await createAccount(api);
    const email = `cluster-${randomBytes(4).toString('hex')}@example.com`;
    assert.equal((await api('POST', `/v1/accounts/${account}/members`, { email, role: 'viewer', password: PASSWORD })).status, 201);
    const address = randomAddress();
    const answers = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => signIn(nodes[i % 2]!.url, email, `wrong password ${i}`, address)));
    const statuses = answers.map((a) => a.status);
    assert.ok(count(statuses, 401) <= 5, `${count(statuses, 401)} checked`);
    assert.ok(count(statuses, 429) >= PARALLEL - 5, JSON.stringify(statuses));
    // Both nodes refuse the e-mail now, even with the right password.
    for (const node of nodes) assert.equal((await signIn(node.url, email, PASSWORD, randomAddress())).status, 429);
  });
});
