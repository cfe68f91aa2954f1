import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAccount, createKey, describeEachStore } from '../helpers/keyport.js';

describeEachStore('key lifecycle', (kp) => {
  test('a new account is provisioned with an admin and a storefront key per environment, without secrets', async () => {
    const res = await kp.api('POST', '/v1/accounts', { name: 'Acme Outdoor' });
    assert.equal(res.status, 201);
    assert.equal(res.body.name, 'Acme Outdoor');
    assert.equal(res.body.eligible, true);
    assert.deepEqual(res.body.settings, {
      accessTokenTtl: 3600,
      keyLifetime: null,
      keyLimitPerEnvironment: 25,
      secretReveal: 'never',
      defaultActive: { client_secret: true, token: false },
      expiryNoticeDays: [7, 1],
      leakResponse: 'revoke',
      creditsLowThreshold: 10,
    });
    const provisioned = res.body.provisionedKeys.map((k: any) => `${k.environment}/${k.kind}/${k.credentialType}/${k.hasSecret}`).sort();
    assert.deepEqual(provisioned, [
      'production/admin/client_secret/false',
      'production/storefront/client_secret/false',
      'sandbox/admin/client_secret/false',
      'sandbox/storefront/client_secret/false',
    ]);
    const list = await kp.api('GET', `/v1/accounts/${res.body.id}/keys`);
    assert.equal(list.body.items.length, 4);
    const admin = list.body.items.find((k: any) => k.kind === 'admin' && k.environment === 'production');
    assert.match(admin.clientId, /^kpid_live_[0-9A-Za-z]{39}$/);
    const catalog = await kp.api('GET', '/v1/catalog');
    assert.deepEqual(admin.scopes, catalog.body.services.flatMap((s: any) => s.scopes.map((x: any) => x.id)));

    const bare = await kp.api('POST', '/v1/accounts', { name: 'Bare', provisionDefaultKeys: false });
    assert.deepEqual(bare.body.provisionedKeys, []);
  });

  test('creates keys of every kind and credential type; the secret is shown once and only its hash is kept', async () => {
    const account = await createAccount(kp.api);
    const cs = await createKey(kp.api, account, { name: 'ERP sync', environment: 'production', roles: [{ definition: 'pricing', level: 'editor' }], channel: 'b2b' });
    assert.match(cs.secret, /^kpsk_live_[0-9A-Za-z]{39}$/);
    assert.match(cs.key.clientId, /^kpid_live_/);
    assert.deepEqual(
      { ...cs.key, id: undefined, clientId: undefined, createdAt: undefined, updatedAt: undefined, createdBy: undefined },
      {
        id: undefined, accountId: account, name: 'ERP sync', environment: 'production', kind: 'custom', credentialType: 'client_secret',
        clientId: undefined, scopes: ['product.read'], roles: [{ definition: 'pricing', level: 'editor' }],
        grantedScopes: ['product.read', 'price.read', 'price.write'], channel: 'b2b', active: true, hasSecret: true,
        expiresAt: null, previousSecretExpiresAt: null, createdAt: undefined, updatedAt: undefined, lastUsedAt: null, createdBy: undefined,
        rateLimit: null, ipAllowlist: null, credits: null, meta: null, externalId: null, leak: null,
      },
    );
    const token = await createKey(kp.api, account, { name: 'GraphQL', credentialType: 'token', roles: [{ definition: 'product_data', level: 'viewer' }], scopes: [] });
    assert.match(token.secret, /^kp_test_[0-9A-Za-z]{39}$/);
    assert.equal(token.key.clientId, null);
    assert.equal(token.key.active, false, 'token keys start inactive by default');
    const storefront = await createKey(kp.api, account, { name: 'Shop front', kind: 'storefront', scopes: undefined });
    assert.deepEqual(storefront.key.scopes, (await kp.api('GET', '/v1/catalog')).body.storefrontScopes);
    const admin = await createKey(kp.api, account, { name: 'Back office', kind: 'admin', scopes: undefined, credentialType: 'token', active: true });
    assert.equal(admin.key.active, true);

    // The secret is never shown again, in any read.
    const got = await kp.api('GET', `/v1/accounts/${account}/keys/${cs.key.id}`);
    assert.equal(got.status, 200);
    assert.equal(JSON.stringify(got.body).includes(cs.secret), false);
    assert.equal(got.body.secret, undefined);
    assert.equal(got.body.secretHash, undefined);
    const list = await kp.api('GET', `/v1/accounts/${account}/keys`);
    assert.equal(JSON.stringify(list.body).includes(cs.secret), false);
    assert.equal(JSON.stringify(list.body).includes('Hash'), false);
  });

  test('verify-secret answers matches true or false', async () => {
    const account = await createAccount(kp.api);
    const { key, secret } = await createKey(kp.api, account);
    const yes = await kp.api('POST', `/v1/accounts/${account}/keys/${key.id}/verify-secret`, { secret });
    assert.deepEqual([yes.status, yes.body], [200, { matches: true }]);
    const no = await kp.api('POST', `/v1/accounts/${account}/keys/${key.id}/verify-secret`, { secret: secret.slice(0, -1) + (secret.endsWith('x') ? 'y' : 'x') });
    assert.deepEqual([no.status, no.body], [200, { matches: false }]);
  });

  test('reset-secret needs confirmation, replaces the secret at once or after a grace period', async () => {
    const account = await createAccount(kp.api);
    const { key, secret } = await createKey(kp.api, account);
    const path = `/v1/accounts/${account}/keys/${key.id}`;
    const unconfirmed = await kp.api('POST', `${path}/reset-secret`, { confirm: false });
    assert.equal(unconfirmed.status, 400);
    assert.equal(unconfirmed.body.code, 'confirmation_required');
    assert.equal((await kp.api('POST', `${path}/verify-secret`, { secret })).body.matches, true, 'nothing changed');

    const reset = await kp.api('POST', `${path}/reset-secret`, { confirm: true });
    assert.equal(reset.status, 200);
    assert.notEqual(reset.body.secret, secret);
    assert.equal(reset.body.key.clientId, key.clientId, 'a reset keeps the client id');
    assert.equal((await kp.api('POST', `${path}/verify-secret`, { secret })).body.matches, false);
    assert.equal((await kp.api('POST', `${path}/verify-secret`, { secret: reset.body.secret })).body.matches, true);

    const graceful = await kp.api('POST', `${path}/reset-secret`, { confirm: true, previousSecretValidFor: 60 });
    assert.equal(graceful.body.key.previousSecretExpiresAt, new Date(kp.clock.now() + 60_000).toISOString());
    assert.equal((await kp.api('POST', `${path}/verify-secret`, { secret: reset.body.secret })).body.matches, true, 'old secret still valid');
    assert.equal((await kp.api('POST', `${path}/verify-secret`, { secret: graceful.body.secret })).body.matches, true);
    kp.clock.advance(61_000);
    assert.equal((await kp.api('POST', `${path}/verify-secret`, { secret: reset.body.secret })).body.matches, false, 'grace period over');
    assert.equal((await kp.api('POST', `${path}/verify-secret`, { secret: graceful.body.secret })).body.matches, true);
  });

  test('a provisioned key gets its first secret by a reset', async () => {
    const res = await kp.api('POST', '/v1/accounts', { name: 'Onboarding' });
    const key = res.body.provisionedKeys[0];
    const reset = await kp.api('POST', `/v1/accounts/${res.body.id}/keys/${key.id}/reset-secret`, { confirm: true, previousSecretValidFor: 30 });
    assert.equal(reset.status, 200);
    assert.equal(reset.body.key.hasSecret, true);
    assert.equal(reset.body.key.previousSecretExpiresAt, null, 'there was no previous secret to keep');
  });

  test('regenerate gives a new client id and secret; the old pair stops at once', async () => {
    const account = await createAccount(kp.api);
    const { key, secret } = await createKey(kp.api, account);
    const path = `/v1/accounts/${account}/keys/${key.id}`;
    assert.equal((await kp.api('POST', `${path}/regenerate`, {})).body.code, 'validation_failed');
    const regen = await kp.api('POST', `${path}/regenerate`, { confirm: true });
    assert.equal(regen.status, 200);
    assert.equal(regen.body.key.id, key.id);
    assert.notEqual(regen.body.key.clientId, key.clientId);
    assert.match(regen.body.key.clientId, /^kpid_test_/);
    assert.equal((await kp.api('POST', `${path}/verify-secret`, { secret })).body.matches, false);
    assert.equal((await kp.api('POST', `${path}/verify-secret`, { secret: regen.body.secret })).body.matches, true);
  });

  test('update renames, switches, re-channels, re-scopes; roles of token keys are fixed', async () => {
    const account = await createAccount(kp.api);
    const { key } = await createKey(kp.api, account);
    const path = `/v1/accounts/${account}/keys/${key.id}`;
    kp.clock.advance(1000);
    const res = await kp.api('PATCH', path, { name: 'Renamed', active: false, channel: 'retail', scopes: ['order.read', 'order.write'], roles: [{ definition: 'logistics', level: 'owner' }] });
    assert.equal(res.status, 200);
    assert.equal(res.body.name, 'Renamed');
    assert.equal(res.body.active, false);
    assert.equal(res.body.channel, 'retail');
    assert.deepEqual(res.body.scopes, ['order.read', 'order.write']);
    assert.deepEqual(res.body.grantedScopes, ['order.read', 'order.write', 'shipping.read', 'shipping.write', 'inventory.read', 'inventory.write']);
    assert.equal(res.body.updatedAt, new Date(kp.clock.now()).toISOString());
    assert.notEqual(res.body.updatedAt, res.body.createdAt);
    const cleared = await kp.api('PATCH', path, { channel: null });
    assert.equal(cleared.body.channel, null);

    const tokenKey = (await createKey(kp.api, account, { credentialType: 'token', roles: [{ definition: 'user', level: 'viewer' }] })).key;
    const refused = await kp.api('PATCH', `/v1/accounts/${account}/keys/${tokenKey.id}`, { roles: [{ definition: 'user', level: 'owner' }] });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'roles_immutable');
    assert.deepEqual(refused.body.errors, [{ pointer: '/roles', detail: 'cannot change on a token key' }]);
    assert.deepEqual((await kp.api('GET', `/v1/accounts/${account}/keys/${tokenKey.id}`)).body.roles, [{ definition: 'user', level: 'viewer' }]);
    const renamed = await kp.api('PATCH', `/v1/accounts/${account}/keys/${tokenKey.id}`, { name: 'Still fine', active: true });
    assert.equal(renamed.status, 200);
  });

  test('expiry: explicit, from the account keyLifetime, renewed by a reset', async () => {
    const account = await createAccount(kp.api);
    const explicit = new Date(kp.clock.now() + 86_400_000).toISOString();
    assert.equal((await createKey(kp.api, account, { expiresAt: explicit })).key.expiresAt, explicit);
    await kp.api('PATCH', `/v1/accounts/${account}/settings`, { keyLifetime: 7200 });
    const { key } = await createKey(kp.api, account);
    assert.equal(key.expiresAt, new Date(kp.clock.now() + 7_200_000).toISOString());
    assert.equal((await createKey(kp.api, account, { expiresAt: null })).key.expiresAt, null);
    kp.clock.advance(3_600_000);
    const reset = await kp.api('POST', `/v1/accounts/${account}/keys/${key.id}/reset-secret`, { confirm: true });
    assert.equal(reset.body.key.expiresAt, new Date(kp.clock.now() + 7_200_000).toISOString());
  });

  test('delete one, and delete many with confirmation, all or nothing', async () => {
    const account = await createAccount(kp.api);
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await createKey(kp.api, account, { name: `k${i}` })).key.id);
    assert.equal((await kp.api('DELETE', `/v1/accounts/${account}/keys/${ids[0]}`)).status, 204);
    assert.equal((await kp.api('GET', `/v1/accounts/${account}/keys/${ids[0]}`)).status, 404);
    assert.equal((await kp.api('DELETE', `/v1/accounts/${account}/keys/${ids[0]}`)).status, 404);

    const unconfirmed = await kp.api('POST', `/v1/accounts/${account}/keys/batch-delete`, { ids: ids.slice(1), confirm: false });
    assert.equal(unconfirmed.body.code, 'confirmation_required');
    const withUnknown = await kp.api('POST', `/v1/accounts/${account}/keys/batch-delete`, { ids: [ids[1], 'key_doesnotexist'], confirm: true });
    assert.equal(withUnknown.status, 404);
    assert.deepEqual(withUnknown.body.errors, [{ pointer: '/ids/1', detail: "no key 'key_doesnotexist' in this account" }]);
    assert.equal((await kp.api('GET', `/v1/accounts/${account}/keys`)).body.items.length, 3, 'nothing was deleted');

    const done = await kp.api('POST', `/v1/accounts/${account}/keys/batch-delete`, { ids: ids.slice(1), confirm: true });
    assert.equal(done.status, 200);
    assert.deepEqual(done.body.deleted.sort(), ids.slice(1).sort());
    assert.deepEqual((await kp.api('GET', `/v1/accounts/${account}/keys`)).body.items, []);
  });

  test('quick start samples carry the key id and the real URLs, with the secret as a placeholder', async () => {
    const account = await createAccount(kp.api);
    const { key, secret } = await createKey(kp.api, account);
    const res = await kp.api('GET', `/v1/accounts/${account}/keys/${key.id}/quickstart`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.samples.map((s: any) => s.language), ['curl', 'javascript', 'python', 'gateway']);
    for (const sample of res.body.samples) {
      assert.ok(sample.code.includes(key.clientId), `${sample.language} names the client id`);
      assert.ok(sample.code.includes(`${kp.url}/oauth/token`), `${sample.language} uses the real token URL`);
      assert.ok(sample.code.includes('<YOUR_CLIENT_SECRET>'));
      assert.equal(sample.code.includes(secret), false);
    }
    const tokenKey = (await createKey(kp.api, account, { credentialType: 'token' })).key;
    const tq = await kp.api('GET', `/v1/accounts/${account}/keys/${tokenKey.id}/quickstart`);
    const [gateway, ...direct] = [...tq.body.samples].reverse();
    assert.ok(direct.every((s: any) => s.code.includes('<YOUR_API_KEY>') && s.code.includes(`${kp.url}/v1/whoami`)));
    assert.ok(gateway.code.includes('<YOUR_API_KEY>') && gateway.code.includes(`${kp.url}/v1/authz?environment=sandbox&scopes=product.read`), gateway.code);
  });

  test('settings change, and invalid values are refused with nothing changed', async () => {
    const account = await createAccount(kp.api);
    const ok = await kp.api('PATCH', `/v1/accounts/${account}/settings`, {
      accessTokenTtl: 900, keyLifetime: 86_400, keyLimitPerEnvironment: 3, secretReveal: 'permitted', defaultActive: { token: true },
      expiryNoticeDays: [1, 30, 7], leakResponse: 'notify', creditsLowThreshold: 0,
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body.settings, {
      accessTokenTtl: 900, keyLifetime: 86_400, keyLimitPerEnvironment: 3, secretReveal: 'permitted', defaultActive: { client_secret: true, token: true },
      expiryNoticeDays: [30, 7, 1], leakResponse: 'notify', creditsLowThreshold: 0,
    });
    for (const [body, pointer] of [
      [{ accessTokenTtl: 5 }, '/accessTokenTtl'],
      [{ accessTokenTtl: '900' }, '/accessTokenTtl'],
      [{ keyLimitPerEnvironment: 0 }, '/keyLimitPerEnvironment'],
      [{ secretReveal: 'sometimes' }, '/secretReveal'],
      [{ defaultActive: { oauth: true } }, '/defaultActive/oauth'],
      [{ expiryNoticeDays: [0] }, '/expiryNoticeDays/0'],
      [{ expiryNoticeDays: [7, 7] }, '/expiryNoticeDays'],
      [{ expiryNoticeDays: [1.5] }, '/expiryNoticeDays/0'],
      [{ expiryNoticeDays: 7 }, '/expiryNoticeDays'],
      [{ leakResponse: 'ignore' }, '/leakResponse'],
      [{ creditsLowThreshold: -1 }, '/creditsLowThreshold'],
      [{ colour: 'blue' }, '/colour'],
    ] as const) {
      const bad = await kp.api('PATCH', `/v1/accounts/${account}/settings`, body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.equal(bad.body.code, 'validation_failed');
      assert.ok(bad.body.errors.some((e: any) => e.pointer === pointer), `${JSON.stringify(bad.body.errors)} names ${pointer}`);
    }
    assert.equal((await kp.api('PATCH', `/v1/accounts/${account}/settings`, {})).status, 400);
    assert.deepEqual((await kp.api('GET', `/v1/accounts/${account}`)).body.settings, ok.body.settings, 'nothing changed');
  });

  test('a non-eligible account cannot create keys', async () => {
    const account = await createAccount(kp.api, { eligible: false });
    const res = await kp.api('POST', `/v1/accounts/${account}/keys`, { name: 'x', environment: 'sandbox', kind: 'admin', credentialType: 'client_secret' });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'account_not_eligible');
    assert.equal((await kp.api('GET', `/v1/accounts/${account}/keys`)).body.items.length, 0);
  });

  test('the key limit per environment holds, also under parallel creation', async () => {
    const account = await createAccount(kp.api);
    await kp.api('PATCH', `/v1/accounts/${account}/settings`, { keyLimitPerEnvironment: 3 });
    const body = { name: 'race', environment: 'sandbox', kind: 'custom', credentialType: 'client_secret', scopes: ['cart.read'] };
    const results = await Promise.all(Array.from({ length: 12 }, () => kp.api('POST', `/v1/accounts/${account}/keys`, body)));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 201, 201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    assert.equal(results.find((r) => r.status === 409)!.body.code, 'key_limit_reached');
    assert.equal((await kp.api('GET', `/v1/accounts/${account}/keys?environment=sandbox`)).body.items.length, 3);
    // The other environment has its own allowance.
    assert.equal((await kp.api('POST', `/v1/accounts/${account}/keys`, { ...body, environment: 'production' })).status, 201);
  });
});
