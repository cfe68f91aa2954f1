import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildCatalog } from '../../src/domain/catalog.js';
import { DEFAULT_CATALOG } from '../../src/domain/default-catalog.js';
import { AppError } from '../../src/domain/errors.js';
import { checkCustomAccess, checkRoleDefinitions, checkRoles, checkScopes, newKeyRecord, parseExpiry, sameRoles, secretMatches } from '../../src/domain/key-rules.js';

const catalog = buildCatalog(DEFAULT_CATALOG);
const refused = (code: string, errors: { pointer: string; detail: string }[]) => (err: unknown) =>
  err instanceof AppError && err.code === code && JSON.stringify(err.errors) === JSON.stringify(errors);

describe('key rules', () => {
  test('custom keys pick scopes of the catalog, each once; admin and storefront keys pick none', () => {
    assert.deepEqual(checkScopes(catalog, 'custom', ['order.read', 'product.read', 'order.read']), ['order.read', 'product.read']);
    assert.deepEqual(checkScopes(catalog, 'custom', undefined), []);
    assert.deepEqual(checkScopes(catalog, 'admin', []), []);
    assert.throws(() => checkScopes(catalog, 'custom', ['product.read', 'nope', 'order.read', 'also.nope']), refused('unknown_scope', [
      { pointer: '/scopes/1', detail: "unknown scope 'nope'" },
      { pointer: '/scopes/3', detail: "unknown scope 'also.nope'" },
    ]));
    assert.throws(() => checkScopes(catalog, 'storefront', ['product.read']), refused('invalid_kind_scopes', [{ pointer: '/scopes', detail: 'cannot be set on a storefront key' }]));
  });

  test('roles: custom keys only, definitions of the catalog, the highest level per definition', () => {
    assert.deepEqual(
      checkRoles(catalog, 'custom', [
        { definition: 'pricing', level: 'viewer' },
        { definition: 'pricing', level: 'owner' },
        { definition: 'logistics', level: 'editor' },
        { definition: 'pricing', level: 'editor' },
      ]),
      [{ definition: 'pricing', level: 'owner' }, { definition: 'logistics', level: 'editor' }],
    );
    assert.deepEqual(checkRoles(catalog, 'admin', []), []);
    assert.throws(() => checkRoles(catalog, 'admin', [{ definition: 'pricing', level: 'viewer' }]), refused('invalid_kind_scopes', [{ pointer: '/roles', detail: 'cannot be set on a admin key' }]));
    assert.throws(() => checkRoleDefinitions(catalog, [{ definition: 'pricing', level: 'viewer' }, { definition: 'x', level: 'owner' }]), refused('unknown_role', [
      { pointer: '/roles/1/definition', detail: "unknown role definition 'x'" },
    ]));
  });

  test('a custom key needs a scope or a role; roles compare as sets', () => {
    assert.throws(() => checkCustomAccess({ kind: 'custom', scopes: [], roles: [] }), refused('validation_failed', [{ pointer: '/scopes', detail: 'A custom key needs at least one scope or role.' }]));
    checkCustomAccess({ kind: 'admin', scopes: [], roles: [] });
    checkCustomAccess({ kind: 'custom', scopes: [], roles: [{ definition: 'user', level: 'viewer' }] });
    const a = { definition: 'user', level: 'viewer' } as const;
    const b = { definition: 'pricing', level: 'owner' } as const;
    assert.equal(sameRoles([a, b], [b, a]), true);
    assert.equal(sameRoles([a], [a, b]), false);
  });

  test('expiry: ISO 8601 in the future, or null for none', () => {
    const now = Date.UTC(2026, 0, 1);
    assert.equal(parseExpiry('2026-01-02T00:00:00Z', now), Date.UTC(2026, 0, 2));
    assert.equal(parseExpiry(null, now), null);
    assert.throws(() => parseExpiry('2025-12-31T23:59:59Z', now), refused('validation_failed', [{ pointer: '/expiresAt', detail: 'must be in the future' }]));
    assert.throws(() => parseExpiry('tomorrow', now), (err: unknown) => err instanceof AppError && err.errors?.[0]?.pointer === '/expiresAt');
  });

  test('a new key keeps only the hash of its secret; the previous secret matches only during its grace period', () => {
    const now = Date.UTC(2026, 0, 1);
    const base = { accountId: 'acct_1', name: 'k', environment: 'sandbox', kind: 'custom', scopes: ['product.read'], roles: [], channel: null, active: true, expiresAt: null, createdBy: 'tok_1', now } as const;
    const { record, secret } = newKeyRecord({ ...base, scopes: [...base.scopes], roles: [], credentialType: 'client_secret', withSecret: true });
    assert.match(secret!, /^kpsk_test_/);
    assert.match(record.clientId!, /^kpid_test_/);
    assert.equal(JSON.stringify(record).includes(secret!), false, 'the secret itself is not in the record');
    assert.equal(secretMatches(record, secret!, now), true);
    assert.equal(secretMatches(record, secret! + 'x', now), false);
    const rotated = { ...record, secretHash: null, previousSecretHash: record.secretHash, previousSecretExpiresAt: now + 1000 };
    assert.equal(secretMatches(rotated, secret!, now + 999), true);
    assert.equal(secretMatches(rotated, secret!, now + 1000), false);
    const unsecured = newKeyRecord({ ...base, scopes: [...base.scopes], roles: [], credentialType: 'token', withSecret: false });
    assert.deepEqual([unsecured.secret, unsecured.record.secretHash, unsecured.record.clientId], [null, null, null]);
  });
});
