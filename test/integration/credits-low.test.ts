import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, createKey, startTestKeyport, STORES, type TestKeyport } from '../helpers/keyport.js';
import { MemoryNotices } from '../helpers/notices.js';
import { eventually } from '../helpers/oauth.js';

for (const store of STORES)
  describe(`credits running low (${store})`, () => {
    let kp: TestKeyport;
    const sink = new MemoryNotices(['key.credits_low']);
    before(async () => {
      kp = await startTestKeyport(store, { KEYPORT_EXPIRY_SCAN_INTERVAL: '0' }, { notices: sink });
    });
    after(async () => kp?.stop());

    const lowNotices = async (account: string, count: number) => {
      // Written right after the spend that crossed the threshold, in a transaction of its own.
      await eventually(async () => sink.of(account).length >= count, 10_000);
      return sink.of(account);
    };

    test('key.credits_low once when a spend reaches the threshold, again after a top-up', async () => {
      const account = await createAccount(kp.api);
      assert.equal((await kp.api('PATCH', `/v1/accounts/${account}/settings`, { creditsLowThreshold: 2 })).body.settings.creditsLowThreshold, 2);
      const { key, secret } = await createKey(kp.api, account, { credentialType: 'token', active: true, credits: { remaining: 4 } });
      const verify = async () => (await kp.api('POST', '/v1/verify', { key: secret })).body.credits.remaining;
      assert.equal(await verify(), 3);
      assert.equal(await verify(), 2, 'this spend reaches the threshold');
      assert.deepEqual(await lowNotices(account, 1), [`key.credits_low ${key.id}`]);
      assert.equal(await verify(), 1);
      assert.equal(await verify(), 0);
      assert.equal((await kp.api('POST', '/v1/verify', { key: secret })).body.code, 'usage_exceeded');

      await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { credits: { remaining: 3 } });
      assert.equal(await verify(), 2, 'after a top-up the threshold is crossed again');
      assert.deepEqual(await lowNotices(account, 2), [`key.credits_low ${key.id}`, `key.credits_low ${key.id}`]);
      assert.deepEqual((sink.received.filter((n) => n.accountId === account)[1]!.data as any).credits.remaining, 2);

      const audit = (await kp.api('GET', `/v1/accounts/${account}/audit?action=key.credits_low`)).body.items;
      assert.equal(audit.length, 2);
      assert.deepEqual(audit[0].actor, { kind: 'system', id: 'keyport', label: 'credits' });
      assert.deepEqual(audit[0].after, { remaining: 2, threshold: 2 });

      // A new threshold counts from the next spend on (the cached one is forgotten).
      await kp.api('PATCH', `/v1/accounts/${account}/settings`, { creditsLowThreshold: 50 });
      await kp.api('PATCH', `/v1/accounts/${account}/keys/${key.id}`, { credits: { remaining: 55 } });
      assert.equal((await kp.api('POST', '/v1/verify', { key: secret, cost: 5 })).body.credits.remaining, 50);
      assert.equal((await lowNotices(account, 3)).length, 3);
    });

    test('a spend that jumps past the threshold counts; a key that starts below it never sends', async () => {
      const account = await createAccount(kp.api);
      const big = await createKey(kp.api, account, { credentialType: 'token', active: true, credits: { remaining: 100 } });
      const small = await createKey(kp.api, account, { credentialType: 'token', active: true, credits: { remaining: 5 } });
      assert.equal((await kp.api('POST', '/v1/verify', { key: small.secret })).body.credits.remaining, 4);
      assert.equal((await kp.api('POST', '/v1/verify', { key: big.secret, cost: 95 })).body.credits.remaining, 5);
      assert.deepEqual(await lowNotices(account, 1), [`key.credits_low ${big.key.id}`]);
      assert.equal((await kp.api('POST', '/v1/verify', { key: small.secret })).body.credits.remaining, 3);
      // The default threshold is 10: 'small' began below it, so it never crossed it.
      assert.deepEqual(sink.of(account), [`key.credits_low ${big.key.id}`]);
    });
  });
