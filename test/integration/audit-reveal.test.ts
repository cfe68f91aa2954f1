import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiClient, createAccount, createKey, describeEachStore } from '../helpers/keyport.js';
import { operatorToken, signIn } from '../helpers/operators.js';

describeEachStore('audit log', (kp) => {
  test('the whole life of a key leaves a trail: who, when, from where, before and after, never a secret', async () => {
    const account = await createAccount(kp.api);
    const { token, operatorId } = await operatorToken(kp, account, 'auditor@example.com', 'owner');
    const api = apiClient(kp.url, token);
    const created = await createKey(api, account, { name: 'Lifecycle' });
    const id = created.key.id;
    kp.clock.advance(1000);
    await api('PATCH', `/v1/accounts/${account}/keys/${id}`, { name: 'Renamed', active: false });
    const reset = await api('POST', `/v1/accounts/${account}/keys/${id}/reset-secret`, { confirm: true });
    await api('POST', `/v1/accounts/${account}/keys/${id}/verify-secret`, { secret: reset.body.secret });
    const regen = await api('POST', `/v1/accounts/${account}/keys/${id}/regenerate`, { confirm: true, revokeTokens: true });
    await api('PATCH', `/v1/accounts/${account}/settings`, { accessTokenTtl: 600 });
    await api('DELETE', `/v1/accounts/${account}/keys/${id}`);

    const trail = await api('GET', `/v1/accounts/${account}/audit?key=${id}`);
    assert.equal(trail.status, 200);
    assert.deepEqual(trail.body.items.map((e: any) => e.action), [
      'key.deleted', 'key.regenerated', 'key.verify_secret', 'key.secret_reset', 'key.updated', 'key.created',
    ]);
    for (const entry of trail.body.items) {
      assert.deepEqual(entry.actor, { kind: 'operator', id: operatorId, label: 'auditor@example.com' });
      assert.equal(entry.sourceIp, '127.0.0.1');
      assert.equal(entry.keyId, id);
    }
    const updated = trail.body.items.find((e: any) => e.action === 'key.updated');
    assert.deepEqual([updated.before.name, updated.before.active, updated.after.name, updated.after.active], ['Lifecycle', true, 'Renamed', false]);
    assert.equal(trail.body.items.find((e: any) => e.action === 'key.regenerated').after.revokeTokens, true);
    assert.deepEqual(trail.body.items.find((e: any) => e.action === 'key.verify_secret').after, { matches: true });
    const all = JSON.stringify((await api('GET', `/v1/accounts/${account}/audit?limit=500`)).body);
    for (const secret of [created.secret, reset.body.secret, regen.body.secret]) assert.equal(all.includes(secret), false, 'no secret in the log');
    assert.equal(all.includes('secretHash'), false);
    const settings = (await api('GET', `/v1/accounts/${account}/audit?action=settings`)).body.items;
    assert.deepEqual([settings[0].before.accessTokenTtl, settings[0].after.accessTokenTtl], [3600, 600]);

    // Filters and pages.
    const byActor = await api('GET', `/v1/accounts/${account}/audit?actor=auditor@example.com&action=key&limit=2`);
    assert.equal(byActor.body.items.length, 2);
    const next = await api('GET', `/v1/accounts/${account}/audit?actor=auditor@example.com&action=key&limit=2&cursor=${byActor.body.nextCursor}`);
    assert.deepEqual(next.body.items.map((e: any) => e.action), ['key.verify_secret', 'key.secret_reset']);
    const from = new Date(kp.clock.now() - 500).toISOString();
    const recent = await api('GET', `/v1/accounts/${account}/audit?key=${id}&from=${encodeURIComponent(from)}`);
    assert.equal(recent.body.items.some((e: any) => e.action === 'key.created'), false, 'created before the range');
    assert.equal((await api('GET', `/v1/accounts/${account}/audit?cursor=bogus`)).body.code, 'invalid_cursor');
    assert.equal((await api('GET', `/v1/accounts/${account}/audit?from=yesterday`)).status, 400);

    // No interface changes or deletes an entry.
    for (const method of ['DELETE', 'PATCH', 'PUT', 'POST']) {
      assert.equal((await kp.api(method, `/v1/accounts/${account}/audit`, method === 'DELETE' ? undefined : {})).status, 404, method);
      assert.equal((await kp.api(method, `/v1/accounts/${account}/audit/${trail.body.items[0].id}`, method === 'DELETE' ? undefined : {})).status, 404, method);
    }
  });

  test("the platform's log holds what belongs to no account, for the platform owner only", async () => {
    const account = await createAccount(kp.api);
    const { token } = await operatorToken(kp, account, 'member@example.com', 'owner');
    const stranger = await signIn(kp.url, 'nobody@example.com', 'wrong password');
    assert.equal(stranger.status, 401);
    const rotated = await kp.api('POST', '/v1/signing-keys/rotate', { immediately: true });
    const withdrawn = await kp.api('POST', `/v1/signing-keys/${rotated.body.kid}/withdraw`);
    assert.equal(withdrawn.status, 200);
    await kp.api('POST', `/v1/signing-keys/${rotated.body.kid}/withdraw`);

    const log = await kp.api('GET', '/v1/audit?limit=500');
    assert.equal(log.status, 200);
    const actions = log.body.items.map((e: any) => e.action);
    assert.equal(actions.filter((a: string) => a === 'signing_key.withdraw').length, 1, 'withdrawing twice is one change');
    const withdrawal = log.body.items.find((e: any) => e.action === 'signing_key.withdraw');
    assert.deepEqual([withdrawal.targetId, withdrawal.before.status, withdrawal.after.status, withdrawal.actor.kind], [rotated.body.kid, 'current', 'withdrawn', 'platform']);
    assert.equal(log.body.items.find((e: any) => e.action === 'signing_key.rotate').targetId, rotated.body.kid);
    const failed = log.body.items.find((e: any) => e.actor.label === 'nobody@example.com');
    assert.ok(failed, 'a sign-in for an e-mail no operator has is on record');
    assert.deepEqual([failed.actor.kind, failed.sourceIp], ['anonymous', '127.0.0.1']);
    assert.equal(log.body.items.find((e: any) => e.action === 'personal_token.create').actor.label, 'member@example.com');
    assert.equal(actions.some((a: string) => a.startsWith('key.')), false, "no account's entries");

    const filtered = await kp.api('GET', '/v1/audit?action=signing_key');
    assert.deepEqual(filtered.body.items.map((e: any) => e.action), ['signing_key.withdraw', 'signing_key.rotate']);
    assert.equal((await apiClient(kp.url, token)('GET', '/v1/audit')).status, 403, 'an account owner is not the platform owner');
    assert.equal((await kp.as(null)('GET', '/v1/audit')).status, 401);
    assert.equal((await kp.api('GET', '/v1/audit?to=2020-01-01T00:00:00Z&from=2021-01-01T00:00:00Z')).status, 400);
  });
});

describeEachStore('secret reveal policy', (kp) => {
  test('with "never" (the default) nothing reveals a secret', async () => {
    const account = await createAccount(kp.api);
    const { key } = await createKey(kp.api, account);
    const res = await kp.api('POST', `/v1/accounts/${account}/keys/${key.id}/reveal`);
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'secret_reveal_not_permitted');
  });

  test('with "permitted" new and reset secrets can be revealed and each reveal is audited; "never" destroys the copies', async () => {
    const account = await createAccount(kp.api);
    const before = await createKey(kp.api, account);
    await kp.api('PATCH', `/v1/accounts/${account}/settings`, { secretReveal: 'permitted' });
    const old = await kp.api('POST', `/v1/accounts/${account}/keys/${before.key.id}/reveal`);
    assert.equal(old.status, 409, 'made while the policy was never');
    const { key, secret } = await createKey(kp.api, account);
    const revealed = await kp.api('POST', `/v1/accounts/${account}/keys/${key.id}/reveal`);
    assert.deepEqual([revealed.status, revealed.body], [200, { secret }]);
    const reset = await kp.api('POST', `/v1/accounts/${account}/keys/${before.key.id}/reset-secret`, { confirm: true });
    assert.deepEqual((await kp.api('POST', `/v1/accounts/${account}/keys/${before.key.id}/reveal`)).body, { secret: reset.body.secret });
    const audit = await kp.api('GET', `/v1/accounts/${account}/audit?action=key.revealed`);
    assert.deepEqual(audit.body.items.map((e: any) => e.keyId), [before.key.id, key.id]);
    assert.equal(JSON.stringify(audit.body).includes(secret), false);

    await kp.api('PATCH', `/v1/accounts/${account}/settings`, { secretReveal: 'never' });
    assert.equal((await kp.api('POST', `/v1/accounts/${account}/keys/${key.id}/reveal`)).status, 403);
    await kp.api('PATCH', `/v1/accounts/${account}/settings`, { secretReveal: 'permitted' });
    assert.equal((await kp.api('POST', `/v1/accounts/${account}/keys/${key.id}/reveal`)).status, 409, 'the copy was destroyed');
    assert.equal((await kp.api('POST', `/v1/accounts/${account}/keys/${key.id}/verify-secret`, { secret })).body.matches, true, 'the secret itself still works');
  });
});
