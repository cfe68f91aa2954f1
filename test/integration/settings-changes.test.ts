import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAccount, createKey, describeEachStore } from '../helpers/keyport.js';

describeEachStore('settings changes', (kp) => {
  test('the audit entry of "token keys start active" records the member that changed', async () => {
    const account = await createAccount(kp.api);
    const res = await kp.api('PATCH', `/v1/accounts/${account}/settings`, { defaultActive: { token: true } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [entry] = (await kp.api('GET', `/v1/accounts/${account}/audit?action=settings`)).body.items;
    assert.deepEqual(entry.before.defaultActive, { client_secret: true, token: false });
    assert.deepEqual(entry.after.defaultActive, { client_secret: true, token: true });
    // Secrets are still never in the log.
    const { key, secret } = await createKey(kp.api, account, { credentialType: 'token' });
    await kp.api('POST', `/v1/accounts/${account}/keys/${key.id}/reset-secret`, { confirm: true });
    assert.ok(!JSON.stringify((await kp.api('GET', `/v1/accounts/${account}/audit?limit=500`)).body).includes(secret));
  });

  test('a limit lowered below the keys held keeps them, refuses new ones, and says so', async () => {
    const account = await createAccount(kp.api);
    for (let i = 0; i < 10; i++) await createKey(kp.api, account, { name: `key ${i}` });
    await createKey(kp.api, account, { name: 'live', environment: 'production' });
    const lowered = await kp.api('PATCH', `/v1/accounts/${account}/settings`, { keyLimitPerEnvironment: 3 });
    assert.equal(lowered.status, 200);
    assert.equal(lowered.body.settings.keyLimitPerEnvironment, 3);

    const counts = await kp.api('GET', `/v1/accounts/${account}/keys/counts`);
    assert.deepEqual(counts.body, {
      limit: 3,
      counts: { sandbox: 10, production: 1 },
      available: { sandbox: 0, production: 2 },
      overLimit: { sandbox: 7, production: 0 },
    });

    const refused = await kp.api('POST', `/v1/accounts/${account}/keys`, { name: 'eleventh', environment: 'sandbox', kind: 'custom', credentialType: 'client_secret', scopes: ['cart.read'] });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'key_limit_reached');
    assert.match(refused.body.detail, /holds 10 keys in sandbox, 7 more than its keyLimitPerEnvironment \(3\)/);
    assert.match(refused.body.detail, /keep working/);
    assert.match(refused.body.detail, /delete 8 or raise keyLimitPerEnvironment above 10/);
    assert.doesNotMatch(refused.body.detail, /its limit\b/);

    // The kept keys still work: listed, and usable.
    const listed = await kp.api('GET', `/v1/accounts/${account}/keys?environment=sandbox&limit=100`);
    assert.equal(listed.body.items.length, 10);
    assert.ok(listed.body.items.every((k: any) => k.active));

    // Exactly at the limit the detail is the plain one.
    for (const k of listed.body.items.slice(0, 7)) assert.equal((await kp.api('DELETE', `/v1/accounts/${account}/keys/${k.id}`)).status, 204);
    const atLimit = await kp.api('POST', `/v1/accounts/${account}/keys`, { name: 'fourth', environment: 'sandbox', kind: 'custom', credentialType: 'client_secret', scopes: ['cart.read'] });
    assert.equal(atLimit.body.code, 'key_limit_reached');
    assert.match(atLimit.body.detail, /holds 3 keys in sandbox, as many as its keyLimitPerEnvironment \(3\) allows/);
    const after = (await kp.api('GET', `/v1/accounts/${account}/keys/counts`)).body;
    assert.deepEqual([after.available.sandbox, after.overLimit.sandbox], [0, 0]);
  });
});
