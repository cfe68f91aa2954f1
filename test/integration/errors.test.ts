import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createAccount, createKey, describeEachStore, startTestKeyport } from '../helpers/keyport.js';

describeEachStore('bad input', (kp, store) => {
  let account: string;
  before(async () => {
    account = await createAccount(kp.api);
  });

  const keys = () => `/v1/accounts/${account}/keys`;
  const good = { name: 'ok', environment: 'sandbox', kind: 'custom', credentialType: 'client_secret', scopes: ['cart.read'] };

  test('every bad body gets a specific problem, and nothing is created', async () => {
    const cases: [string, unknown, number, string, string?][] = [
      ['malformed JSON', '{"name": "x",', 400, 'malformed_json'],
      ['empty body', '', 400, 'malformed_json'],
      ['wrong type', { ...good, active: 'yes' }, 400, 'validation_failed', '/active'],
      ['number as name', { ...good, name: 42 }, 400, 'validation_failed', '/name'],
      ['blank name', { ...good, name: '   ' }, 400, 'validation_failed', '/name'],
      ['unknown field', { ...good, colour: 'red' }, 400, 'validation_failed', '/colour'],
      ['missing field', { name: 'x', kind: 'custom', credentialType: 'token' }, 400, 'validation_failed', '/environment'],
      ['unknown environment', { ...good, environment: 'staging' }, 400, 'validation_failed', '/environment'],
      ['invalid date', { ...good, expiresAt: 'next tuesday' }, 400, 'validation_failed', '/expiresAt'],
      ['date in the past', { ...good, expiresAt: '2001-01-01T00:00:00Z' }, 400, 'validation_failed', '/expiresAt'],
      ['unknown scope', { ...good, scopes: ['cart.read', 'cart.destroy'] }, 400, 'unknown_scope', '/scopes/1'],
      ['unknown role', { ...good, roles: [{ definition: 'wizard', level: 'owner' }] }, 400, 'unknown_role', '/roles/0/definition'],
      ['bad level', { ...good, roles: [{ definition: 'pricing', level: 'god' }] }, 400, 'validation_failed', '/roles/0/level'],
      ['scopes on an admin key', { ...good, kind: 'admin' }, 400, 'invalid_kind_scopes', '/scopes'],
      ['custom key with nothing', { ...good, scopes: [] }, 400, 'validation_failed', '/scopes'],
    ];
    for (const [label, body, status, code, pointer] of cases) {
      const res = await kp.api('POST', keys(), body);
      assert.equal(res.status, status, `${label}: ${JSON.stringify(res.body)}`);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8', label);
      assert.equal(res.body.code, code, label);
      assert.equal(res.body.type, `urn:keyport:problem:${code}`, label);
      assert.equal(res.body.status, status, label);
      if (pointer) assert.ok(res.body.errors.some((e: any) => e.pointer === pointer), `${label}: ${JSON.stringify(res.body.errors)}`);
    }
    const oversized = await kp.api('POST', keys(), { ...good, name: 'x'.repeat(70_000) });
    assert.deepEqual([oversized.status, oversized.body.code], [413, 'payload_too_large']);
    const form = await kp.api('POST', keys(), 'name=x', { 'content-type': 'text/plain' });
    assert.deepEqual([form.status, form.body.code], [415, 'unsupported_media_type']);
    assert.deepEqual((await kp.api('GET', keys())).body.items, [], 'nothing was created');
  });

  test('bad query strings, unknown ids and missing credentials', async () => {
    const { key } = await createKey(kp.api, account);
    const cases: [string, number, string][] = [
      [`${keys()}?sort=colour`, 400, 'validation_failed'],
      [`${keys()}?limit=0`, 400, 'validation_failed'],
      [`${keys()}?limit=1000`, 400, 'validation_failed'],
      [`${keys()}?active=maybe`, 400, 'validation_failed'],
      [`${keys()}?createdFrom=yesterday`, 400, 'validation_failed'],
      [`${keys()}?createdFrom=2026-02-01&createdTo=2026-01-01`, 400, 'validation_failed'],
      [`${keys()}?cursor=not-a-cursor`, 400, 'invalid_cursor'],
      [`${keys()}?unknown=1`, 400, 'validation_failed'],
      [`${keys()}/key_nope`, 404, 'not_found'],
      ['/v1/accounts/acct_nope/keys', 404, 'not_found'],
      ['/v1/nothing-here', 404, 'not_found'],
    ];
    for (const [path, status, code] of cases) {
      const res = await kp.api('GET', path);
      assert.deepEqual([res.status, res.body.code], [status, code], `${path}: ${JSON.stringify(res.body)}`);
    }
    const page = await kp.api('GET', `${keys()}?sort=name&limit=1`);
    const otherSort = await kp.api('GET', `${keys()}?sort=-name&cursor=${page.body.nextCursor ?? 'eyJzIjoibmFtZSIsInYiOiJ4IiwiaSI6IngifQ'}`);
    assert.equal(otherSort.body.code, 'invalid_cursor');
    const anonymous = await kp.as(null)('GET', keys());
    assert.deepEqual([anonymous.status, anonymous.body.code], [401, 'unauthenticated']);
    const wrongToken = await kp.as('not-a-real-token-at-all')('GET', keys());
    assert.deepEqual([wrongToken.status, wrongToken.body.code], [401, 'unauthenticated']);
    const noConfirm = await kp.api('POST', `${keys()}/${key.id}/reset-secret`, {});
    assert.deepEqual([noConfirm.status, noConfirm.body.errors[0].pointer], [400, '/confirm']);
    assert.equal((await kp.api('POST', `${keys()}/${key.id}/verify-secret`, { secret: key.clientId })).body.matches, false);
  });

  test('errors never leak internals: an unexpected failure is a generic 500', async () => {
    // A store that went away is the one unexpected failure we can cause from outside.
    const other = await startTestKeyport(store);
    const acct = await createAccount(other.api);
    await other.services.store.storage.close();
    const res = await other.api('GET', `/v1/accounts/${acct}/keys`);
    assert.equal(res.status, 500);
    assert.deepEqual(
      { ...res.body, instance: undefined },
      { type: 'urn:keyport:problem:internal_error', code: 'internal_error', title: 'Internal server error', status: 500, detail: 'Something went wrong on our side. It has been logged; try again later.', instance: undefined },
    );
    assert.equal((await other.api('GET', '/readyz')).status, 503);
    await other.app.close();
    await other.stop().catch(() => {});
  });
});
