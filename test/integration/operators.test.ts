import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { type Api, apiClient, createAccount, createKey, describeEachStore } from '../helpers/keyport.js';
import { operatorToken, PASSWORD, signIn } from '../helpers/operators.js';

describeEachStore('operators and sessions', (kp) => {
  test('sign-in gives an HttpOnly SameSite cookie; changes by cookie need the CSRF token; sign-out ends it', async () => {
    const account = await createAccount(kp.api);
    await kp.api('POST', `/v1/accounts/${account}/members`, { email: 'Ana@Example.com', role: 'editor', name: 'Ana', password: PASSWORD });
    const wrong = await signIn(kp.url, 'ana@example.com', 'not the password');
    assert.equal(wrong.status, 401);
    const session = await signIn(kp.url, 'ana@example.com');
    assert.equal(session.status, 200);
    assert.match(session.setCookie!, /^keyport_session=[^;]+;/);
    assert.deepEqual(session.setCookie!.split('; ').slice(1).sort(), ['HttpOnly', 'Max-Age=43200', 'Path=/', 'SameSite=Strict']);
    const cookieApi = (headers: Record<string, string>) => (method: string, path: string, body?: unknown) =>
      apiClient(kp.url, null)(method, path, body, { cookie: session.cookie, ...headers });
    const me = await cookieApi({})('GET', '/v1/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.email, 'ana@example.com');
    assert.equal(me.body.kind, 'operator');
    assert.deepEqual(me.body.accounts.map((a: any) => [a.id, a.permissions]), [[account, ['keys.view', 'keys.edit', 'keys.renew']]]);
    const body = { name: 'k', environment: 'sandbox', kind: 'custom', credentialType: 'client_secret', scopes: ['cart.read'] };
    const noCsrf = await cookieApi({})('POST', `/v1/accounts/${account}/keys`, body);
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.title, 'Forbidden');
    assert.equal((await cookieApi({ 'x-csrf-token': 'forged' })('POST', `/v1/accounts/${account}/keys`, body)).status, 403);
    const ok = await cookieApi({ 'x-csrf-token': session.csrfToken })('POST', `/v1/accounts/${account}/keys`, body);
    assert.equal(ok.status, 201);
    assert.equal(ok.body.key.createdBy, me.body.id);
    assert.equal((await apiClient(kp.url, null)('DELETE', '/v1/session', undefined, { cookie: session.cookie })).status, 403, 'signing out needs the CSRF token');
    assert.equal((await apiClient(kp.url, null)('DELETE', '/v1/session', undefined, { cookie: session.cookie, 'x-csrf-token': session.csrfToken })).status, 204);
    kp.services.auth.invalidate();
    assert.equal((await cookieApi({})('GET', '/v1/me')).status, 401);
  });

  test('personal tokens are shown once, listed without their value, and revocable', async () => {
    const account = await createAccount(kp.api);
    const { token } = await operatorToken(kp, account, 'tok@example.com', 'viewer');
    assert.match(token, /^kpat_live_/);
    const api = apiClient(kp.url, token);
    assert.equal((await api('GET', `/v1/accounts/${account}/keys`)).status, 200);
    const list = await api('GET', '/v1/me/tokens');
    assert.equal(list.body.items.length, 1);
    assert.equal(JSON.stringify(list.body).includes(token), false);
    assert.equal((await api('DELETE', `/v1/me/tokens/${list.body.items[0].id}`)).status, 204);
    kp.services.auth.invalidate();
    assert.equal((await api('GET', `/v1/accounts/${account}/keys`)).status, 401);
  });

  test('members: add, change role, remove; the last owner stays', async () => {
    const account = await createAccount(kp.api);
    const owner = await kp.api('POST', `/v1/accounts/${account}/members`, { email: 'boss@example.com', role: 'owner', password: PASSWORD });
    assert.equal(owner.status, 201);
    const noPassword = await kp.api('POST', `/v1/accounts/${account}/members`, { email: 'new@example.com', role: 'viewer' });
    assert.equal(noPassword.status, 400);
    assert.equal(noPassword.body.errors[0].pointer, '/password');
    const badRole = await kp.api('POST', `/v1/accounts/${account}/members`, { email: 'new@example.com', role: 'emperor', password: PASSWORD });
    assert.equal(badRole.status, 400);
    assert.equal((await kp.api('POST', `/v1/accounts/${account}/members`, { email: 'boss@example.com', role: 'viewer' })).status, 409);
    const lastOwner = await kp.api('PATCH', `/v1/accounts/${account}/members/${owner.body.operatorId}`, { role: 'viewer' });
    assert.equal(lastOwner.status, 409);
    assert.equal((await kp.api('DELETE', `/v1/accounts/${account}/members/${owner.body.operatorId}`)).status, 409);
    await kp.api('POST', `/v1/accounts/${account}/members`, { email: 'two@example.com', role: 'owner', password: PASSWORD });
    const demoted = await kp.api('PATCH', `/v1/accounts/${account}/members/${owner.body.operatorId}`, { role: 'viewer' });
    assert.equal(demoted.body.role, 'viewer');
    assert.equal((await kp.api('DELETE', `/v1/accounts/${account}/members/${owner.body.operatorId}`)).status, 204);
    const members = await kp.api('GET', `/v1/accounts/${account}/members`);
    assert.deepEqual(members.body.items.map((m: any) => [m.email, m.role]), [['two@example.com', 'owner']]);
    const roles = await kp.api('GET', `/v1/accounts/${account}/roles`);
    assert.deepEqual(roles.body.items.map((r: any) => r.id), ['owner', 'editor', 'viewer']);
    const custom = await kp.api('POST', `/v1/accounts/${account}/roles`, { name: 'Auditor', permissions: ['keys.view', 'settings.edit'] });
    assert.equal(custom.status, 201);
    assert.deepEqual(custom.body.permissions, ['keys.view', 'settings.edit']);
    assert.equal((await kp.api('POST', `/v1/accounts/${account}/roles`, { name: 'Bad', permissions: ['keys.fly'] })).status, 400);
  });

  test('failed sign-ins are throttled per e-mail and audited, lock-outs too', async () => {
    const account = await createAccount(kp.api);
    await kp.api('POST', `/v1/accounts/${account}/members`, { email: 'target@example.com', role: 'viewer', password: PASSWORD });
    for (let i = 0; i < 5; i++) assert.equal((await signIn(kp.url, 'target@example.com', `guess ${i}`)).status, 401);
    const locked = await signIn(kp.url, 'target@example.com', PASSWORD);
    assert.equal(locked.status, 429, 'even the right password waits out the lock');
    const audit = await kp.api('GET', `/v1/accounts/${account}/audit?action=login`);
    assert.deepEqual(audit.body.items.map((e: any) => e.action), ['login.locked', ...Array(5).fill('login.failed')]);
    assert.equal(audit.body.items[0].actor.label, 'target@example.com');
    assert.equal(audit.body.items[0].sourceIp, '127.0.0.1');
    kp.clock.advance(15 * 60_000 + 1000);
    assert.equal((await signIn(kp.url, 'target@example.com', PASSWORD)).status, 200);
  });

  test('verify-secret is throttled per key after 10 wrong secrets, and audited', async () => {
    const account = await createAccount(kp.api);
    const { key, secret } = await createKey(kp.api, account);
    const path = `/v1/accounts/${account}/keys/${key.id}/verify-secret`;
    for (let i = 0; i < 10; i++) assert.equal((await kp.api('POST', path, { secret: `wrong-${i}` })).body.matches, false);
    const refused = await kp.api('POST', path, { secret });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'rate_limited');
    const audit = await kp.api('GET', `/v1/accounts/${account}/audit?action=key.verify_secret_locked`);
    assert.equal(audit.body.items.length, 1);
  });
});

describeEachStore('permissions and isolation', (kp) => {
  let A: string;
  let B: string;
  const as: Record<string, Api> = {};
  let bKey: { key: any; secret: string };
  before(async () => {
    A = await createAccount(kp.api, { name: 'Account A' });
    B = await createAccount(kp.api, { name: 'Account B' });
    await kp.api('PATCH', `/v1/accounts/${A}/settings`, { secretReveal: 'permitted', keyLimitPerEnvironment: 1000 });
    for (const role of ['owner', 'editor', 'viewer'] as const) as[role] = apiClient(kp.url, (await operatorToken(kp, A, `${role}@a.example`, role)).token);
    const custom = await kp.api('POST', `/v1/accounts/${A}/roles`, { name: 'Settings only', permissions: ['keys.view', 'settings.edit'] });
    as.custom = apiClient(kp.url, (await operatorToken(kp, A, 'custom@a.example', custom.body.id)).token);
    const service = await kp.api('POST', `/v1/accounts/${A}/service-tokens`, { name: 'gateway' });
    as.service = apiClient(kp.url, service.body.token);
    as.ownerOfB = apiClient(kp.url, (await operatorToken(kp, B, 'owner@b.example', 'owner')).token);
    bKey = await createKey(kp.api, B, { name: 'B key' });
  });

  /** Each endpoint, the permission it needs, and a request that would succeed with it. */
  const endpoints: { name: string; permission: string; call: (api: Api) => Promise<{ status: number; body: any }> }[] = [
    { name: 'get account', permission: 'keys.view', call: (api) => api('GET', `/v1/accounts/${A}`) },
    { name: 'list keys', permission: 'keys.view', call: (api) => api('GET', `/v1/accounts/${A}/keys`) },
    { name: 'get key', permission: 'keys.view', call: async (api) => api('GET', `/v1/accounts/${A}/keys/${(await createKey(kp.api, A)).key.id}`) },
    { name: 'quickstart', permission: 'keys.view', call: async (api) => api('GET', `/v1/accounts/${A}/keys/${(await createKey(kp.api, A)).key.id}/quickstart`) },
    { name: 'verify-secret', permission: 'keys.view', call: async (api) => { const k = await createKey(kp.api, A); return api('POST', `/v1/accounts/${A}/keys/${k.key.id}/verify-secret`, { secret: k.secret }); } },
    { name: 'audit', permission: 'keys.view', call: (api) => api('GET', `/v1/accounts/${A}/audit`) },
    { name: 'external keys', permission: 'keys.view', call: (api) => api('GET', `/v1/accounts/${A}/external-keys`) },
    { name: 'roles', permission: 'keys.view', call: (api) => api('GET', `/v1/accounts/${A}/roles`) },
    { name: 'create key', permission: 'keys.edit', call: (api) => api('POST', `/v1/accounts/${A}/keys`, { name: 'm', environment: 'sandbox', kind: 'custom', credentialType: 'client_secret', scopes: ['cart.read'] }) },
    { name: 'update key', permission: 'keys.edit', call: async (api) => api('PATCH', `/v1/accounts/${A}/keys/${(await createKey(kp.api, A)).key.id}`, { active: false }) },
    { name: 'delete key', permission: 'keys.edit', call: async (api) => api('DELETE', `/v1/accounts/${A}/keys/${(await createKey(kp.api, A)).key.id}`) },
    { name: 'batch delete', permission: 'keys.edit', call: async (api) => api('POST', `/v1/accounts/${A}/keys/batch-delete`, { ids: [(await createKey(kp.api, A)).key.id], confirm: true }) },
    { name: 'grant', permission: 'keys.edit', call: async (api) => api('POST', `/v1/accounts/${A}/grants`, { key: (await createKey(kp.api, B)).key.id, roles: [{ definition: 'pricing', level: 'viewer' }] }) },
    { name: 'reset secret', permission: 'keys.renew', call: async (api) => api('POST', `/v1/accounts/${A}/keys/${(await createKey(kp.api, A)).key.id}/reset-secret`, { confirm: true }) },
    { name: 'regenerate', permission: 'keys.renew', call: async (api) => api('POST', `/v1/accounts/${A}/keys/${(await createKey(kp.api, A)).key.id}/regenerate`, { confirm: true }) },
    { name: 'reveal', permission: 'keys.reveal', call: async (api) => api('POST', `/v1/accounts/${A}/keys/${(await createKey(kp.api, A)).key.id}/reveal`) },
    { name: 'settings', permission: 'settings.edit', call: (api) => api('PATCH', `/v1/accounts/${A}/settings`, { accessTokenTtl: 1200 }) },
    { name: 'members', permission: 'operators.manage', call: (api) => api('GET', `/v1/accounts/${A}/members`) },
    { name: 'add member', permission: 'operators.manage', call: (api) => api('POST', `/v1/accounts/${A}/members`, { email: `m${Math.random()}@a.example`, role: 'viewer', password: PASSWORD }) },
    { name: 'create role', permission: 'operators.manage', call: (api) => api('POST', `/v1/accounts/${A}/roles`, { name: `r${Math.random()}`, permissions: ['keys.view'] }) },
    { name: 'service token', permission: 'operators.manage', call: (api) => api('POST', `/v1/accounts/${A}/service-tokens`, { name: 'gw' }) },
    { name: 'verify a key', permission: 'keys.verify', call: async (api) => api('POST', '/v1/verify', { key: (await createKey(kp.api, A, { credentialType: 'token', active: true })).secret }) },
  ];
  const held: Record<string, string[]> = {
    owner: ['keys.verify', 'keys.view', 'keys.edit', 'keys.renew', 'keys.reveal', 'settings.edit', 'operators.manage'],
    editor: ['keys.view', 'keys.edit', 'keys.renew'],
    viewer: ['keys.view'],
    custom: ['keys.view', 'settings.edit'],
    service: ['keys.verify'],
  };

  for (const role of Object.keys(held)) {
    test(`the ${role} role may do exactly what its permissions allow`, async () => {
      for (const endpoint of endpoints) {
        const res = await endpoint.call(as[role]!);
        const label = `${role} ${endpoint.name}: ${res.status} ${JSON.stringify(res.body)}`;
        if (held[role]!.includes(endpoint.permission)) assert.ok(res.status >= 200 && res.status < 300, label);
        else {
          assert.equal(res.status, 403, label);
          assert.match(res.body.detail, new RegExp(`'${endpoint.permission.replace('.', '\\.')}'`), label);
        }
      }
    });
  }

  test("an operator of one account can reach nothing of another, whatever id it uses", async () => {
    const owner = as.owner!;
    const bGrantOwnerSide = await as.ownerOfB!('POST', `/v1/accounts/${B}/grants`, { key: (await createKey(kp.api, A)).key.id, roles: [{ definition: 'user', level: 'viewer' }] });
    assert.equal(bGrantOwnerSide.status, 201);
    const bMembers = await kp.api('GET', `/v1/accounts/${B}/members`);
    const bOperator = bMembers.body.items[0].operatorId;
    const probes: [string, string, unknown?][] = [
      ['GET', `/v1/accounts/${B}`],
      ['GET', `/v1/accounts/${B}/keys`],
      ['GET', `/v1/accounts/${B}/keys/${bKey.key.id}`],
      ['PATCH', `/v1/accounts/${B}/settings`, { accessTokenTtl: 600 }],
      ['GET', `/v1/accounts/${B}/audit`],
      ['GET', `/v1/accounts/${B}/members`],
      ['GET', `/v1/accounts/${B}/external-keys`],
      ['POST', `/v1/accounts/${B}/keys`, { name: 'x', environment: 'sandbox', kind: 'admin', credentialType: 'client_secret' }],
      // B's ids through A's paths
      ['GET', `/v1/accounts/${A}/keys/${bKey.key.id}`],
      ['PATCH', `/v1/accounts/${A}/keys/${bKey.key.id}`, { active: false }],
      ['DELETE', `/v1/accounts/${A}/keys/${bKey.key.id}`],
      ['POST', `/v1/accounts/${A}/keys/${bKey.key.id}/reset-secret`, { confirm: true }],
      ['POST', `/v1/accounts/${A}/keys/${bKey.key.id}/regenerate`, { confirm: true }],
      ['POST', `/v1/accounts/${A}/keys/${bKey.key.id}/verify-secret`, { secret: bKey.secret }],
      ['POST', `/v1/accounts/${A}/keys/${bKey.key.id}/reveal`],
      ['GET', `/v1/accounts/${A}/keys/${bKey.key.id}/quickstart`],
      ['POST', `/v1/accounts/${A}/keys/batch-delete`, { ids: [bKey.key.id], confirm: true }],
      ['PATCH', `/v1/accounts/${A}/grants/${bGrantOwnerSide.body.grantId}`, { active: false }],
      ['DELETE', `/v1/accounts/${A}/grants/${bGrantOwnerSide.body.grantId}`],
      ['PATCH', `/v1/accounts/${A}/members/${bOperator}`, { role: 'viewer' }],
      ['DELETE', `/v1/accounts/${A}/members/${bOperator}`],
    ];
    for (const [method, path, body] of probes) {
      const res = await owner(method, path, body);
      assert.equal(res.status, 404, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    // Listings and filters never show B's keys.
    const listed = await owner('GET', `/v1/accounts/${A}/keys?limit=200&q=B%20key`);
    assert.deepEqual(listed.body.items, []);
    assert.deepEqual((await owner('GET', '/v1/accounts')).body.items.map((a: any) => a.id), [A]);
    assert.deepEqual((await owner('GET', '/v1/me')).body.accounts.map((a: any) => a.id), [A]);
    // Verification of B's credentials needs keys.verify on B.
    const bToken = await createKey(kp.api, B, { credentialType: 'token', active: true });
    assert.equal((await owner('POST', '/v1/verify', { key: bToken.secret })).status, 403);
    // Nothing of B changed.
    const still = await kp.api('GET', `/v1/accounts/${B}/keys/${bKey.key.id}`);
    assert.equal(still.body.active, true);
    assert.equal((await kp.api('POST', `/v1/accounts/${B}/keys/${bKey.key.id}/verify-secret`, { secret: bKey.secret })).body.matches, true);
    assert.equal((await kp.api('GET', `/v1/accounts/${B}`)).body.settings.accessTokenTtl, 3600);
  });

  test('a platform-wide service token verifies keys of every account and reads nothing', async () => {
    const res = await kp.api('POST', '/v1/service-tokens', { name: 'edge gateway' });
    assert.equal(res.status, 201);
    const gateway = apiClient(kp.url, res.body.token);
    const bToken = await createKey(kp.api, B, { credentialType: 'token', active: true });
    const verified = await gateway('POST', '/v1/verify', { key: bToken.secret });
    assert.equal(verified.status, 200);
    assert.equal(verified.body.valid, true);
    assert.equal(verified.body.account, B);
    assert.equal((await gateway('GET', `/v1/accounts/${B}/keys`)).status, 403);
    assert.equal((await gateway('POST', '/v1/accounts', { name: 'nope' })).status, 403);
  });
});
